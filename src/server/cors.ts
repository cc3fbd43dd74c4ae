import type {ServerResponse} from 'node:http'

import type {Route} from './context.js'

/**
 * CORS (SPEC §10.5): the endpoints a browser-based client (MCP Inspector, a single-page app) calls
 * with fetch answer any origin, never with credentials (`*` forbids them), errors included, and
 * expose the headers such a client must read. `/authorize` and the HTML pages send no CORS
 * headers: they are navigated to, never fetched.
 */

/** Route paths (before the prefix) that answer cross-origin requests; a route may also set `cors: true`. */
export const CORS_ROUTE_PATHS: ReadonlySet<string> = new Set([
  '/.well-known/oauth-authorization-server',
  '/.well-known/openid-configuration',
  '/.well-known/jwks.json',
  '/token',
  '/register',
  '/revoke',
  '/introspect',
  '/userinfo',
  '/device/code',
  '/par',
])

/** Request headers a preflight allows. */
export const CORS_ALLOWED_HEADERS = 'Authorization, Content-Type, DPoP, MCP-Protocol-Version'
/** Response headers a cross-origin caller may read. */
export const CORS_EXPOSED_HEADERS = 'WWW-Authenticate, DPoP-Nonce'

/** Does this route answer cross-origin requests? */
export function isCorsRoute(route: Pick<Route, 'path'> & {cors?: boolean}): boolean {
  return route.cors ?? CORS_ROUTE_PATHS.has(route.path)
}

/** Headers of every actual response (success or error) of a CORS route; set before the handler writes. */
export function applyCorsHeaders(res: ServerResponse): void {
  res.setHeader('Access-Control-Allow-Origin', '*')
  res.setHeader('Access-Control-Expose-Headers', CORS_EXPOSED_HEADERS)
}

/** A preflight (`OPTIONS`): 204 with the methods of the path and the allowed request headers. */
export function sendPreflight(res: ServerResponse, methods: readonly string[]): void {
  res.writeHead(204, {
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Allow-Methods': [...methods, 'OPTIONS'].join(', '),
    'Access-Control-Allow-Headers': CORS_ALLOWED_HEADERS,
    'Access-Control-Max-Age': '600',
    'Content-Length': 0,
  })
  res.end()
}
