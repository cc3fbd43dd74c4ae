import type {IncomingMessage, ServerResponse} from 'node:http'

import {createRemoteJWKSet, type JSONWebKeySet, type JWTVerifyGetKey} from 'jose'

import type {Authority} from '../core/authority.js'
import {InsufficientScopeError, InvalidTokenError, OAuthError} from '../core/errors.js'
import {verifyAccessToken, type VerifiedAccessToken, type VerifyAccessTokenOptions} from '../core/verify.js'
import {NO_STORE, readParams, sendJson} from './http.js'

export interface RequireBearerOptions {
  /** Verify against a running authority: its issuer, keys, and its database for revocation. */
  authority?: Authority
  /** Without an authority: the issuer the tokens must name, byte for byte. */
  issuer?: string
  /** Without an authority: a JWK Set, a key resolver, or the URL of the JWKS (fetched and cached). */
  jwks?: JSONWebKeySet | JWTVerifyGetKey | string | URL
  /** Scopes the token must grant (`*` grants all); missing ones are a 403 `insufficient_scope`. */
  scopes?: string[]
  /** Expected `aud`; by default any audience is accepted. */
  audience?: string
  /** The `realm` of the `WWW-Authenticate` challenge; default "passport". */
  realm?: string
}

/** A request that passed the guard carries the verified token as `auth`. */
export type BearerRequest = IncomingMessage & {auth?: VerifiedAccessToken; body?: unknown}

export type BearerGuard = (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => Promise<VerifiedAccessToken | undefined>

/**
 * A node:http (and Connect/Express-style) guard for bearer-protected resources (RFC 6750), the
 * seed's `RequireBearer()`. It reads the token from the `Authorization` header (scheme matched
 * case-insensitively) or a form-encoded POST body, never from the query string; verifies it
 * (RS256 `at+jwt`, issuer, expiry, key, audience, revocation with an authority) and the scopes.
 * On success it sets `req.auth`, calls `next()` when given, and resolves to the verified token.
 * Otherwise it answers — 401 without error for no credentials, 400 `invalid_request`, 401
 * `invalid_token`, 403 `insufficient_scope`, each with its `WWW-Authenticate` challenge — and
 * resolves to undefined.
 */
export function requireBearer(options: RequireBearerOptions): BearerGuard {
  const realm = options.realm ?? 'passport'
  const required = options.scopes ?? []
  if (!options.authority && (options.issuer === undefined || options.jwks === undefined)) {
    throw new TypeError('requireBearer needs an authority, or an issuer and jwks.')
  }
  const jwks = typeof options.jwks === 'string' || options.jwks instanceof URL ? createRemoteJWKSet(new URL(options.jwks)) : options.jwks

  async function verifyOptions(): Promise<VerifyAccessTokenOptions> {
    const base: VerifyAccessTokenOptions = {issuer: options.issuer ?? '', scopes: required, ...(options.audience === undefined ? {} : {audience: options.audience})}
    const authority = options.authority
    if (!authority) return {...base, jwks: jwks!}
    return {...base, issuer: authority.issuer, publicKey: (await authority.signingKeys()).publicKeys, store: authority.store, now: authority.clock.now()}
  }

  return async (req, res, next) => {
    let token: string | undefined
    try {
      token = await presentedToken(req)
    } catch (error) {
      if (!(error instanceof OAuthError)) throw error
      sendBearerError(res, error.status === 413 ? 413 : 400, realm, 'invalid_request', error.message)
      return undefined
    }
    if (token === undefined) {
      res.writeHead(401, {...NO_STORE, 'WWW-Authenticate': `Bearer realm="${quote(realm)}"`, 'Content-Length': 0})
      res.end()
      return undefined
    }
    let verified: VerifiedAccessToken
    try {
      verified = await verifyAccessToken(token, await verifyOptions())
    } catch (error) {
      if (error instanceof InvalidTokenError) {
        sendBearerError(res, 401, realm, 'invalid_token', error.message)
        return undefined
      }
      if (error instanceof InsufficientScopeError) {
        sendBearerError(res, 403, realm, 'insufficient_scope', error.message, required)
        return undefined
      }
      if (next) {
        next(error)
        return undefined
      }
      throw error
    }
    ;(req as BearerRequest).auth = verified
    next?.()
    return verified
  }
}

/** RFC 6750 §3: an error answer with its challenge, and the same in a JSON body. */
export function sendBearerError(res: ServerResponse, status: number, realm: string, error: string, description: string, scopes?: readonly string[]): void {
  let challenge = `Bearer realm="${quote(realm)}", error="${error}", error_description="${quote(description)}"`
  if (scopes && scopes.length > 0) challenge += `, scope="${quote(scopes.join(' '))}"`
  sendJson(res, status, {error, error_description: description}, {...NO_STORE, 'WWW-Authenticate': challenge})
}

const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/

/**
 * The bearer token of the request (RFC 6750 §2.1–2.2): the Authorization header or the
 * `access_token` of a form-encoded body — both at once is `invalid_request`. `?access_token=`
 * in the query is ignored (§2.3 is not supported: URLs end up in logs).
 */
async function presentedToken(req: IncomingMessage): Promise<string | undefined> {
  let fromHeader: string | undefined
  const header = req.headers.authorization
  if (header !== undefined && header.trim() !== '') {
    const match = /^(\S+)(?:\s+(.*))?$/.exec(header.trim())
    if (match && match[1]!.toLowerCase() === 'bearer') {
      const value = (match[2] ?? '').trim()
      if (!B64TOKEN.test(value)) throw new OAuthError('invalid_request', 'The Authorization header holds no well-formed bearer token.')
      fromHeader = value
    }
  }
  const fromBody = await bodyToken(req)
  if (fromHeader !== undefined && fromBody !== undefined) {
    throw new OAuthError('invalid_request', 'The access token was sent both in the Authorization header and in the body; send it once.')
  }
  return fromHeader ?? fromBody
}

async function bodyToken(req: BearerRequest): Promise<string | undefined> {
  if (req.method !== 'POST') return undefined
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
  if (type !== 'application/x-www-form-urlencoded') return undefined
  if (typeof req.body === 'object' && req.body !== null) {
    // Already parsed by a framework.
    const value = (req.body as Record<string, unknown>).access_token
    if (Array.isArray(value)) throw new OAuthError('invalid_request', 'The "access_token" parameter is repeated; send it once.')
    return typeof value === 'string' && value !== '' ? value : undefined
  }
  if (req.readableEnded) return undefined
  const params = await readParams(req)
  return params.get('access_token')
}

/** A quoted-string value: printable ASCII without `"` and `\`. */
function quote(value: string): string {
  return value.replace(/[^\x20-\x7e]|["\\]/g, (c) => (c === '"' ? "'" : c === '–' ? '-' : c === '…' ? '...' : ''))
}
