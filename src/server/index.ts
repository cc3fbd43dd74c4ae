import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo, Socket} from 'node:net'

import type {Authority} from '../core/authority.js'
import {CONTROL_PREFIX, handleControlApi} from '../control/api.js'
import {UserCodeLockout} from '../core/device/lockout.js'
import {InvalidInputError, OAuthError, UserError} from '../errors.js'
import {assertSubject} from '../core/subjects.js'
import {isLoopbackHost} from '../core/uris.js'
import type {RequestContext, Route, ServerOptions} from './context.js'
import {answeredError, sendJson} from './http.js'
import {respondNotFound, sendError} from './respond.js'
import {applyCorsHeaders, isCorsRoute, sendPreflight} from './cors.js'
import {routes} from './routes.js'
import {SESSION_COOKIE, SessionStore} from './session.js'

export type {RouteGroup, ServerOptions} from './context.js'
export {ROUTE_GROUPS} from './context.js'

export interface RunningServer {
  /** The issuer: configured, or http://HOST:PORT of the listening socket. */
  issuer: string
  /** Base URL of the listening socket. */
  url: string
  port: number
  server: Server
  /** Stops accepting connections, lets in-flight requests finish, then closes the database. */
  close(): Promise<void>
}

/**
 * A request target that is its own path: what `new URL` would give as the pathname, so routing
 * needs no URL parsing (~9 µs a request under load). No query, dot segment, escape or leading
 * `//` (which URL would read as a host).
 */
const PLAIN_PATH = /^\/(?!\/)[A-Za-z0-9_~/-]*$/

/**
 * The server's SQLite page cache: its inserts and lookups touch the right-hand edges of the
 * indexes (ids are time-ordered) and a few client rows. 4 MB held the same throughput as 16 MB,
 * with 1,000,000 rows too, and kept RSS under load ~15 MB lower.
 */
const SERVER_PAGE_CACHE_KIB = 4096

/**
 * How long a request waits for another program's database lock before it gets a 503. `purge`
 * frees the lock every ~30 ms; a lock held longer than this is someone else's problem, and the
 * wait must not stop every other request (and `/healthz`) with it.
 */
const SERVER_LOCK_WAIT_MS = 250

/**
 * Connection limits for a local tool (issue 18 finding 11): a request must send its headers within
 * 10 s and finish within 30 s (checked every second, so half-open connections go quickly), an idle
 * keep-alive connection closes after 5 s and after 10,000 requests, and at most
 * {@link MAX_CONNECTIONS} are open at once (Node closes the ones beyond at once, so they hold no
 * file descriptor).
 */
const CONNECTION_LIMITS = {
  maxHeaderSize: 32 * 1024,
  headersTimeout: 10_000,
  requestTimeout: 30_000,
  keepAliveTimeout: 5_000,
  connectionsCheckingInterval: 1_000,
  maxRequestsPerSocket: 10_000,
} as const
export const MAX_CONNECTIONS = 1_000
/** The request line and headers passport accepts (Node's default limit). */
const MAX_HEADER_BYTES = 16 * 1024

function headerBytes(req: IncomingMessage): number {
  let total = (req.method?.length ?? 0) + (req.url?.length ?? 0) + 12
  for (const part of req.rawHeaders) total += part.length + 2
  return total
}

function parseTarget(target: string): URL {
  try {
    return new URL(target, 'http://passport.invalid')
  } catch {
    throw new OAuthError('invalid_request', 'The request target is not a valid URL.')
  }
}

/**
 * Serves an authority over HTTP. The issuer is the configured one; without one it becomes
 * `http://HOST:PORT` once the socket listens (never taken from a request's Host header).
 */
export async function serve(
  authority: Authority,
  options: ServerOptions,
  explicitIssuer?: string,
): Promise<RunningServer> {
  if (options.loginAs !== undefined) assertSubject(options.loginAs, '--login-as')
  if (options.requirePar && options.except.includes('par'))
    throw new InvalidInputError('--require-par needs the par route group: remove --except par.')
  authority.store.limitPageCache(SERVER_PAGE_CACHE_KIB)
  authority.store.limitLockWait(SERVER_LOCK_WAIT_MS)
  const sessions = new SessionStore(authority.clock)
  const deviceLockout = new UserCodeLockout(authority.clock)
  const corsPaths = new Set<string>()
  const table = buildRouteTable(routes(), options, corsPaths)
  const log = options.log
  const control = options.control
  control?.bind([...table.values()].flatMap((byMethod) => [...byMethod.values()]))

  /** Sockets a request has been parsed on: a parse error there may concern a later (HEAD) request. */
  const carriedRequest = new WeakSet<Socket>()
  const server = createServer(CONNECTION_LIMITS, (req, res) => {
    const started = performance.now()
    if (log) {
      res.on('finish', () => {
        // Path only: a query string can carry codes or state.
        // The OAuth error code, never its description (which may quote request data).
        const error = answeredError(res)
        log(
          `${req.method} ${(req.url ?? '').split('?')[0]} ${res.statusCode} ${(performance.now() - started).toFixed(1)}ms${error === undefined ? '' : ` ${error}`}`,
        )
      })
    }
    control?.track(req, res, started)
    carriedRequest.add(req.socket)
    void handle(req, res)
  })

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      // Node parses up to 32 KiB of headers (so it knows the method); passport's limit is 16 KiB,
      // answered here so that a HEAD request gets its 431 without a body.
      if (headerBytes(req) > MAX_HEADER_BYTES) {
        sendJson(
          res,
          431,
          {error: 'invalid_request', error_description: 'The request line or headers are too large.'},
          {Connection: 'close', 'Cache-Control': 'no-store'},
        )
        return
      }
      const target = req.url ?? '/'
      let url: URL | undefined
      const pathname = PLAIN_PATH.test(target) ? target : (url = parseTarget(target)).pathname
      if (control?.apiToken !== undefined && pathname.startsWith(CONTROL_PREFIX)) {
        await handleControlApi(control, control.apiToken, req, res, pathname)
        return
      }
      const byMethod = table.get(pathname)
      if (!byMethod) {
        // A browser gets a page it can read (issue 18 walkthrough); API clients keep the JSON error.
        respondNotFound({req, res}, pathname)
        return
      }
      if (corsPaths.has(pathname)) {
        if (req.method === 'OPTIONS') {
          sendPreflight(res, [...byMethod.keys()])
          return
        }
        applyCorsHeaders(res)
      }
      // RFC 9110 §9.3.2: HEAD on a GET route answers as GET does; Node sends no body for HEAD.
      const route = byMethod.get(req.method ?? '') ?? (req.method === 'HEAD' ? byMethod.get('GET') : undefined)
      if (!route) {
        const allowed = [...byMethod.keys(), ...(byMethod.has('GET') ? ['HEAD'] : [])].join(', ')
        sendJson(
          res,
          405,
          {error: 'invalid_request', error_description: `${req.method} is not allowed on ${pathname}; use ${allowed}.`},
          {Allow: allowed},
        )
        return
      }
      if (control !== undefined && control.faults.size > 0 && (await control.intercept(req, res, route))) return
      const ctx: RequestContext = {
        req,
        res,
        get url() {
          return (url ??= parseTarget(target))
        },
        authority,
        options,
        sessions,
        deviceLockout,
        endpoint: (path) => `${authority.issuer}${options.prefix}${path}`,
      }
      await route.handler(ctx)
    } catch (error) {
      sendError(res, error, log)
    }
  }

  // Requests node:http cannot parse (too-long URL or headers, malformed syntax, too slow) still get
  // a clear OAuth error rather than an empty 400, but only when the request is surely not HEAD: a
  // body after a HEAD answer is read as the next response (undici: HPE_CLOSED_CONNECTION). The
  // parser tells no method, and the failing packet is the request's start only when it is the
  // connection's first packet and no request came before it (a later packet, a second or pipelined
  // request may belong to a HEAD), so every other answer is body-less with Content-Length: 0.
  server.on('clientError', (error: NodeJS.ErrnoException & {rawPacket?: unknown}, socket: Socket) => {
    if (!socket.writable) return
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW'
    const timeout = error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
    const status = tooLarge
      ? '431 Request Header Fields Too Large'
      : timeout
        ? '408 Request Timeout'
        : '400 Bad Request'
    const description = tooLarge
      ? 'The request line or headers are too large.'
      : timeout
        ? 'The request took too long to arrive.'
        : 'The HTTP request is malformed.'
    const packet = error.rawPacket
    const notHead =
      packet instanceof Buffer &&
      packet.length === socket.bytesRead &&
      !carriedRequest.has(socket) &&
      /^(?!HEAD )[A-Z]+ /.test(packet.subarray(0, 16).toString('latin1'))
    const body = notHead ? JSON.stringify({error: 'invalid_request', error_description: description}) : ''
    const content = notHead
      ? `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}`
      : 'Content-Length: 0'
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n${content}\r\nCache-Control: no-store\r\n\r\n${body}`)
  })

  await new Promise<void>((resolve, reject) => {
    server.maxConnections = MAX_CONNECTIONS
    server.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, options.host, options.port)))
    server.listen(options.port, options.host, () => {
      server.removeAllListeners('error')
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  // One cookie per port: servers on other localhost ports (which the browser sends it to as well)
  // do not overwrite it; an https issuer adds the __Host- prefix (no Domain, Secure, Path=/).
  sessions.useCookieName(
    `${(explicitIssuer ?? authority.config.issuer ?? '').startsWith('https:') ? '__Host-' : ''}${SESSION_COOKIE}_${port}`,
  )
  const host = options.host.includes(':')
    ? `[${options.host}]`
    : options.host === '0.0.0.0' || options.host === '::'
      ? 'localhost'
      : options.host
  const url = `http://${host}:${port}`
  const mismatch = explicitIssuer === undefined ? loopbackPortMismatch(authority.config.issuer, port) : undefined
  if (mismatch) {
    await new Promise<void>((resolve) => server.close(() => resolve()))
    const from = authority.config.file ? ` (from ${authority.config.file})` : ''
    throw new UserError(
      `The issuer ${authority.config.issuer!}${from} names port ${mismatch}, but the server listens on port ${port}, so its tokens and metadata would point at another server; remove "issuer" from the configuration (the server then uses its own address), listen on port ${mismatch}, or pass --issuer to publish an issuer anyway.`,
    )
  }
  authority.issuer = explicitIssuer ?? authority.config.issuer ?? url

  let closing: Promise<void> | undefined
  return {
    issuer: authority.issuer,
    url,
    port,
    server,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => {
          authority.close()
          resolve()
        })
        server.closeIdleConnections()
      })
      return closing
    },
  }
}

/** What to tell someone whose server cannot listen: which address, why, and what to do. */
function listenError(error: NodeJS.ErrnoException, host: string, port: number): Error {
  switch (error.code) {
    case 'EADDRINUSE':
      return new UserError(
        `Port ${port} on ${host} is already in use, perhaps by another passport serve (npm start serves on 9000); stop that process, or choose another port with --port (0 picks a free one).`,
      )
    case 'EACCES':
      return new UserError(
        `Listening on port ${port} needs privileges this user does not have; choose a port above 1023 with --port (0 picks a free one).`,
      )
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'EINVAL':
      return new UserError(
        `--host ${host} is not an address or host name this machine can resolve (${error.code}); use an interface address such as 127.0.0.1 (the default), ::1 or 0.0.0.0.`,
      )
    case 'EADDRNOTAVAIL':
      return new UserError(
        `--host ${host} is not an address of this machine (EADDRNOTAVAIL); use one of its interface addresses, such as 127.0.0.1 (the default).`,
      )
    default:
      return error
  }
}

/**
 * The port a configured plain-http loopback issuer (localhost, 127.0.0.0/8, [::1]) names when it is not
 * `port`, the one the server listens on; undefined when they agree or the issuer is not loopback
 * (a proxy or tunnel in front may then map the port).
 */
function loopbackPortMismatch(issuer: string | undefined, port: number): number | undefined {
  if (issuer === undefined) return undefined
  const url = new URL(issuer)
  const host = url.hostname
  // passport serves plain HTTP: an https issuer means a TLS proxy in front, on its own port.
  if (url.protocol !== 'http:') return undefined
  if (!isLoopbackHost(host)) return undefined
  const named = url.port === '' ? 80 : Number(url.port)
  return named === port ? undefined : named
}

function buildRouteTable(
  all: Route[],
  options: ServerOptions,
  corsPaths?: Set<string>,
): Map<string, Map<string, Route>> {
  const table = new Map<string, Map<string, Route>>()
  for (const route of all) {
    if (route.group && options.except.includes(route.group)) continue
    const path = route.prefixed ? `${options.prefix}${route.path}` : route.path
    if (isCorsRoute(route)) corsPaths?.add(path)
    const byMethod = table.get(path) ?? new Map<string, Route>()
    byMethod.set(route.method, route)
    table.set(path, byMethod)
  }
  return table
}
