import type {Authority} from '../core/authority.js'
import type {Clock} from '../core/clock.js'
import {mintToken, type MintTokenOptions} from '../core/mint.js'
import type {TokenResponse} from '../core/tokens.js'
import type {Fault, FaultSpec, ProtocolFaultName} from './faults.js'
import type {Control} from './index.js'
import type {LoggedRequest} from './request-log.js'
import {checkUser, type UserInput} from './users.js'

/** The URLs of the authority's endpoints, from its issuer (as its discovery document gives them). */
export interface AuthorityEndpoints {
  discovery: string
  authorizationServerMetadata: string
  jwks: string
  authorization: string
  token: string
  introspection: string
  revocation: string
  userinfo: string
  deviceAuthorization: string
  endSession: string
}

/** What `startServer()` returns: the running authority, steerable from the test. */
export interface AuthorityHandle {
  /** The issuer: the configured one, or http://HOST:PORT of the listening socket. */
  readonly issuer: string
  readonly port: number
  /** An absolute URL on the listening socket: `url("/oauth/token")`; `url()` is the base URL. */
  url(path?: string): string
  readonly endpoints: AuthorityEndpoints
  /** Mints an access token as `passport token` does (recorded, so introspection sees it). */
  mint(options?: MintTokenOptions): Promise<TokenResponse>
  /** Users at run time: the config file's `users`, changed while serving. */
  readonly users: {
    set(sub: string, user?: UserInput): void
    delete(sub: string): boolean
  }
  /** The one clock every expiry reads: `clock.advance("16d")`, `clock.set("2027-01-01T00:00:00Z")`. */
  readonly clock: Clock
  readonly faults: {
    /**
     * `inject("token", {status: 503, error: "temporarily_unavailable", times: 2})`,
     * `inject("token", {delayMs: 2000})`, `inject("token", {drop: true, persistent: true})`, or a
     * named protocol fault: `inject("wrong-iss")`, `inject("id-token-expired", {times: 2})`.
     */
    inject(target: string, spec?: FaultSpec & {fault?: ProtocolFaultName}): Fault
    /** The armed faults. */
    list(): Fault[]
    clear(): void
  }
  readonly keys: {
    /**
     * Reads the signing keys again now. A running server notices changed key files by itself on
     * the first use at least a second after the change; after `rotateKeys()` or `passport
     * keys:rotate` on its key directory, `reload()` makes the very next token and JWKS use them.
     */
    reload(): void
  }
  /** The HTTP control API (`startServer({control: true})`): its base URL and bearer token; undefined when off. */
  readonly control?: {url: string; token: string}
  /** The last 1,000 requests, newest last: method, path, status, client, grant, duration. */
  readonly requests: LoggedRequest[]
  close(): Promise<void>
}

export function createHandle(
  authority: Authority,
  control: Control,
  running: {url: string; port: number; close(): Promise<void>},
  prefix: string,
): AuthorityHandle {
  const issuer = authority.issuer
  const at = (path: string) => `${issuer}${prefix}${path}`
  const endpoints: AuthorityEndpoints = {
    discovery: `${issuer}/.well-known/openid-configuration`,
    authorizationServerMetadata: `${issuer}/.well-known/oauth-authorization-server`,
    jwks: `${issuer}/.well-known/jwks.json`,
    authorization: at('/authorize'),
    token: at('/token'),
    introspection: at('/introspect'),
    revocation: at('/revoke'),
    userinfo: at('/userinfo'),
    deviceAuthorization: at('/device/code'),
    endSession: at('/end_session'),
  }
  return {
    issuer,
    port: running.port,
    // As a string (`${server.url}`), the base URL too.
    url: Object.assign((path = '') => `${running.url}${path === '' || path.startsWith('/') ? path : `/${path}`}`, {
      toString: () => running.url,
    }),
    endpoints,
    mint: async (options = {}) => (await mintToken(authority, options)).response,
    users: {
      set(sub, user = {}) {
        const checked = checkUser(sub, user)
        authority.config.users[checked.sub] = checked.user
      },
      delete(sub) {
        if (!Object.hasOwn(authority.config.users, sub)) return false
        delete authority.config.users[sub]
        return true
      },
    },
    clock: authority.clock,
    keys: {reload: () => authority.reloadKeys()},
    ...(control.apiToken === undefined ? {} : {control: {url: `${running.url}/_passport`, token: control.apiToken}}),
    faults: {
      inject: (target, spec) => control.faults.inject(target, spec),
      list: () => control.faults.list(),
      clear: () => control.faults.clear(),
    },
    get requests() {
      return control.requests.list()
    },
    close: () => running.close(),
  }
}
