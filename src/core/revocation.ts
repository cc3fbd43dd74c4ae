import {decodeJwt} from 'jose'

import {sha256} from './crypto.js'
import type {Store} from '../store/index.js'

export interface RevocationResult {
  /** What the presented value turned out to be. */
  kind: 'access_token' | 'refresh_token' | 'unknown'
  /** Access and refresh tokens newly revoked. */
  accessTokens: number
  refreshTokens: number
}

/**
 * Revokes an access token (JWT or its `jti`) or a refresh token (RFC 7009 §2.1): revoking a
 * refresh token revokes its whole family, access tokens included; revoking an access token also
 * revokes the refresh token issued with it. With `clientId`, only that client's tokens are
 * touched (another client's token counts as unknown, as RFC 7009 asks).
 */
export function revokeToken(
  store: Store,
  value: string,
  options: {clientId?: string; now?: number} = {},
): RevocationResult {
  const now = options.now ?? Date.now()
  return store.transaction(() => {
    const refresh = store.refreshTokens.findByHash(sha256(value))
    if (refresh && (options.clientId === undefined || refresh.clientId === options.clientId)) {
      return {kind: 'refresh_token', ...revokeFamily(store, refresh.familyId, now)}
    }
    const jti = accessTokenId(value)
    const access = jti === undefined ? undefined : store.accessTokens.find(jti)
    if (access && (options.clientId === undefined || access.clientId === options.clientId)) {
      if (access.familyId) return {kind: 'access_token', ...revokeFamily(store, access.familyId, now)}
      return {kind: 'access_token', accessTokens: store.accessTokens.revoke(access.id, now) ? 1 : 0, refreshTokens: 0}
    }
    return {kind: 'unknown', accessTokens: 0, refreshTokens: 0}
  })
}

/** Revokes every refresh and access token of a family (a code's, a device code's or a refresh chain's). */
export function revokeFamily(
  store: Store,
  familyId: string,
  now = Date.now(),
): {accessTokens: number; refreshTokens: number} {
  return {
    refreshTokens: store.refreshTokens.revokeFamily(familyId, now),
    accessTokens: store.accessTokens.revokeFamily(familyId, now),
  }
}

/** The seed's `revokeAllTokens()`: every live token of a user. */
export function revokeAllForUser(
  store: Store,
  userId: string,
  now = Date.now(),
): {accessTokens: number; refreshTokens: number} {
  return store.transaction(() => ({
    accessTokens: store.accessTokens.revokeAllForUser(userId, now),
    refreshTokens: store.refreshTokens.revokeAllForUser(userId, now),
  }))
}

/** The `jti` of a JWT access token (signature not checked: revocation needs only the id), or a bare id. */
function accessTokenId(value: string): string | undefined {
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) return value.toLowerCase()
  if (value.split('.').length !== 3) return undefined
  try {
    const {jti} = decodeJwt(value)
    return typeof jti === 'string' ? jti : undefined
  } catch {
    return undefined
  }
}
