import type {IncomingMessage, ServerResponse} from 'node:http'

import {DPOP_ALGORITHMS, DpopTokenError} from '../core/dpop.js'
import {InsufficientScopeError, InvalidInputError, InvalidTokenError, OAuthError} from '../errors.js'
import {prepareVerification, type VerifiedAccessToken, type VerifyAccessTokenOptions} from '../core/verify.js'
import {NO_STORE, readParams, rfcText, sendJson} from './http.js'
import {httpUrl} from '../core/uris.js'

/**
 * The options of {@link requireBearer}: those of `verifyAccessToken` (an authority, or an issuer
 * with `jwks` — a JWKS URL, a JWK Set or a key resolver), plus how to challenge.
 */
export interface RequireBearerOptions extends VerifyAccessTokenOptions {
  /**
   * The RFC 9728 metadata URL named in every challenge (`resource_metadata="…"`). Default, when
   * `resource` is given: its well-known URL (see {@link protectedResourceMetadataUrl}).
   */
  resourceMetadataUrl?: string | URL
  /** The `realm` of the challenge: by default "passport" when there is no resource metadata URL, none otherwise. */
  realm?: string
}

/** A request that passed the guard carries the verified token as `auth` (the shape the MCP SDK reads as `AuthInfo`). */
export type BearerRequest = IncomingMessage & {auth?: VerifiedAccessToken; body?: unknown}

export type BearerGuard = (
  req: IncomingMessage,
  res: ServerResponse,
  next?: (error?: unknown) => void,
) => Promise<VerifiedAccessToken | undefined>

/** What the guard does beyond the public options: the authority's own endpoints use these. */
interface GuardOptions extends RequireBearerOptions {
  /** Read `access_token` from a raw form-encoded POST body: only for a handler that owns the body (`/userinfo`). */
  ownsBody?: boolean
  /** The URL a DPoP proof's `htu` must name for this request (default: see {@link dpopRequestUrl}). */
  requestUrl?: (req: IncomingMessage) => string
}

/**
 * A node:http (and Connect/Express-style) guard for bearer-protected resources (RFC 6750, RFC
 * 9728, RFC 9068 §4), the seed's `RequireBearer()`. It reads the token from the `Authorization`
 * header (scheme matched case-insensitively) or the `access_token` of a body a framework already
 * parsed into `req.body`; it never reads the request stream, which stays the next handler's. It
 * verifies the token (`at+jwt` signed RS256, PS256, ES256 or EdDSA by a published key, issuer, expiry, key, audience, revocation with an
 * authority) and the scopes. On success it sets `req.auth`, calls `next()` when given, and
 * resolves to the verified token. Otherwise it answers — 401 without error for no credentials,
 * 400 `invalid_request`, 401 `invalid_token`, 403 `insufficient_scope` naming the missing scopes,
 * each with its `WWW-Authenticate` challenge — and resolves to undefined.
 *
 * The audience is required (RFC 9068 §4): `resource` (the protected resource's identifier, which
 * tokens requested with RFC 8707 `resource` carry as `aud`) or an explicit `audience`.
 */
export function requireBearer(options: RequireBearerOptions): BearerGuard {
  if (typeof options !== 'object' || options === null)
    throw new InvalidInputError('requireBearer needs an options object: {issuer, jwks, resource, scopes}.')
  if (options.resource === undefined && options.audience === undefined) {
    throw new InvalidInputError(
      'requireBearer needs the audience its tokens must carry (RFC 9068 §4): resource (the URL of the protected resource, e.g. http://127.0.0.1:3000/mcp) or audience (e.g. a client id).',
    )
  }
  return bearerGuard(options, 'requireBearer')
}

/** The guard itself, without the audience requirement (the authority's `/userinfo` accepts any audience of its own tokens). */
export function bearerGuard(options: GuardOptions, who = 'requireBearer'): BearerGuard {
  const verify = prepareVerification(options, who)
  const required = options.scopes ?? []
  const metadataUrl = checkMetadataUrl(options, who)
  const realm = options.realm ?? (metadataUrl === undefined ? 'passport' : undefined)
  const challenge: Challenge = {realm, metadataUrl, scopes: metadataUrl === undefined ? undefined : required}

  // The resource's origin is parsed once, not on every DPoP request.
  const origin = resourceOrigin(options.resource)
  const requestUrl = options.requestUrl ?? ((req: IncomingMessage) => dpopRequestUrl(req, origin))

  return async (req, res, next) => {
    let token: string | undefined
    let scheme: 'bearer' | 'dpop' = 'bearer'
    try {
      ;({token, scheme} = await presentedToken(req, options.ownsBody === true))
    } catch (error) {
      if (!(error instanceof OAuthError)) throw error
      sendChallenge(res, error.status === 413 ? 413 : 400, challenge, 'invalid_request', error.message)
      return undefined
    }
    if (token === undefined) {
      res.writeHead(401, {...NO_STORE, 'WWW-Authenticate': challengeHeader(challenge), 'Content-Length': 0})
      res.end()
      return undefined
    }
    let verified: VerifiedAccessToken
    try {
      verified = await verify(
        token,
        undefined,
        scheme === 'dpop' ? {proof: req.headers.dpop, method: req.method ?? 'GET', url: requestUrl(req)} : undefined,
      )
    } catch (error) {
      if (error instanceof DpopTokenError) {
        // RFC 9449 §7.1: a DPoP challenge naming the proof algorithms.
        const header = `DPoP error="${error.error}", error_description="${rfcText(error.message)}", algs="${DPOP_ALGORITHMS.join(' ')}"`
        sendJson(
          res,
          401,
          {error: error.error, error_description: error.message},
          {...NO_STORE, 'WWW-Authenticate': header},
        )
        return undefined
      }
      if (error instanceof InvalidTokenError) {
        sendChallenge(res, 401, challenge, 'invalid_token', error.message)
        return undefined
      }
      if (error instanceof InsufficientScopeError) {
        // `scope` names every scope the request needs, so that a client that replaces its scope
        // with the challenge's (MCP SDK 1.x) keeps what it had; the description names the missing ones.
        sendChallenge(res, 403, {...challenge, scopes: required}, 'insufficient_scope', error.message)
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

interface Challenge {
  realm: string | undefined
  metadataUrl: string | undefined
  scopes: readonly string[] | undefined
}

function challengeHeader(challenge: Challenge, error?: string, description?: string): string {
  const parts: string[] = []
  if (challenge.realm !== undefined) parts.push(`realm="${rfcText(challenge.realm)}"`)
  if (challenge.metadataUrl !== undefined) parts.push(`resource_metadata="${rfcText(challenge.metadataUrl)}"`)
  if (error !== undefined) parts.push(`error="${error}"`, `error_description="${rfcText(description ?? '')}"`)
  if (challenge.scopes && challenge.scopes.length > 0) parts.push(`scope="${rfcText(challenge.scopes.join(' '))}"`)
  return parts.length === 0 ? 'Bearer' : `Bearer ${parts.join(', ')}`
}

function sendChallenge(
  res: ServerResponse,
  status: number,
  challenge: Challenge,
  error: string,
  description: string,
): void {
  sendJson(
    res,
    status,
    {error, error_description: description},
    {...NO_STORE, 'WWW-Authenticate': challengeHeader(challenge, error, description)},
  )
}

function checkMetadataUrl(options: RequireBearerOptions, who: string): string | undefined {
  const given = options.resourceMetadataUrl
  if (given === undefined)
    return options.resource === undefined ? undefined : protectedResourceMetadataUrl(options.resource)
  const text = String(given)
  if (httpUrl(text) === undefined)
    throw new InvalidInputError(
      `${who}: resourceMetadataUrl must be an absolute http(s) URL, not ${JSON.stringify(text.slice(0, 100))}.`,
    )
  return new URL(text).href
}

/**
 * The RFC 9728 §3.1 metadata URL of a resource: `/.well-known/oauth-protected-resource` inserted
 * between the origin and the resource's path (`http://h/mcp` → `http://h/.well-known/oauth-protected-resource/mcp`).
 */
export function protectedResourceMetadataUrl(resource: string): string {
  const url = new URL(resource)
  const path = url.pathname === '/' ? '' : url.pathname
  return `${url.origin}/.well-known/oauth-protected-resource${path}${url.search}`
}

/** RFC 6750 §3: an error answer with its challenge, and the same in a JSON body. */
export function sendBearerError(
  res: ServerResponse,
  status: number,
  realm: string,
  error: string,
  description: string,
  scopes?: readonly string[],
): void {
  let challenge = `Bearer realm="${rfcText(realm)}", error="${error}", error_description="${rfcText(description)}"`
  if (scopes && scopes.length > 0) challenge += `, scope="${rfcText(scopes.join(' '))}"`
  sendJson(res, status, {error, error_description: description}, {...NO_STORE, 'WWW-Authenticate': challenge})
}

const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/

/**
 * The bearer token of the request (RFC 6750 §2.1–2.2): the Authorization header or the
 * `access_token` of a form-encoded body (already parsed into `req.body`, or read here only when
 * the caller owns the body) — both at once is `invalid_request`. `?access_token=`
 * in the query is ignored (§2.3 is not supported: URLs end up in logs).
 */
async function presentedToken(
  req: IncomingMessage,
  ownsBody: boolean,
): Promise<{token: string | undefined; scheme: 'bearer' | 'dpop'}> {
  let fromHeader: string | undefined
  let scheme: 'bearer' | 'dpop' = 'bearer'
  const header = req.headers.authorization
  if (header !== undefined && header.trim() !== '') {
    const match = /^(\S+)(?:\s+(.*))?$/.exec(header.trim())
    const name = match?.[1]!.toLowerCase()
    // RFC 9449 §7.1: `Authorization: DPoP <token>`, with the proof in the DPoP header.
    if (match && (name === 'bearer' || name === 'dpop')) {
      const value = (match[2] ?? '').trim()
      if (!B64TOKEN.test(value))
        throw new OAuthError(
          'invalid_request',
          `The Authorization header holds no well-formed ${name === 'dpop' ? 'DPoP' : 'bearer'} token.`,
        )
      fromHeader = value
      scheme = name
    }
  }
  // Only a POST can carry the token in its body: no await on the GET path.
  const fromBody = req.method === 'POST' ? await bodyToken(req, ownsBody) : undefined
  if (fromHeader !== undefined && fromBody !== undefined) {
    throw new OAuthError(
      'invalid_request',
      'The access token was sent both in the Authorization header and in the body; send it once.',
    )
  }
  return {token: fromHeader ?? fromBody, scheme}
}

/**
 * The URL a resource request's DPoP proof must name (`htu`): the request's path on the origin of
 * the protected `resource` when given (what clients call, also behind a proxy), else on the
 * request's Host.
 */
export function dpopRequestUrl(req: IncomingMessage, origin?: string): string {
  const path = (req.url ?? '/').split(/[?#]/)[0]!
  return `${origin ?? `http://${req.headers.host ?? 'localhost'}`}${path.startsWith('/') ? path : `/${path}`}`
}

/** The origin of a protected resource's identifier; undefined without one (or when it does not parse). */
function resourceOrigin(resource: string | undefined): string | undefined {
  return resource !== undefined && URL.canParse(resource) ? new URL(resource).origin : undefined
}

async function bodyToken(req: BearerRequest, ownsBody: boolean): Promise<string | undefined> {
  if (req.method !== 'POST') return undefined
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
  if (type !== 'application/x-www-form-urlencoded') return undefined
  if (typeof req.body === 'object' && req.body !== null) {
    // Already parsed by a framework.
    const value = (req.body as Record<string, unknown>).access_token
    if (Array.isArray(value))
      throw new OAuthError('invalid_request', 'The "access_token" parameter is repeated; send it once.')
    return typeof value === 'string' && value !== '' ? value : undefined
  }
  // The stream belongs to the next handler unless the caller owns the body: never read it here.
  if (!ownsBody || req.readableEnded) return undefined
  const params = await readParams(req)
  return params.get('access_token')
}
