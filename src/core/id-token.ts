import {createHash} from 'node:crypto'

import type {PassportConfig} from './config.js'
import {signJwtRs256} from './jws.js'
import type {SigningKeys} from './keys.js'

/** OpenID Connect Core §5.1 claims released by the `profile` scope. */
export const PROFILE_CLAIMS = [
  'name',
  'family_name',
  'given_name',
  'middle_name',
  'nickname',
  'preferred_username',
  'profile',
  'picture',
  'website',
  'gender',
  'birthdate',
  'zoneinfo',
  'locale',
  'updated_at',
] as const

/** Standard claims of scopes passport does not offer (`address`, `phone`): never released. */
const OTHER_STANDARD_CLAIMS = new Set(['address', 'phone_number', 'phone_number_verified', 'email', 'email_verified'])

/** Claims passport sets itself in id tokens and userinfo; configured user claims cannot replace them. */
const PROTOCOL_CLAIMS = new Set(['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti', 'auth_time', 'nonce', 'at_hash', 'c_hash', 'azp', 'acr', 'amr', 'sid', 'typ', 'client_id', 'scope', 'scopes', 'cnf'])

/**
 * The claims about user `sub` that the granted scopes release, from `config.users`:
 * `profile` → `name` and the other profile claims found in the user's `claims`; `email` →
 * `email` and `email_verified`; custom (non-standard) claims with `openid` itself. An unknown
 * subject has no claims beyond `sub`.
 */
export function userClaims(config: Pick<PassportConfig, 'users'>, sub: string, scopes: readonly string[]): Record<string, unknown> {
  const user = Object.hasOwn(config.users, sub) ? config.users[sub] : undefined
  if (!user) return {}
  const extra = user.claims ?? {}
  const claims: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(extra)) {
    if (PROTOCOL_CLAIMS.has(name) || OTHER_STANDARD_CLAIMS.has(name) || (PROFILE_CLAIMS as readonly string[]).includes(name)) continue
    claims[name] = value
  }
  // The seed's wildcard scope (personal access tokens) releases everything.
  const has = (scope: string) => scopes.includes(scope) || scopes.includes('*')
  if (has('profile')) {
    for (const name of PROFILE_CLAIMS) if (extra[name] !== undefined) claims[name] = extra[name]
    if (user.name !== undefined) claims.name = user.name
  }
  if (has('email') && user.email !== undefined) {
    claims.email = user.email
    claims.email_verified = user.email_verified ?? false
  }
  return claims
}

export interface IdTokenInput {
  clientId: string
  userId: string
  scopes: readonly string[]
  /** The access token issued with it, for `at_hash`. */
  accessToken: string
  /** When the user signed in, Unix ms. */
  authTime: number | null
  nonce: string | null
  ttl: number
  now: number
}

/** `at_hash` (OIDC Core §3.1.3.6): base64url of the left half of SHA-256 of the access token. */
export function accessTokenHash(accessToken: string): string {
  const digest = createHash('sha256').update(accessToken, 'ascii').digest()
  return digest.subarray(0, digest.length / 2).toString('base64url')
}

/**
 * Signs an OpenID Connect id token (RS256, `typ: JWT`): never acceptable as an access token,
 * which must be `at+jwt`.
 */
export function signIdToken(issuer: string, keys: SigningKeys, config: Pick<PassportConfig, 'users'>, input: IdTokenInput): Promise<string> {
  const payload: Record<string, unknown> = {...userClaims(config, input.userId, input.scopes), at_hash: accessTokenHash(input.accessToken), azp: input.clientId}
  if (input.authTime !== null) payload.auth_time = Math.floor(input.authTime / 1000)
  if (input.nonce !== null) payload.nonce = input.nonce
  const iat = Math.floor(input.now / 1000)
  // Claim order as jose's SignJWT(payload).setIssuer().setSubject()… would write it.
  payload.iss = issuer
  payload.sub = input.userId
  payload.aud = input.clientId
  payload.iat = iat
  payload.exp = iat + Math.max(1, Math.ceil(input.ttl / 1000))
  return signJwtRs256({typ: 'JWT', kid: keys.kid}, payload, keys.privateKey)
}
