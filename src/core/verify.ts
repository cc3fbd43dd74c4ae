import type {KeyObject} from 'node:crypto'

import {createLocalJWKSet, errors as joseErrors, type JSONWebKeySet, jwtVerify, type JWTPayload, type JWTVerifyGetKey} from 'jose'

import {InsufficientScopeError, InvalidTokenError} from './errors.js'
import type {PublicKeyEntry} from './keys.js'
import {tokenCan} from './scopes.js'
import type {AccessTokenRow} from '../store/access-tokens.js'
import type {Store} from '../store/index.js'

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
}

export interface VerifyAccessTokenOptions {
  /** The issuer the token must name, byte for byte. */
  issuer: string
  /** Keys to verify with: a JWK Set (e.g. fetched from `/.well-known/jwks.json`), public keys, or a key resolver. */
  jwks?: JSONWebKeySet | JWTVerifyGetKey
  publicKey?: KeyObject | PublicKeyEntry[]
  /** Expected `aud`; by default any audience is accepted. */
  audience?: string
  /** Scopes the token must grant (`*` grants all). */
  scopes?: string[]
  /** With a store, the token must be recorded there and not revoked. */
  store?: Store
  /** Clock for `exp` checks, Unix ms. */
  now?: number
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
}

/**
 * Verifies an RS256 `at+jwt` access token: signature against the published keys, `typ`, issuer,
 * expiry, audience, (with a store) revocation, and the required scopes. Throws
 * {@link InvalidTokenError} or {@link InsufficientScopeError} with one sentence saying why.
 */
export async function verifyAccessToken(token: string, options: VerifyAccessTokenOptions): Promise<VerifiedAccessToken> {
  const key = keyResolver(options)
  let payload: JWTPayload
  try {
    const verified = await jwtVerify(token, key, {
      issuer: options.issuer,
      algorithms: ['RS256'],
      typ: 'at+jwt',
      requiredClaims: ['sub', 'jti', 'exp', 'iat', 'client_id'],
      ...(options.audience === undefined ? {} : {audience: options.audience}),
      ...(options.now === undefined ? {} : {currentDate: new Date(options.now)}),
    })
    payload = verified.payload
  } catch (error) {
    throw new InvalidTokenError(describeJoseError(error, options.issuer))
  }
  const claims = payload as AccessTokenClaims
  if (typeof claims.client_id !== 'string' || typeof claims.jti !== 'string') throw new InvalidTokenError('The token is missing client_id or jti.')
  const scopes = Array.isArray(claims.scopes) ? claims.scopes.filter((s): s is string => typeof s === 'string') : typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : []
  const result: VerifiedAccessToken = {claims, jti: claims.jti, clientId: claims.client_id, userId: claims.sub === claims.client_id ? null : claims.sub, scopes}
  if (options.store) {
    const record = options.store.accessTokens.find(claims.jti)
    if (!record) throw new InvalidTokenError('The token is not recorded by this authority (unknown jti).')
    if (record.revokedAt !== null) throw new InvalidTokenError('The token has been revoked.')
    if (record.clientId !== claims.client_id) throw new InvalidTokenError('The token does not match its record (client_id differs).')
    if (record.expiresAt <= (options.now ?? Date.now())) throw new InvalidTokenError('The token has expired.')
    result.record = record
    // The record, not the claims, says whether a user stands behind the token.
    result.userId = record.userId
  }
  const missing = (options.scopes ?? []).filter((scope) => !tokenCan(scopes, scope))
  if (missing.length > 0) {
    throw new InsufficientScopeError(`The token lacks the scope${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (it has: ${scopes.join(' ') || 'none'}).`, missing)
  }
  return result
}

function keyResolver(options: VerifyAccessTokenOptions): JWTVerifyGetKey | KeyObject {
  if (typeof options.jwks === 'function') return options.jwks
  if (options.jwks) return createLocalJWKSet(options.jwks)
  const publicKey = options.publicKey
  if (!publicKey) throw new TypeError('verifyAccessToken needs jwks or publicKey.')
  if (!Array.isArray(publicKey)) return publicKey
  return (header) => {
    const entry = publicKey.find((k) => k.kid === header.kid)
    if (!entry) throw new joseErrors.JWKSNoMatchingKey(`no published key has kid ${header.kid ?? '(none)'}`)
    return entry.key
  }
}

function describeJoseError(error: unknown, issuer: string): string {
  if (error instanceof joseErrors.JWTExpired) return 'The token has expired.'
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return `The token's issuer is not ${issuer}.`
    if (error.claim === 'aud') return 'The token is meant for another audience.'
    if (error.claim === 'typ') return 'The token is not an access token (its typ is not at+jwt; id tokens are not accepted).'
    if (error.reason === 'missing') return `The token is missing the ${error.claim} claim.`
    return `The token's ${error.claim} claim is invalid (${error.reason}).`
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'The token is not signed with RS256.'
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'The token is signed by a key this authority does not publish (unknown kid).'
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'The token signature does not verify.'
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid) return 'The token is not a well-formed JWT.'
  if (error instanceof joseErrors.JOSENotSupported) return 'The token uses an unsupported algorithm or key.'
  return 'The token could not be verified.'
}
