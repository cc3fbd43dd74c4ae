import {generateKeyPairSync, type KeyObject, randomBytes} from 'node:crypto'
import type {IncomingMessage, OutgoingHttpHeaders, ServerResponse} from 'node:http'

import {CompactSign} from 'jose'

import type {Authority} from '../core/authority.js'
import {isLoopbackHost} from '../core/uris.js'
import {UsageError} from '../errors.js'
import {accessTokenHash} from '../core/id-token.js'
import {defaultError, FaultRegistry, type HttpFault, type ProtocolFault} from './faults.js'
import {RequestLog} from './request-log.js'

/** What a handler notes about a request for the request log (the client it authenticated, the grant). */
export interface RequestNotes {
  client?: string
  grant?: string
}

const NOTES = Symbol('passport.requestNotes')

/** Notes the authenticated client (and grant) of a request for the request log. */
export function noteRequest(req: IncomingMessage, notes: RequestNotes): void {
  const target = req as IncomingMessage & {[NOTES]?: RequestNotes}
  target[NOTES] = {...target[NOTES], ...notes}
}

function notesOf(req: IncomingMessage): RequestNotes | undefined {
  return (req as IncomingMessage & {[NOTES]?: RequestNotes})[NOTES]
}

/** A route as the server knows it: enough to name its endpoint. */
export interface NamedRoute {
  path: string
  prefixed: boolean
}

/** Names of routes outside the prefix. */
const ROOT_ENDPOINTS: Readonly<Record<string, string>> = {
  '/.well-known/oauth-authorization-server': 'discovery',
  '/.well-known/openid-configuration': 'discovery',
  '/.well-known/jwks.json': 'jwks',
  '/': 'dashboard',
}

/** The endpoint name faults are injected by: the path under the prefix (`token`, `device/code`), or `discovery`, `jwks`, `healthz`. */
export function endpointName(route: NamedRoute): string {
  if (route.prefixed) return route.path.slice(1)
  return ROOT_ENDPOINTS[route.path] ?? route.path.slice(1)
}

const MAX_LOGGED_PATH = 200

/**
 * Test control of one running authority: the armed faults, the request log, and what the server
 * asks of them for each request. The server holds one only when control is on (`startServer()`,
 * `serve --control`, `serve --fault`); without one it does nothing extra per request.
 */
export class Control {
  readonly faults: FaultRegistry
  readonly requests = new RequestLog(1000)
  private readonly names = new Map<NamedRoute, string>()
  private readonly endpointSet = new Set<string>()
  private unpublished = new Map<string, {key: KeyObject; kid: string}>()
  /** The bearer token of the HTTP control API; undefined while the API is off. */
  apiToken?: string

  constructor(readonly authority: Authority) {
    this.faults = new FaultRegistry(() => this.endpointSet)
  }

  /** The routes the server serves (after `--except`): their endpoint names are what faults may target. */
  bind(routes: Iterable<NamedRoute>): void {
    for (const route of routes) {
      const name = endpointName(route)
      this.names.set(route, name)
      this.endpointSet.add(name)
    }
  }

  /**
   * Turns on the HTTP control API under /_passport/ with a fresh random token. Only on a loopback
   * host: the API moves the clock and changes users, which nothing off this machine may do.
   */
  enableApi(host: string): string {
    assertControlHost(host)
    this.apiToken = randomBytes(32).toString('base64url')
    return this.apiToken
  }

  get endpoints(): ReadonlySet<string> {
    return this.endpointSet
  }

  /** Records the request in the log once answered; control calls themselves are left out. */
  track(req: IncomingMessage, res: ServerResponse, started: number): void {
    const at = this.authority.clock.now()
    res.on('close', () => {
      const path = (req.url ?? '').split('?', 1)[0]!
      if (path.startsWith('/_passport/')) return
      const notes = notesOf(req) ?? this.authorizeNotes(req, path)
      this.requests.add({
        at,
        method: req.method ?? '',
        path: path.length > MAX_LOGGED_PATH ? `${path.slice(0, MAX_LOGGED_PATH)}…` : path,
        // A connection dropped before an answer logs status 0.
        status: res.headersSent ? res.statusCode : 0,
        client: notes?.client ?? null,
        grant: notes?.grant ?? null,
        duration: Math.round((performance.now() - started) * 10) / 10,
      })
    })
  }

  /** For /authorize: the client_id it names, when that client is registered (unknown ids are not logged). */
  private authorizeNotes(req: IncomingMessage, path: string): RequestNotes | undefined {
    if (!path.endsWith('/authorize') || req.method !== 'GET') return undefined
    const match = /[?&]client_id=([^&]{1,255})/.exec(req.url ?? '')
    if (!match) return undefined
    let id: string
    try {
      id = decodeURIComponent(match[1]!.replace(/\+/g, ' '))
    } catch {
      return undefined
    }
    try {
      return this.authority.store.clients.find(id) ? {client: id} : undefined
    } catch {
      return undefined // the database closed with the server
    }
  }

  /**
   * Applies the armed faults of the request's endpoint: an HTTP fault answers (or drops, or only
   * delays) the request; protocol faults spoil the answer the handler writes. True when the
   * request was answered here and the handler must not run.
   */
  async intercept(req: IncomingMessage, res: ServerResponse, route: NamedRoute): Promise<boolean> {
    const endpoint = this.names.get(route) ?? endpointName(route)
    const http = this.faults.takeHttp(endpoint)
    if (http && (await applyHttpFault(http, req, res))) return true
    const protocol = this.faults.protocolFaults(endpoint)
    if (protocol.length > 0) this.spoil(res, protocol)
    return false
  }

  /** Holds back the handler's answer, changes it as the protocol faults say, then sends it. */
  private spoil(res: ServerResponse, faults: ProtocolFault[]): void {
    const writeHead = res.writeHead.bind(res) as (status: number, headers?: OutgoingHttpHeaders) => ServerResponse
    const end = res.end.bind(res) as (chunk?: string | Buffer) => ServerResponse
    let head: {status: number; headers: OutgoingHttpHeaders} | undefined
    res.writeHead = (status: number, ...rest: unknown[]) => {
      const headers = rest.find((arg): arg is OutgoingHttpHeaders => typeof arg === 'object' && arg !== null) ?? {}
      head = {status, headers: {...headers}}
      return res
    }
    res.end = ((chunk?: unknown) => {
      if (!head) return end(chunk as string | undefined)
      const held = head
      const body = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : ''
      this.transform(held, body, faults).then(
        (text) => {
          if (text !== body) setLength(held.headers, text)
          writeHead(held.status, held.headers)
          end(text)
        },
        () => res.destroy(),
      )
      return res
    }) as typeof res.end
  }

  private async transform(
    head: {status: number; headers: OutgoingHttpHeaders},
    body: string,
    faults: ProtocolFault[],
  ): Promise<string> {
    const location = headerValue(head.headers, 'location')
    if (location !== undefined && (head.status === 302 || head.status === 303)) {
      const fault = faults.find((f) => f.name === 'wrong-iss')
      if (fault && /[?&]iss=/.test(location) && this.faults.hit(fault)) {
        const url = new URL(location)
        url.searchParams.set('iss', 'https://wrong-issuer.invalid')
        setHeader(head.headers, 'location', url.toString())
      }
      return body
    }
    if (head.status !== 200 || body === '') return body
    let json: Record<string, unknown>
    try {
      json = JSON.parse(body) as Record<string, unknown>
    } catch {
      return body
    }
    let changed = false
    const applies = (name: ProtocolFault['name'], when: boolean): boolean => {
      const fault = faults.find((f) => f.name === name)
      return when && fault !== undefined && this.faults.hit(fault)
    }
    if (applies('metadata-without-pkce', 'code_challenge_methods_supported' in json)) {
      delete json.code_challenge_methods_supported
      changed = true
    }
    const accessToken = typeof json.access_token === 'string' ? json.access_token : undefined
    const idToken = typeof json.id_token === 'string' ? json.id_token : undefined
    if (applies('token-response-without-token-type', accessToken !== undefined && 'token_type' in json)) {
      delete json.token_type
      changed = true
    }
    if (idToken !== undefined) {
      const now = Math.floor(this.authority.clock.now() / 1000)
      const edits: ((claims: Record<string, unknown>) => void)[] = []
      if (applies('id-token-wrong-aud', true)) edits.push((claims) => (claims.aud = 'not-this-client'))
      if (applies('id-token-wrong-nonce', true)) edits.push((claims) => (claims.nonce = 'not-the-nonce-sent'))
      if (applies('id-token-expired', true)) {
        edits.push((claims) => {
          claims.iat = now - 7200
          claims.exp = now - 3600
        })
      }
      if (edits.length > 0) {
        const keys = await this.authority.signingKeys()
        json.id_token = await resign(idToken, (claims) => edits.forEach((edit) => edit(claims)), keys.privateKey)
        changed = true
      }
    }
    if (applies('unpublished-key', accessToken !== undefined)) {
      const signer = this.unpublishedKey(headerOf(accessToken!).alg)
      json.access_token = await resign(accessToken!, () => {}, signer.key, signer.kid)
      if (typeof json.id_token === 'string') {
        const atHash = accessTokenHash(json.access_token as string)
        json.id_token = await resign(
          json.id_token,
          (claims) => (claims.at_hash === undefined ? undefined : (claims.at_hash = atHash)),
          signer.key,
          signer.kid,
        )
      }
      changed = true
    }
    return changed ? JSON.stringify(json) : body
  }

  /** A key of the same kind as the signing key that no JWKS of this authority ever publishes. */
  private unpublishedKey(alg: string): {key: KeyObject; kid: string} {
    let entry = this.unpublished.get(alg)
    if (!entry) {
      const pair = alg.startsWith('ES')
        ? generateKeyPairSync('ec', {namedCurve: alg === 'ES384' ? 'P-384' : alg === 'ES512' ? 'P-521' : 'P-256'})
        : alg === 'EdDSA' || alg === 'Ed25519'
          ? generateKeyPairSync('ed25519')
          : generateKeyPairSync('rsa', {modulusLength: 2048})
      entry = {key: pair.privateKey, kid: `unpublished-${randomBytes(8).toString('hex')}`}
      this.unpublished.set(alg, entry)
    }
    return entry
  }
}

/** The control API listens only on loopback hosts: anyone who reaches it can move the clock and change users. */
export function assertControlHost(host: string): void {
  if (!isLoopbackHost(host)) {
    throw new UsageError(
      `The control API (--control) is served only on a loopback host (127.0.0.1, ::1 or localhost), never on ${host}: anyone who reaches it can move the clock and change users.`,
    )
  }
}

/** Answers, drops or delays the request as the fault says; true when the handler must not run. */
async function applyHttpFault(fault: HttpFault, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  if (fault.delayMs !== undefined && fault.delayMs > 0)
    await new Promise((resolve) => setTimeout(resolve, fault.delayMs))
  if (fault.drop) {
    req.socket.destroy()
    return true
  }
  if (fault.status === undefined) return false
  const body = JSON.stringify({
    error: fault.error ?? defaultError(fault.status),
    error_description:
      fault.description ??
      `Injected fault: this ${req.method ?? ''} request was answered ${fault.status} by passport's test control.`,
  })
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    Pragma: 'no-cache',
  }
  if (fault.status === 401) headers['WWW-Authenticate'] = 'Basic realm="passport"'
  res.writeHead(fault.status, headers)
  res.end(body)
  return true
}

function headerOf(jwt: string): {alg: string} {
  return JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString('utf8')) as {alg: string}
}

/** Signs the token again with its claims changed (and, given one, another kid). */
async function resign(
  jwt: string,
  edit: (claims: Record<string, unknown>) => void,
  key: KeyObject,
  kid?: string,
): Promise<string> {
  const [header, payload] = jwt.split('.')
  const protectedHeader = JSON.parse(Buffer.from(header!, 'base64url').toString('utf8')) as {alg: string; kid?: string}
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as Record<string, unknown>
  edit(claims)
  if (kid !== undefined) protectedHeader.kid = kid
  return new CompactSign(new TextEncoder().encode(JSON.stringify(claims))).setProtectedHeader(protectedHeader).sign(key)
}

function headerValue(headers: OutgoingHttpHeaders, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers))
    if (key.toLowerCase() === name && typeof value === 'string') return value
  return undefined
}

function setHeader(headers: OutgoingHttpHeaders, name: string, value: string | number): void {
  for (const key of Object.keys(headers)) if (key.toLowerCase() === name) delete headers[key]
  headers[name] = value
}

function setLength(headers: OutgoingHttpHeaders, text: string): void {
  setHeader(headers, 'content-length', Buffer.byteLength(text))
}
