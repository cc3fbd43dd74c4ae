import {generateKeyPair} from 'node:crypto'
import {promisify} from 'node:util'

import type {ProtocolFaultName} from './control/faults.js'
import {type AuthorityHandle, createHandle} from './control/handle.js'
import {Control} from './control/index.js'
import {Authority} from './core/authority.js'
import {defaultConfig, loadConfig, type PassportConfig, parseConfig} from './core/config.js'
import {keyLocation, type KeyLocation} from './core/keys.js'
import {checkLoginClaims} from './core/login-claims.js'
import {registerResource} from './core/resources.js'
import type {RouteGroup} from './server/context.js'
import {serve} from './server/index.js'

/**
 * The library's server API: `startServer` opens an authority (configuration, database, keys) and
 * serves it with the same listener as `passport serve` (src/server/index.ts).
 */

const generateRsaKeyPair = promisify(generateKeyPair)

export interface StartServerOptions {
  /** Database file; default an in-memory database. */
  database?: string
  /** A configuration object (as in passport.config.json) or a path to such a file. */
  config?: Partial<Record<keyof PassportConfig, unknown>> | string
  /** Key directory; default: a fresh key pair held in memory. */
  keyPath?: string
  port?: number
  host?: string
  prefix?: string
  except?: RouteGroup[]
  issuer?: string
  loginAs?: string
  /** Claims added to every `loginAs` sign-in (as `serve --login-claim`); they reach the id token and userinfo. */
  loginClaims?: Record<string, unknown>
  autoApprove?: boolean
  /** Accept only pushed authorization requests (`serve --require-par`). */
  requirePar?: boolean
  /** Demand a server nonce in DPoP proofs at the token endpoint (`serve --dpop-nonce`, RFC 9449 §8). */
  dpopNonce?: boolean
  /** Receives the access log; silent by default. */
  log?: (line: string) => void
  /** Named protocol faults armed from the start, until cleared (as `serve --fault NAME`). */
  faults?: ProtocolFaultName[]
  /** Serve the HTTP control API under /_passport/ (as `serve --control`; loopback hosts only); its token is `handle.control.token`. */
  control?: boolean
  /** RFC 8707 resources to register, as `serve --resource` (in addition to the config's). */
  resources?: string[]
  /** Dynamic client registration at `{prefix}/register`; default the config's (on). */
  registration?: boolean
}

/**
 * The same server as `passport serve`, in-process: for a test runner's global set-up.
 * `await close()` when done.
 */
export async function startServer(options: StartServerOptions = {}): Promise<AuthorityHandle> {
  const config =
    typeof options.config === 'string'
      ? loadConfig(options.config)
      : options.config
        ? parseConfig(options.config)
        : defaultConfig()
  let keys: KeyLocation
  if (options.keyPath) {
    keys = keyLocation(options.keyPath, {})
  } else {
    // On the thread pool: an async function must not block the event loop for the RSA work.
    const pair = await generateRsaKeyPair('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: {type: 'spki', format: 'pem'},
      privateKeyEncoding: {type: 'pkcs8', format: 'pem'},
    })
    keys = {directory: '', privateKeyPem: pair.privateKey, publicKeyPem: pair.publicKey}
  }
  for (const resource of options.resources ?? []) registerResource(config.resources, resource)
  if (options.registration !== undefined) config.registration = {...config.registration, enabled: options.registration}
  const authority = Authority.open({config, database: options.database ?? config.database ?? ':memory:', keys})
  for (const id of authority.removedConfigClients)
    options.log?.(`Removed client "${id}" and its tokens: it is no longer in ${config.file ?? 'the configuration'}.`)
  try {
    const control = new Control(authority)
    for (const name of options.faults ?? []) control.faults.add(control.faults.check(name, {persistent: true}))
    if (options.control) control.enableApi(options.host ?? '127.0.0.1')
    const prefix = options.prefix ?? '/oauth'
    const running = await serve(
      authority,
      {
        host: options.host ?? '127.0.0.1',
        port: options.port ?? 0,
        prefix,
        except: options.except ?? [],
        autoApprove: options.autoApprove ?? false,
        ...(options.requirePar ? {requirePar: true} : {}),
        ...(options.dpopNonce ? {dpopNonce: true} : {}),
        ...(options.loginAs === undefined ? {} : {loginAs: options.loginAs}),
        ...(options.loginClaims === undefined
          ? {}
          : {loginClaims: checkLoginClaims(options.loginClaims, 'loginClaims')}),
        ...(options.log === undefined ? {} : {log: options.log}),
        control,
      },
      options.issuer,
    )
    return createHandle(authority, control, running, prefix)
  } catch (error) {
    authority.close()
    throw error
  }
}
