import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request as httpRequest,
  type Server,
  type ServerResponse,
} from 'node:http'
import {request as httpsRequest} from 'node:https'
import type {AddressInfo} from 'node:net'

import {InvalidInputError} from '../errors.js'
import type {VerifyAccessTokenOptions} from '../core/verify.js'
import {bearerGuard, protectedResourceMetadataUrl} from './bearer.js'
import {protectedResourceMetadataHandler} from './protected-resource.js'

export interface ProtectOptions {
  /** The service to put behind the guard: its origin, and the path of the resource (e.g. http://127.0.0.1:3001/mcp). */
  upstream: string
  /** How tokens are verified: `{authority}` (keys and revocations of a local authority) or `{issuer, jwks}`. */
  verify: VerifyAccessTokenOptions
  /** The issuer named in the RFC 9728 document (default: the authority's, or `verify.issuer`). */
  issuer?: string
  /** Scopes every request needs (and `scopes_supported` of the metadata). */
  scopes?: string[]
  /** Interface and port to listen on; default 127.0.0.1 and a free port. */
  host?: string
  port?: number
  /** The resource identifier; default the proxy's origin plus the upstream's path. */
  resource?: string
  /** Receives one access-log line per request (path only, never the query). */
  log?: (line: string) => void
  /**
   * With `verify: {authority}`, register the resource in the authority's database while the proxy
   * runs (default true): a `passport serve` on the same database then accepts `resource` = it.
   */
  register?: boolean
}

export interface RunningProxy {
  /** The proxy's origin, e.g. http://127.0.0.1:8080. */
  url: string
  port: number
  /** The resource identifier tokens must carry as `aud`. */
  resource: string
  /** Where the RFC 9728 document is served. */
  resourceMetadataUrl: string
  server: Server
  close(): Promise<void>
}

/** Hop-by-hop headers (RFC 9110 §7.6.1) and those the proxy sets itself: never forwarded as received. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
])

/**
 * `passport protect`: a reverse proxy (node:http) that puts bearer-token protection in front of
 * any local HTTP service, such as an MCP server without authentication. It serves the RFC 9728
 * document at the resource's own origin, answers requests without a valid token with the
 * `requireBearer` challenges (401 with `resource_metadata`, 403 `insufficient_scope`), and forwards
 * the others with `X-Passport-Sub`, `X-Passport-Client-Id` and `X-Passport-Scope` (any such header
 * the client sent is removed, and so is its `Authorization`: the token stays with the proxy).
 * Bodies stream both ways as they arrive, never buffered: SSE responses pass through unbuffered.
 */
export async function protect(options: ProtectOptions): Promise<RunningProxy> {
  const upstream = checkUpstream(options.upstream)
  const scopes = options.scopes ?? []
  const send = upstream.protocol === 'https:' ? httpsRequest : httpRequest
  const log = options.log
  let handle: ((req: IncomingMessage, res: ServerResponse) => void) | undefined

  const server = createServer({requestTimeout: 0, headersTimeout: 15_000, keepAliveTimeout: 5_000}, (req, res) => {
    if (log) {
      const started = performance.now()
      res.on('finish', () =>
        log(
          `${req.method} ${(req.url ?? '').split('?')[0]} ${res.statusCode} ${(performance.now() - started).toFixed(1)}ms`,
        ),
      )
    }
    handle!(req, res)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  const host = options.host ?? '127.0.0.1'
  const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host
  const url = `http://${shownHost}:${port}`
  const resource = options.resource ?? `${url}${upstream.pathname === '/' ? '' : upstream.pathname}`
  const issuer = options.issuer ?? options.verify.authority?.issuer ?? options.verify.issuer
  if (issuer === undefined)
    throw new InvalidInputError('protect needs the issuer of the authority whose tokens it accepts.')

  const registry = options.register !== false ? options.verify.authority?.store : undefined
  try {
    if (registry) {
      const existing = registry.resources.all().find((r) => r.uri === resource)
      if (!existing || existing.source === 'protect') {
        registry.resources.upsert({
          uri: resource,
          name: `${upstream.host}${upstream.pathname === '/' ? '' : upstream.pathname} (passport protect)`,
          scopes: null,
          source: 'protect',
          createdAt: Date.now(),
        })
      }
    }
    const metadata = protectedResourceMetadataHandler({resource, issuer, scopes})
    const guard = bearerGuard({...options.verify, resource, scopes}, 'protect')
    handle = (req, res) => {
      if (metadata(req, res)) return
      // CORS preflights carry no credentials: the upstream answers them.
      if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
        forward(req, res, undefined)
        return
      }
      // Browser-based clients must be able to read the challenge of the proxy's own 401/403.
      res.setHeader('Access-Control-Allow-Origin', '*')
      res.setHeader('Access-Control-Expose-Headers', 'WWW-Authenticate')
      void guard(req, res)
        .then((verified) => {
          if (!verified) return
          res.removeHeader('Access-Control-Allow-Origin')
          res.removeHeader('Access-Control-Expose-Headers')
          forward(req, res, {sub: verified.claims.sub, clientId: verified.clientId, scope: verified.scopes.join(' ')})
        })
        .catch(() => fail(res, 500, 'server_error', 'The token could not be checked.'))
    }
  } catch (error) {
    server.close()
    if (registry) registry.resources.delete(resource, 'protect')
    throw error
  }

  function forward(
    req: IncomingMessage,
    res: ServerResponse,
    identity: {sub: string; clientId: string; scope: string} | undefined,
  ): void {
    const headers = forwardedHeaders(req.headers, upstream, req)
    if (identity) {
      headers['x-passport-sub'] = identity.sub
      headers['x-passport-client-id'] = identity.clientId
      headers['x-passport-scope'] = identity.scope
    }
    const outgoing = send(
      {
        protocol: upstream.protocol,
        hostname: upstream.hostname.replace(/^\[|\]$/g, ''),
        port: upstream.port,
        method: req.method,
        path: req.url ?? '/',
        headers,
      },
      (incoming) => {
        const answer: Record<string, string | string[]> = {}
        for (const [name, value] of Object.entries(incoming.headers)) {
          if (value !== undefined && !HOP_BY_HOP.has(name)) answer[name] = value
        }
        res.writeHead(incoming.statusCode ?? 502, incoming.statusMessage, answer)
        // Event streams and other long responses reach the client as each chunk arrives.
        res.flushHeaders()
        incoming.pipe(res)
        incoming.on('aborted', () => res.destroy())
        incoming.on('error', () => res.destroy())
      },
    )
    outgoing.on('error', (error: NodeJS.ErrnoException) => {
      if (res.headersSent) {
        res.destroy()
        return
      }
      fail(res, 502, 'bad_gateway', `The upstream ${upstream.origin} is unreachable (${error.code ?? error.message}).`)
    })
    // The client went away: so does the upstream request (an SSE stream must not linger).
    res.on('close', () => {
      if (!res.writableFinished) outgoing.destroy()
    })
    req.pipe(outgoing)
  }

  let closing: Promise<void> | undefined
  return {
    url,
    port,
    resource,
    resourceMetadataUrl: protectedResourceMetadataUrl(resource),
    server,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => {
          // The resource leaves the authority with the proxy (its port is gone).
          if (registry) {
            try {
              registry.resources.delete(resource, 'protect')
            } catch {
              // The database is closed or locked: the row stays, harmless (no port serves it).
            }
          }
          resolve()
        })
        server.closeIdleConnections()
        // Open streams (SSE) would hold the server forever.
        setTimeout(() => server.closeAllConnections(), 1000).unref()
      })
      return closing
    },
  }
}

function forwardedHeaders(
  incoming: IncomingHttpHeaders,
  upstream: URL,
  req: IncomingMessage,
): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {}
  const connectionListed = new Set(
    String(incoming.connection ?? '')
      .toLowerCase()
      .split(',')
      .map((s) => s.trim()),
  )
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || HOP_BY_HOP.has(name) || connectionListed.has(name)) continue
    // Identity headers come from the proxy alone; the token stays with it.
    if (name.startsWith('x-passport-') || name === 'authorization' || name === 'dpop') continue
    headers[name] = value
  }
  headers.host = upstream.host
  headers['x-forwarded-host'] = incoming.host ?? ''
  headers['x-forwarded-proto'] = 'http'
  const remote = req.socket.remoteAddress ?? ''
  headers['x-forwarded-for'] =
    typeof incoming['x-forwarded-for'] === 'string' ? `${incoming['x-forwarded-for']}, ${remote}` : remote
  return headers
}

function fail(res: ServerResponse, status: number, error: string, description: string): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const text = JSON.stringify({error, error_description: description})
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  })
  res.end(text)
}

function checkUpstream(value: string): URL {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new InvalidInputError(
      `--upstream ${JSON.stringify(value)} is not a URL; give the address of the service to protect, e.g. http://127.0.0.1:3001/mcp.`,
    )
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidInputError(`--upstream must be an http or https URL, not ${url.protocol}`)
  if (url.search !== '' || url.hash !== '')
    throw new InvalidInputError(
      '--upstream must not have a query or fragment: it names the service and the resource path.',
    )
  return url
}
