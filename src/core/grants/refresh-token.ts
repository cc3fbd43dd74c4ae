import {GRANT_REFRESH_TOKEN} from '../clients.js'
import {sha256} from '../crypto.js'
import {invalidGrant, invalidScope} from '../../errors.js'
import {revokeFamily} from '../revocation.js'
import {parseScope} from '../scopes.js'
import {planTokens, saveTokens, type TokenResponse} from '../tokens.js'
import {audienceList, audienceOf} from '../resources.js'
import {accessBinding, grantResources, refreshBinding, respond} from './common.js'
import type {GrantInput} from './types.js'

/** Parameters this grant reads. */
export const parameters = ['refresh_token', 'scope', 'resource'] as const

const REUSED = 'The refresh token was already used; every token of its family has been revoked.'

/**
 * The refresh token grant with rotation (RFC 6749 §6, OAuth 2.1 §4.3.1): the old pair is
 * revoked and a new one issued in one transaction, by a conditional update that only one caller
 * wins. Presenting a rotated token again revokes the whole family. A narrower `scope` narrows
 * the new access token only; the new refresh token keeps the original scope.
 */
export async function refreshTokenGrant({
  authority,
  client,
  params,
  dpop,
  now = authority.clock.now(),
}: GrantInput): Promise<TokenResponse> {
  const {store, config} = authority
  const token = params.require('refresh_token')
  const row = store.refreshTokens.findByHash(sha256(token))
  if (!row) throw invalidGrant('The refresh token is unknown.')
  if (row.clientId !== client.id) throw invalidGrant('The refresh token was issued to another client.')
  if (row.rotatedAt !== null) {
    store.transaction(() => revokeFamily(store, row.familyId, now))
    throw invalidGrant(REUSED)
  }
  if (row.revokedAt !== null) throw invalidGrant('The refresh token has been revoked.')
  if (row.expiresAt <= now) throw invalidGrant('The refresh token has expired; sign in again.')
  if (row.jkt !== null) {
    // RFC 9449 §5: a bound refresh token is used only with a proof made by its key.
    if (dpop === undefined)
      throw invalidGrant('The refresh token is bound to a DPoP key; send a DPoP proof made with that key.')
    if (dpop.jkt !== row.jkt)
      throw invalidGrant('The DPoP proof is made with another key than the one the refresh token is bound to.')
  }

  const requested = parseScope(params.get('scope'))
  const wider = requested.filter((scope) => !row.scopes.includes(scope))
  if (wider.length > 0) {
    throw invalidScope(
      `The refresh token was not granted ${wider.join(', ')}; a refresh may only keep or narrow the scope (granted: ${row.scopes.join(' ') || 'none'}).`,
    )
  }
  const scopes = requested.length > 0 ? requested : row.scopes

  const granted = row.audience === null ? null : audienceList(row.audience)
  const audience = audienceOf(grantResources(authority, params, granted, scopes, 'grant of the refresh token'))
  const keys = await authority.signingKeys()
  const planned = planTokens(
    {
      client,
      userId: row.userId,
      scopes,
      ttl: config.tokensExpireIn,
      grantType: GRANT_REFRESH_TOKEN,
      familyId: row.familyId,
      ...(audience === undefined ? {} : {audience}),
      ...accessBinding(dpop),
      // The new refresh token keeps the family's binding (a public client's first proof's key).
      refresh: {
        ttl: config.refreshTokensExpireIn,
        authTime: row.authTime,
        nonce: row.nonce,
        ...(row.jkt === null ? refreshBinding(client, dpop) : {jkt: row.jkt}),
      },
    },
    now,
  )
  // The new refresh token carries the original grant (scopes and resources), not the narrowed one.
  planned.refreshRow!.scopes = row.scopes
  planned.refreshRow!.audience = row.audience
  const won = store.transaction(() => {
    if (!store.refreshTokens.rotate(row.id, now)) {
      // Rotated by a concurrent request since we read it: a replay like any other.
      revokeFamily(store, row.familyId, now)
      return false
    }
    store.accessTokens.revoke(row.accessTokenId, now)
    saveTokens(store, planned)
    return true
  })
  if (!won) throw invalidGrant(REUSED)
  return respond(authority, keys, planned, {authTime: row.authTime, nonce: row.nonce})
}
