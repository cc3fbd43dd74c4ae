import {createHash} from 'node:crypto'

import {userClaims} from './claims.js'
import type {PassportConfig} from './config.js'
import {signJwt} from './jws.js'
import type {SigningKeys} from './keys.js'

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
  /** Claims added at this sign-in (core/login-claims.ts). */
  loginClaims?: Record<string, unknown> | undefined
}

/** `at_hash` (OIDC Core §3.1.3.6): base64url of the left half of SHA-256 of the access token. */
export function accessTokenHash(accessToken: string): string {
  const digest = createHash('sha256').update(accessToken, 'ascii').digest()
  return digest.subarray(0, digest.length / 2).toString('base64url')
}

/**
 * Signs an OpenID Connect id token (the active key's algorithm, `typ: JWT`): never acceptable as an access token,
 * which must be `at+jwt`.
 */
export function signIdToken(
  issuer: string,
  keys: SigningKeys,
  config: Pick<PassportConfig, 'users' | 'claims'>,
  input: IdTokenInput,
): Promise<string> {
  const payload: Record<string, unknown> = {
    ...userClaims(config, input.userId, input.scopes, input.loginClaims),
    at_hash: accessTokenHash(input.accessToken),
    azp: input.clientId,
  }
  if (input.authTime !== null) payload.auth_time = Math.floor(input.authTime / 1000)
  if (input.nonce !== null) payload.nonce = input.nonce
  const iat = Math.floor(input.now / 1000)
  // Claim order as jose's SignJWT(payload).setIssuer().setSubject()… would write it.
  payload.iss = issuer
  payload.sub = input.userId
  payload.aud = input.clientId
  payload.iat = iat
  payload.exp = iat + Math.max(1, Math.ceil(input.ttl / 1000))
  return signJwt(keys.alg, {typ: 'JWT', kid: keys.kid}, payload, keys.privateKey)
}
