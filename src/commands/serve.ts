import * as Flags from '@oclif/core/flags'

import {ServingCommand} from '../cli/serving-command.js'
import {isLoopbackHost} from '../core/uris.js'
import {color} from '../cli/output.js'
import {parseClaims} from '../cli/tokens.js'
import {PROTOCOL_FAULT_NAMES} from '../control/faults.js'
import {checkLoginClaims} from '../core/login-claims.js'
import {UsageError} from '../errors.js'
import {generateKeys, keysExist} from '../core/keys.js'
import {registerResource} from '../core/resources.js'

export default class Serve extends ServingCommand<typeof Serve> {
  static override description = 'Run the OAuth 2 / OpenID Connect authorization server.'

  static override examples = [
    '<%= config.bin %> serve',
    '<%= config.bin %> serve --port 0 --json',
    '<%= config.bin %> serve --port 0 --login-as alice --auto-approve',
    '<%= config.bin %> serve --port 0 --login-as alice --login-claim role=admin --login-claim \'groups=["dev","ops"]\'',
    '<%= config.bin %> serve --prefix /api/oauth --except scopes --except introspect',
    '<%= config.bin %> serve --port 0 --login-as alice --auto-approve --fault wrong-iss',
    '<%= config.bin %> serve --port 0 --json --control',
    '<%= config.bin %> serve --resource http://localhost:3000/mcp --login-as alice --auto-approve',
  ]

  static override flags = {
    host: Flags.string({description: 'Interface to listen on.', default: '127.0.0.1', env: 'PASSPORT_HOST'}),
    port: Flags.integer({
      description: 'Port to listen on (0 picks a free one).',
      default: 9000,
      min: 0,
      max: 65535,
      env: 'PASSPORT_PORT',
    }),
    issuer: Flags.string({
      description: "Issuer URL (default: the config file's, else http://HOST:PORT).",
      env: 'PASSPORT_ISSUER',
    }),
    prefix: Flags.string({description: 'Path prefix of the OAuth routes.', default: '/oauth'}),
    except: Flags.string({
      description: 'Route group not to serve (repeatable).',
      multiple: true,
      options: ['authorize', 'token', 'revoke', 'introspect', 'scopes', 'device', 'userinfo', 'par'],
    }),
    'login-as': Flags.string({
      description: 'Sign every authorization request in as this subject (a login_hint overrides it).',
    }),
    'login-claim': Flags.string({
      description:
        'A claim added to every --login-as sign-in, name=value (a JSON value or a string; repeatable): it reaches the id token and userinfo.',
      multiple: true,
      dependsOn: ['login-as'],
    }),
    'auto-approve': Flags.boolean({
      description: 'Skip the consent page (and the sign-out confirmation) for every client.',
    }),
    quiet: Flags.boolean({description: 'No access log on stderr.'}),
    'dpop-nonce': Flags.boolean({
      description:
        'Demand a server nonce in DPoP proofs at the token endpoint (RFC 9449 §8): a proof without the current one gets use_dpop_nonce and a DPoP-Nonce header.',
    }),
    'require-par': Flags.boolean({
      description:
        'Accept only pushed authorization requests (RFC 9126): /authorize then needs a request_uri from {prefix}/par.',
    }),
    control: Flags.boolean({
      description:
        'Serve the test-control API under /_passport/ (clock, faults, users, request log); loopback hosts only, each call with the control_token of the start line (see docs/testing.md).',
    }),
    fault: Flags.string({
      description:
        "Arm a named protocol fault until stopped, for testing a client's checks (repeatable; see docs/testing.md).",
      multiple: true,
      options: PROTOCOL_FAULT_NAMES,
    }),
    resource: Flags.string({
      description:
        'Register an RFC 8707 resource URL (repeatable), e.g. http://localhost:3000/mcp; tokens asked for it carry it as aud.',
      multiple: true,
    }),
    'no-registration': Flags.boolean({
      description:
        'Turn off RFC 7591 dynamic client registration at PREFIX/register (on by default, unless the config says "registration": false).',
    }),
  }

  async run(): Promise<{issuer: string; port: number; url: string}> {
    if (this.flags.control) (await import('../control/index.js')).assertControlHost(this.flags.host)
    const loginClaimPairs = parseClaims(this.flags['login-claim'], '--login-claim')
    const loginClaims = loginClaimPairs === undefined ? undefined : checkLoginClaims(loginClaimPairs, '--login-claim')
    const {serve} = await import('../server/index.js')
    const prefix = normalizePrefix(this.flags.prefix)
    const [{checkIssuer}, {subjectProblem}] = await Promise.all([
      import('../cli/tokens.js'),
      import('../core/subjects.js'),
    ])
    checkIssuer(this.flags.issuer)
    const loginAs = this.flags['login-as']
    const loginProblem = loginAs === undefined ? undefined : subjectProblem(loginAs)
    if (loginProblem)
      throw new UsageError(`--login-as ${JSON.stringify(loginAs)} is not a usable subject: ${loginProblem}`)
    const location = this.keyLocation()
    if (!location.privateKeyPem && !location.publicKeyPem && !keysExist(location.directory)) {
      const created = await generateKeys(location.directory)
      this.note(`No signing keys found: created ${created.privateKeyPath} (kid ${created.kid}).`)
    }
    const authority = this.authority()
    for (const resource of this.flags.resource ?? []) {
      try {
        registerResource(authority.config.resources, resource)
      } catch (error) {
        authority.close()
        throw new UsageError(`--resource: ${(error as Error).message}`)
      }
    }
    if (this.flags['no-registration'])
      authority.config.registration = {...authority.config.registration, enabled: false}
    const keys = await authority.signingKeys()
    if (keys.permissionWarning) this.warning(keys.permissionWarning)
    const quiet = this.flags.quiet
    const control =
      this.flags.fault === undefined && !this.flags.control
        ? undefined
        : new (await import('../control/index.js')).Control(authority)
    const controlToken = this.flags.control ? control!.enableApi(this.flags.host) : undefined
    for (const name of this.flags.fault ?? []) control!.faults.add(control!.faults.check(name, {persistent: true}))
    const running = await serve(
      authority,
      {
        host: this.flags.host,
        port: this.flags.port,
        prefix,
        except: (this.flags.except ?? []) as never[],
        autoApprove: this.flags['auto-approve'],
        ...(this.flags['require-par'] ? {requirePar: true} : {}),
        ...(this.flags['dpop-nonce'] ? {dpopNonce: true} : {}),
        ...(this.flags['login-as'] === undefined ? {} : {loginAs: this.flags['login-as']}),
        ...(loginClaims === undefined ? {} : {loginClaims}),
        ...(quiet ? {} : {log: (line: string) => process.stderr.write(`${line}\n`)}),
        ...(control === undefined ? {} : {control}),
      },
      this.flags.issuer,
    )
    const summary = {
      issuer: running.issuer,
      port: running.port,
      url: running.url,
      ...(controlToken === undefined ? {} : {control_token: controlToken}),
    }
    if (!isLoopbackHost(this.flags.host)) {
      // Issue 18 finding 2: say what leaves this machine.
      const who =
        this.flags['login-as'] === undefined
          ? 'anyone can sign in as any subject on its sign-in page'
          : `every authorization request is signed in as ${this.flags['login-as']} without a page`
      this.warning(
        `Listening on ${this.flags.host}: every machine that can reach this one can use this server: ${who}${this.flags['auto-approve'] ? ' and approved without consent' : ''}; ` +
          `the authorization, token, device, revocation, introspection and userinfo endpoints, the dashboard (clients and recent tokens) and discovery answer them too. ` +
          `The dashboard's demo client works only from this machine. Use --host 127.0.0.1 to keep passport local.`,
      )
    }
    if (!this.announceJson(summary)) {
      this.log(`${color.bold('passport')} is serving ${color.cyan(running.issuer)}`)
      this.log(`  Discovery:  ${running.issuer}/.well-known/openid-configuration`)
      this.log(`  JWKS:       ${running.issuer}/.well-known/jwks.json`)
      this.log(`  Authorize:  ${running.issuer}${prefix}/authorize`)
      this.log(`  Token:      ${running.issuer}${prefix}/token`)
      const mode = [
        ...(this.flags['login-as'] === undefined
          ? []
          : [
              `--login-as ${this.flags['login-as']} (every authorization request is signed in as ${this.flags['login-as']}; a login_hint overrides it)`,
            ]),
        ...(this.flags['auto-approve'] ? ['--auto-approve (no consent page for any client)'] : []),
      ]
      this.log(
        `  Sign-in:    ${mode.length ? mode.join('; ') : 'sign-in and consent pages (no --login-as, no --auto-approve)'}`,
      )
      if (controlToken !== undefined)
        this.log(`  Control:    ${running.url}/_passport/ (Authorization: Bearer ${controlToken})`)
      const clients = authority.store.clients.list().filter((c) => c.source !== 'internal')
      this.log(
        clients.length
          ? `  Clients:    ${clients.map((c) => `${c.id} (${c.name})`).join(', ')}`
          : '  Clients:    none yet — create one with "passport client"',
      )
      this.log('Press Ctrl+C to stop.')
    }
    await this.untilSignalled(running)
    return summary
  }
}

function normalizePrefix(prefix: string): string {
  const trimmed = prefix.replace(/\/+$/, '')
  if (trimmed === '') return ''
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`
}
