import type {KeyObject} from 'node:crypto'

import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors as joseErrors,
  type JSONWebKeySet,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose'

import type {Authority} from './authority.js'
import {checkTokenBinding, type DpopPresentation, processDpopReplay, tokenJkt} from './dpop.js'
import {InsufficientScopeError, InvalidInputError, InvalidTokenError, type InvalidTokenReason} from '../errors.js'
import {publishedKeyResolver, type PublicKeyEntry, SIGNING_ALGORITHMS, type SigningKeys} from './keys.js'
import {tokenCan} from './scopes.js'
import {resourceUriProblem} from './uris.js'
import type {AccessTokenRow} from '../store/access-tokens.js'
import type {Store} from '../store/index.js'
import {onePer} from './memo.js'

export interface AccessTokenClaims extends JWTPayload {
  iss: string
  sub: string
  aud: string | string[]
  client_id: string
  scope: string
  scopes: string[]
  jti: string
  iat: number
  exp: number
  /** RFC 9449 §6.1: the key a DPoP-bound token is bound to. */
  cnf?: {jkt: string}
}

/**
 * One options shape for {@link verifyAccessToken} and `requireBearer`: either a running
 * `authority` (its issuer, keys and database), or an `issuer` with the keys to verify with.
 */
export interface VerifyAccessTokenOptions {
  /** Verify against an authority in this process: its issuer, its keys, its database (revocation). */
  authority?: Authority
  /** Without an authority: the issuer the token must name, byte for byte. */
  issuer?: string
  /**
   * Without an authority: a JWK Set (e.g. fetched from `/.well-known/jwks.json`), a key resolver,
   * or the http(s) URL of the JWKS (fetched once and cached, refetched for an unknown `kid`).
   */
  jwks?: JSONWebKeySet | JWTVerifyGetKey | string | URL
  publicKey?: KeyObject | PublicKeyEntry[]
  /** The protected resource (RFC 8707 / RFC 9728 identifier): the expected `aud` unless `audience` says otherwise. */
  resource?: string
  /** Expected `aud` (one of them, when a list). Default: `resource`; with neither, any audience (requireBearer refuses that). */
  audience?: string | string[]
  /** Scopes the token must grant (`*` grants all). */
  scopes?: string[]
  /** With a store, the token must be recorded there and not revoked (implied by `authority`). */
  store?: Store
  /** Clock for `exp` checks, Unix ms. */
  now?: number
  /**
   * RFC 9449: the DPoP proof the token was presented with (`Authorization: DPoP`), with the
   * request's method and URL. A DPoP-bound token (`cnf.jkt`) is accepted only with a valid proof
   * made by its key and carrying its hash (`ath`); without one it is refused.
   */
  dpop?: DpopPresentation
  /** Accept a DPoP-bound token without its proof: for introspection, where the resource server checks the proof. */
  ignoreDpopBinding?: boolean
}

export interface VerifiedAccessToken {
  claims: AccessTokenClaims
  jti: string
  clientId: string
  /** The user the token acts for, or null for a client-credentials token (never read as a user). */
  userId: string | null
  scopes: string[]
  /** The database row, when a store was given. */
  record?: AccessTokenRow
  /** The DPoP key thumbprint a bound token was presented with (its `cnf.jkt`); undefined for a bearer token. */
  jkt?: string
  /** The token itself and its expiry (Unix seconds): with clientId and scopes, the MCP SDK's `AuthInfo`. */
  token: string
  expiresAt: number
}

/**
 * Verifies an `at+jwt` access token (RS256, PS256, ES256 or EdDSA): signature against the published keys, `typ`, issuer,
 * expiry, audience, (with a store) revocation, and the required scopes. Throws
 * {@link InvalidTokenError} or {@link InsufficientScopeError} with one sentence saying why, and
 * {@link InvalidInputError} for options it cannot use (before looking at the token).
 */
export async function verifyAccessToken(
  token: string,
  options: VerifyAccessTokenOptions,
): Promise<VerifiedAccessToken> {
  return prepareVerification(options, 'verifyAccessToken')(token, undefined, options.dpop)
}

/** `dpop`: the proof the token came with (the DPoP scheme); undefined for the Bearer scheme. */
export type PreparedVerification = (
  token: string,
  extraScopes?: readonly string[],
  dpop?: DpopPresentation,
) => Promise<VerifiedAccessToken>

/**
 * Checks the options once and returns the verification they describe (what requireBearer runs
 * per request): a JWKS URL becomes one cached remote key set, a JWK Set one local key set.
 */
export function prepareVerification(options: VerifyAccessTokenOptions, who: string): PreparedVerification {
  const checked = checkOptions(options, who)
  const authority = checked.authority
  const fixedKey = authority ? undefined : keyResolver(checked, who)
  const audience = checked.audience ?? checked.resource
  const required = checked.scopes ?? []
  // Proof jtis are remembered per authority, else once per process (keys include the proof's key).
  const replay = authority ? authority.dpopReplay : processDpopReplay
  // Built once, not per request: the accepted algorithms and the claims every token must carry.
  const algorithms = [...SIGNING_ALGORITHMS]
  const requiredClaims = ['sub', 'jti', 'exp', 'iat', 'client_id']
  return async (token, extraScopes, dpop) => {
    const issuer = authority ? authority.issuer : checked.issuer!
    const key = fixedKey ?? (await authorityKeys(authority!))
    const store = authority ? authority.store : checked.store
    // An authority's own clock (test control can move it) decides expiry, as everywhere else in it.
    const now = checked.now ?? authority?.clock.now()
    let payload: JWTPayload
    try {
      const verified = await jwtVerify(token, key, {
        issuer,
        algorithms,
        typ: 'at+jwt',
        requiredClaims,
        ...(audience === undefined ? {} : {audience}),
        ...(now === undefined ? {} : {currentDate: new Date(now)}),
      })
      payload = verified.payload
    } catch (error) {
      const {message, reason} = describeJoseError(error, issuer, audience)
      throw new InvalidTokenError(message, reason)
    }
    const claims = payload as AccessTokenClaims
    if (typeof claims.client_id !== 'string' || typeof claims.jti !== 'string')
      throw new InvalidTokenError('The token is missing client_id or jti.', 'claim')
    const scopes = Array.isArray(claims.scopes)
      ? claims.scopes.filter((s): s is string => typeof s === 'string')
      : typeof claims.scope === 'string'
        ? claims.scope.split(' ').filter(Boolean)
        : []
    const result: VerifiedAccessToken = {
      claims,
      jti: claims.jti,
      clientId: claims.client_id,
      userId: claims.sub === claims.client_id ? null : claims.sub,
      scopes,
      token,
      expiresAt: claims.exp,
    }
    if (store) {
      const record = store.accessTokens.find(claims.jti)
      if (!record)
        throw new InvalidTokenError('The token is not recorded by this authority (unknown jti).', 'unrecorded')
      if (record.revokedAt !== null) throw new InvalidTokenError('The token has been revoked.', 'revoked')
      if (record.clientId !== claims.client_id)
        throw new InvalidTokenError('The token does not match its record (client_id differs).', 'unrecorded')
      if (record.expiresAt <= (now ?? Date.now())) throw new InvalidTokenError('The token has expired.', 'expired')
      result.record = record
      // The record, not the claims, says whether a user stands behind the token.
      result.userId = record.userId
    }
    const jkt = tokenJkt(claims)
    // A plain bearer token sent as Bearer has no binding to check: no extra await on that path.
    if (!checked.ignoreDpopBinding && (jkt !== undefined || dpop !== undefined))
      await checkTokenBinding(token, jkt, dpop, now ?? Date.now(), replay, claims.client_id)
    if (jkt !== undefined) result.jkt = jkt
    const needed = extraScopes && extraScopes.length > 0 ? [...new Set([...required, ...extraScopes])] : required
    const missing = needed.filter((scope) => !tokenCan(scopes, scope))
    if (missing.length > 0) {
      throw new InsufficientScopeError(
        `The token lacks the scope${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (it has: ${scopes.join(' ') || 'none'}).`,
        missing,
      )
    }
    return result
  }
}

/**
 * The resolver of an authority's published keys, built once per loaded key set (a rotation or a
 * reload loads a new one, so it is never stale), not once per request.
 */
const resolverOf = onePer((keys: SigningKeys) => publicKeyResolver(keys.publicKeys))
async function authorityKeys(authority: Authority): Promise<KeyObject | JWTVerifyGetKey> {
  return resolverOf(await authority.signingKeys())
}

/** Remote key sets by JWKS URL, shared by every guard and call naming the same URL (jose caches and rate-limits refetches). */
const remoteKeySets = new Map<string, JWTVerifyGetKey>()
const REMOTE_KEY_SETS_LIMIT = 64

function remoteKeySet(url: URL): JWTVerifyGetKey {
  const href = url.href
  let set = remoteKeySets.get(href)
  if (!set) {
    if (remoteKeySets.size >= REMOTE_KEY_SETS_LIMIT) remoteKeySets.delete(remoteKeySets.keys().next().value!)
    set = createRemoteJWKSet(url)
    remoteKeySets.set(href, set)
  }
  return set
}

/**
 * Local key sets by their JSON text, shared by every call and guard given the same JWK Set: jose
 * imports a set's keys once per set it makes, so `verifyAccessToken(token, {issuer, jwks})`
 * called with a JWK Set made a new set and imported the key again on every call (~3× the
 * verification itself). The same text makes the same set (jose copies the JWK Set it is given),
 * so a reused one verifies exactly as a new one would. Bounded: the oldest set goes first.
 */
const localKeySets = new Map<string, JWTVerifyGetKey>()
const LOCAL_KEY_SETS_LIMIT = 16

function localKeySet(jwks: JSONWebKeySet): JWTVerifyGetKey {
  const id = JSON.stringify(jwks)
  if (typeof id !== 'string') return createLocalJWKSet(jwks)
  let set = localKeySets.get(id)
  if (!set) {
    set = createLocalJWKSet(jwks)
    if (localKeySets.size >= LOCAL_KEY_SETS_LIMIT) localKeySets.delete(localKeySets.keys().next().value!)
    localKeySets.set(id, set)
  }
  return set
}

function keyResolver(options: VerifyAccessTokenOptions, who: string): JWTVerifyGetKey | KeyObject {
  const jwks = options.jwks
  if (typeof jwks === 'function') return jwks
  if (typeof jwks === 'string' || jwks instanceof URL) return remoteKeySet(jwksUrl(jwks, who))
  if (jwks) {
    try {
      return localKeySet(jwks)
    } catch {
      throw new InvalidInputError(
        `${who}: jwks is not a JWK Set (an object with a "keys" array), a key resolver function, or the http(s) URL of a JWKS.`,
      )
    }
  }
  return publicKeyResolver(options.publicKey!)
}

function publicKeyResolver(publicKey: KeyObject | PublicKeyEntry[]): JWTVerifyGetKey | KeyObject {
  if (!Array.isArray(publicKey)) return publicKey
  return publishedKeyResolver(publicKey)
}

function jwksUrl(value: string | URL, who: string): URL {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new InvalidInputError(
      `${who}: jwks "${String(value).slice(0, 100)}" is not a URL; give the http(s) URL of the JWKS (e.g. http://127.0.0.1:9000/.well-known/jwks.json), a JWK Set object, or a key resolver.`,
    )
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new InvalidInputError(`${who}: the jwks URL must be http or https, not ${url.protocol}`)
  return url
}

/** The options, checked: every problem is one InvalidInputError naming the option (never a jose or TypeError stack). */
function checkOptions(options: VerifyAccessTokenOptions, who: string): VerifyAccessTokenOptions {
  if (typeof options !== 'object' || options === null)
    throw new InvalidInputError(`${who} needs an options object: {issuer, jwks} or {authority}.`)
  const fail = (message: string): never => {
    throw new InvalidInputError(`${who}: ${message}`)
  }
  if (options.authority === undefined) {
    if (typeof options.issuer !== 'string' || options.issuer === '')
      fail('issuer is required (the issuer the tokens name, e.g. http://127.0.0.1:9000), unless an authority is given.')
    if (options.jwks === undefined && options.publicKey === undefined)
      fail(
        'jwks is required (the JWKS URL, e.g. http://127.0.0.1:9000/.well-known/jwks.json, a JWK Set or a key resolver), unless an authority is given.',
      )
  } else if (
    typeof options.authority !== 'object' ||
    options.authority === null ||
    typeof options.authority.signingKeys !== 'function'
  ) {
    fail('authority must be a passport Authority.')
  }
  if (
    options.jwks !== undefined &&
    typeof options.jwks !== 'function' &&
    typeof options.jwks !== 'string' &&
    !(options.jwks instanceof URL) &&
    (typeof options.jwks !== 'object' || options.jwks === null)
  ) {
    fail('jwks must be a JWK Set, a key resolver function, or the http(s) URL of a JWKS.')
  }
  if (options.resource !== undefined) {
    // The one RFC 8707 resource rule (core/uris.ts), as config, serve --resource and the endpoints apply it.
    const problem =
      typeof options.resource === 'string'
        ? resourceUriProblem(options.resource)
        : `${JSON.stringify(options.resource)} is not a string.`
    if (problem !== undefined)
      fail(`resource must be an absolute URL without a fragment (the protected resource's identifier): ${problem}`)
  }
  const audience = options.audience
  if (
    audience !== undefined &&
    !(typeof audience === 'string' && audience !== '') &&
    !(Array.isArray(audience) && audience.length > 0 && audience.every((a) => typeof a === 'string' && a !== ''))
  ) {
    fail('audience must be a non-empty string or a non-empty list of them.')
  }
  if (
    options.scopes !== undefined &&
    !(Array.isArray(options.scopes) && options.scopes.every((s) => typeof s === 'string' && s !== '' && !/\s/.test(s)))
  ) {
    fail('scopes must be a list of scope names (strings without spaces).')
  }
  return options
}

function describeJoseError(
  error: unknown,
  issuer: string,
  audience: string | string[] | undefined,
): {message: string; reason: InvalidTokenReason} {
  if (error instanceof joseErrors.JWTExpired) return {message: 'The token has expired.', reason: 'expired'}
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return {message: `The token's issuer is not ${issuer}.`, reason: 'issuer'}
    if (error.claim === 'aud')
      return {
        message: `The token is meant for another audience (this resource accepts ${[audience ?? []].flat().join(', ')}).`,
        reason: 'audience',
      }
    if (error.claim === 'typ')
      return {
        message: 'The token is not an access token (its typ is not at+jwt; id tokens are not accepted).',
        reason: 'type',
      }
    if (error.reason === 'missing') return {message: `The token is missing the ${error.claim} claim.`, reason: 'claim'}
    return {message: `The token's ${error.claim} claim is invalid (${error.reason}).`, reason: 'claim'}
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed)
    return {
      message: `The token is not signed with an accepted algorithm (${SIGNING_ALGORITHMS.join(', ')}).`,
      reason: 'algorithm',
    }
  if (error instanceof joseErrors.JWKSNoMatchingKey) {
    return error.message.includes(' signs ')
      ? {message: `The token's alg is not the one its key is published for (${error.message}).`, reason: 'algorithm'}
      : {message: 'The token is signed by a key this authority does not publish (unknown kid).', reason: 'unknown_key'}
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed)
    return {message: 'The token signature does not verify.', reason: 'signature'}
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid)
    return {message: 'The token is not a well-formed JWT.', reason: 'malformed'}
  if (error instanceof joseErrors.JOSENotSupported)
    return {message: 'The token uses an unsupported algorithm or key.', reason: 'algorithm'}
  return {message: 'The token could not be verified.', reason: 'malformed'}
}
