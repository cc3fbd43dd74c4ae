import type {IncomingMessage, ServerResponse} from 'node:http'

import type {Control} from '../control/index.js'
import type {Authority} from '../core/authority.js'
import type {UserCodeLockout} from '../core/device/lockout.js'
import type {SessionStore} from './session.js'

export const ROUTE_GROUPS = [
  'authorize',
  'token',
  'revoke',
  'introspect',
  'scopes',
  'device',
  'userinfo',
  'par',
] as const
export type RouteGroup = (typeof ROUTE_GROUPS)[number]

export interface ServerOptions {
  host: string
  port: number
  /** Path prefix of the OAuth routes (the seed's `registerPassportRoutes({prefix})`). */
  prefix: string
  /** Route groups not served (the seed's `except`). */
  except: RouteGroup[]
  /** Sign every authorization request in as this subject (a `login_hint` overrides it). */
  loginAs?: string
  /** Claims added to every sign-in as `loginAs` (`--login-claim k=v`). */
  loginClaims?: Record<string, unknown>
  /** Skip the consent page for every client. */
  autoApprove: boolean
  /** Accept only pushed authorization requests (RFC 9126 `require_pushed_authorization_requests`). */
  requirePar?: boolean
  /** RFC 9449 §8: demand a server nonce in DPoP proofs at the token endpoint (`serve --dpop-nonce`). */
  dpopNonce?: boolean
  /** One line per request and server events; undefined silences the log. */
  log?: (line: string) => void
  /** Test control (faults, request log); undefined when off. */
  control?: Control
}

/** What a route handler gets: the request, the response, and the server's shared state. */
export interface RequestContext {
  req: IncomingMessage
  res: ServerResponse
  url: URL
  authority: Authority
  options: ServerOptions
  sessions: SessionStore
  /** Wrong device user codes, per subject and server-wide (RFC 8628 §5.1). */
  deviceLockout: UserCodeLockout
  /** Absolute URL of a route under the prefix, from the configured issuer (never the Host header). */
  endpoint(path: string): string
}

export type Handler = (ctx: RequestContext) => void | Promise<void>

export interface Route {
  method: 'GET' | 'POST'
  path: string
  /** Under the prefix (OAuth routes) or at the root (discovery, JWKS, health, dashboard). */
  prefixed: boolean
  group?: RouteGroup
  handler: Handler
  /** Answers cross-origin requests (SPEC §10.5); default: whether the path is in server/cors.ts's list. */
  cors?: boolean
}
