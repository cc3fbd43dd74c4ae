import type {IncomingMessage, ServerResponse} from 'node:http'

import {OAuthError, invalidRequest} from '../errors.js'
import {repeatedJsonMember} from '../core/json.js'

/** Request bodies above this size are refused with 413 before they are read in full. */
export const MAX_BODY_BYTES = 64 * 1024

/** Headers every token, code and introspection response carries (RFC 6749 §5.1). */
export const NO_STORE = {'Cache-Control': 'no-store', Pragma: 'no-cache'} as const

/**
 * Request parameters from the query string or a form / JSON body. A repeated parameter is an
 * error (RFC 6749 §3.1); an empty value counts as absent; unknown parameters are ignored.
 */
export class Params {
  private constructor(private readonly values: Map<string, unknown[]>) {}

  static fromSearch(search: URLSearchParams): Params {
    const values = new Map<string, unknown[]>()
    for (const [key, value] of search) {
      const list = values.get(key)
      if (list) list.push(value)
      else values.set(key, [value])
    }
    return new Params(values)
  }

  static fromObject(object: Record<string, unknown>): Params {
    const values = new Map<string, unknown[]>()
    for (const [key, value] of Object.entries(object)) values.set(key, Array.isArray(value) ? value : [value])
    return new Params(values)
  }

  static empty(): Params {
    return new Params(new Map())
  }

  /** A string parameter, or undefined when absent or empty. Throws for repeats and non-strings. */
  get(name: string): string | undefined {
    const list = this.values.get(name)
    if (!list || list.length === 0) return undefined
    if (list.length > 1) throw invalidRequest(`The "${name}" parameter is repeated; send it once.`)
    const value = list[0]
    if (value === undefined || value === null || value === '') return undefined
    if (typeof value !== 'string') throw invalidRequest(`The "${name}" parameter must be a string.`)
    return value
  }

  /** Like get(), but absence is an `invalid_request` naming the parameter. */
  require(name: string): string {
    const value = this.get(name)
    if (value === undefined) throw invalidRequest(`The "${name}" parameter is missing.`)
    return value
  }

  /** A boolean: JSON true/false, or the strings "true"/"false". */
  boolean(name: string): boolean | undefined {
    const list = this.values.get(name)
    if (!list || list.length === 0) return undefined
    if (list.length > 1) throw invalidRequest(`The "${name}" parameter is repeated; send it once.`)
    const value = list[0]
    if (value === true || value === 'true') return true
    if (value === false || value === 'false') return false
    if (value === undefined || value === null || value === '') return undefined
    throw invalidRequest(`The "${name}" parameter must be true or false.`)
  }

  /** Every value of a repeatable parameter (RFC 8707 `resource`); empty values are skipped, non-strings refused. */
  all(name: string): string[] {
    const list = this.values.get(name) ?? []
    const values: string[] = []
    for (const value of list) {
      if (value === undefined || value === null || value === '') continue
      if (typeof value !== 'string')
        throw invalidRequest(`The "${name}" parameter must be a string (or repeated strings).`)
      values.push(value)
    }
    return values
  }

  has(name: string): boolean {
    return this.get(name) !== undefined
  }

  /** Every string value in the order sent, repeats kept (other JSON values are left out). */
  *strings(): Generator<[string, string]> {
    for (const [name, list] of this.values) {
      for (const value of list) if (typeof value === 'string') yield [name, value]
    }
  }
}

/** Reads the body up to {@link MAX_BODY_BYTES}; larger bodies are a 413. */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length'])
  if (declared > MAX_BODY_BYTES) return Promise.reject(tooLarge())
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data')
        req.resume()
        reject(tooLarge())
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

function tooLarge(): OAuthError {
  return new OAuthError('invalid_request', `The request body is larger than ${MAX_BODY_BYTES} bytes.`, 413)
}

const UTF8 = new TextDecoder('utf-8', {fatal: true})

/**
 * Parses a POST body: `application/x-www-form-urlencoded` (the standard) or `application/json`
 * (the seed's examples). Anything else, invalid UTF-8 or malformed JSON is `invalid_request`.
 */
export async function readParams(req: IncomingMessage): Promise<Params> {
  const type = contentType(req)
  const body = await readBody(req)
  let text: string
  try {
    text = UTF8.decode(body)
  } catch {
    throw invalidRequest('The request body is not valid UTF-8.')
  }
  if (type === 'application/x-www-form-urlencoded') {
    return Params.fromSearch(new URLSearchParams(text))
  }
  if (type === 'application/json') {
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      throw invalidRequest('The request body is not valid JSON.')
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw invalidRequest('The JSON request body must be an object.')
    // JSON.parse keeps the last of repeated keys: that would bypass the repeated-parameter rule.
    const repeated = repeatedJsonMember(text, 1)
    if (repeated !== undefined)
      throw invalidRequest(`The "${repeated}" parameter is repeated in the JSON body; send it once.`)
    return Params.fromObject(parsed as Record<string, unknown>)
  }
  if (type === '' && body.length === 0) return Params.empty()
  throw invalidRequest(
    `Content-Type must be application/x-www-form-urlencoded or application/json${type ? `, not ${type}` : ''}.`,
  )
}

/** The request body's media type, lower case, without parameters ('' when none is declared). */
function contentType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
}

/** Does the request carry a JSON body (the seed's API)? */
export function isJsonBody(req: IncomingMessage): boolean {
  return contentType(req) === 'application/json'
}

/**
 * Sends JSON. An OAuth error body (`{error, error_description}`) always leaves with its
 * description in the RFC 6749 §5.2 character set, whichever endpoint wrote it.
 */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (isErrorBody(body)) noteError(res, body.error)
  const text = JSON.stringify(isErrorBody(body) ? {...body, error_description: rfcText(body.error_description)} : body)
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  })
  res.end(text)
}

/** Headers for every HTML page: no framing, no referrer, a strict CSP (inline styles only). */
export const PAGE_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-store',
  'Content-Security-Policy':
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self' http: https:; frame-ancestors 'none'; base-uri 'none'",
} as const

/**
 * The CSP of a page that loads passport's one script, `/assets/passport.js` (same origin, no
 * inline code): the device code field and the dashboard's copy buttons. Every page works without it.
 */
export const SCRIPT_PAGE_CSP = PAGE_HEADERS['Content-Security-Policy'].replace(
  "default-src 'none';",
  "default-src 'none'; script-src 'self';",
)

export function sendHtml(
  res: ServerResponse,
  status: number,
  html: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {...PAGE_HEADERS, 'Content-Length': Buffer.byteLength(html), ...headers})
  res.end(html)
}

/** 302 (GET) or 303 (after a POST: never 307, which would re-post the form). */
export function redirect(
  res: ServerResponse,
  location: string,
  status: 302 | 303 = 302,
  headers: Record<string, string> = {},
): void {
  const error = redirectError(location)
  if (error !== undefined) noteError(res, error)
  res.writeHead(status, {Location: location, 'Cache-Control': 'no-store', 'Content-Length': 0, ...headers})
  res.end()
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'})[c]!)
}

const ERRORS = new WeakMap<ServerResponse, string>()

/** Records the OAuth error code a response carries, for the access log. */
export function noteError(res: ServerResponse, error: string): void {
  ERRORS.set(res, error)
}

/**
 * The OAuth error code a response carried (JSON body, error page, or an `error` in the redirect's
 * query), or undefined. Only the code: never a description, which may quote request data.
 */
export function answeredError(res: ServerResponse): string | undefined {
  return ERRORS.get(res)
}

/** The `error` an authorization error redirect carries, when it is a plain error code. */
function redirectError(location: string): string | undefined {
  if (!location.includes('error=')) return undefined
  const query = location.slice(location.indexOf('?') + 1).split('#')[0]!
  const error = new URLSearchParams(query).get('error')
  return error !== null && /^[a-z_]{1,64}$/.test(error) ? error : undefined
}

function isErrorBody(body: unknown): body is {error: string; error_description: string} {
  return (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as {error?: unknown}).error === 'string' &&
    typeof (body as {error_description?: unknown}).error_description === 'string'
  )
}

/**
 * The one sanitizer of text that leaves in a protocol field: RFC 6749 §5.2 `error_description`
 * and RFC 6750 §3 `WWW-Authenticate` quoted-string values may hold only %x20-21 / %x23-5B /
 * %x5D-7E — no control characters (CR, LF, TAB), no `"` or backslash, nothing outside ASCII.
 * With `maxLength`, a longer text (an echoed request value) is cut and ends in `...`.
 */
export function rfcText(value: string, maxLength = Infinity): string {
  const clean = value
    .replace(/[\u2013\u2014]/g, '-')
    .replace(/\u2026/g, '...')
    .replace(/[\u2018\u2019"]/g, "'")
    .replace(/\\/g, '/')
    .replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '?')
  return clean.length > maxLength ? `${clean.slice(0, maxLength)}...` : clean
}
