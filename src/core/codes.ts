import {randomToken, sha256} from './crypto.js'
import {uuidv7} from './ids.js'
import type {AuthCodeRow} from '../store/auth-codes.js'
import type {Store} from '../store/index.js'

export interface NewAuthorizationCode {
  clientId: string
  userId: string
  scopes: string[]
  /** The redirect_uri parameter as sent to /authorize; null when it was omitted. */
  redirectUri: string | null
  codeChallenge: string | null
  codeChallengeMethod: 'S256' | null
  nonce: string | null
  /** RFC 8707 resources the authorization was for; null for none. */
  resource: string[] | null
  /** RFC 9449 §10 `dpop_jkt`: the key the code's tokens must be bound to. */
  dpopJkt?: string | null
  authTime: number | null
}

/**
 * Issues an authorization code (RFC 6749 §4.1.2): 256 random bits, base64url, single-use, stored
 * only as its SHA-256. Returns the code to put in the redirect.
 */
export function createAuthorizationCode(
  store: Store,
  input: NewAuthorizationCode,
  ttl: number,
  now = Date.now(),
): {code: string; row: AuthCodeRow} {
  const code = randomToken()
  const row: AuthCodeRow = {
    id: uuidv7(now),
    codeHash: sha256(code),
    ...input,
    dpopJkt: input.dpopJkt ?? null,
    redeemedAt: null,
    revokedAt: null,
    createdAt: now,
    expiresAt: now + ttl,
  }
  store.authCodes.insert(row)
  return {code, row}
}
