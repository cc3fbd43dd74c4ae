import {GRANT_DEVICE_CODE} from '../clients.js'
import {sha256} from '../crypto.js'
import {OAuthError, accessDenied, invalidGrant} from '../../errors.js'
import {saveTokens, type TokenResponse} from '../tokens.js'
import {planUserGrant, respond} from './common.js'
import type {GrantInput} from './types.js'

/** Parameters this grant reads. */
export const parameters = ['device_code', 'resource'] as const

/**
 * The device authorization grant's token request (RFC 8628 §3.4–3.5). Every answer but the
 * tokens is a 400: `authorization_pending`, `slow_down` (polled inside the interval: the stored
 * interval grows by 5 s for good), `access_denied`, `expired_token`. An approved code yields
 * tokens exactly once, by a conditional update in the transaction that saves them.
 */
export async function deviceCodeGrant({
  authority,
  client,
  params,
  dpop,
  now = authority.clock.now(),
}: GrantInput): Promise<TokenResponse> {
  const {store} = authority
  const deviceCode = params.require('device_code')
  const row = store.deviceCodes.findByDeviceCodeHash(sha256(deviceCode))
  if (!row) throw invalidGrant('The device_code is unknown.')
  if (row.clientId !== client.id) throw invalidGrant('The device_code was issued to another client.')
  if (row.status === 'redeemed') throw invalidGrant('The device_code was already exchanged for tokens.')
  if (row.status === 'denied') throw accessDenied('The user denied the authorization request.')
  if (row.expiresAt <= now)
    throw new OAuthError('expired_token', 'The device_code has expired; start a new device authorization.')

  if (row.status === 'pending') {
    if (row.lastPolledAt !== null && now - row.lastPolledAt < row.interval * 1000) {
      store.deviceCodes.slowDown(row.id, now)
      throw new OAuthError(
        'slow_down',
        `Polling too fast: wait at least ${row.interval + 5} seconds between requests from now on.`,
      )
    }
    store.deviceCodes.recordPoll(row.id, now)
    throw new OAuthError('authorization_pending', 'The user has not yet approved or denied the request.')
  }

  const keys = await authority.signingKeys()
  const planned = planUserGrant(
    authority,
    {client, params, dpop},
    {
      familyId: row.id,
      userId: row.userId!,
      scopes: row.scopes,
      resources: row.resources ?? null,
      grantType: GRANT_DEVICE_CODE,
      madeAt: 'device authorization',
      authTime: row.decidedAt,
      nonce: null,
    },
    now,
  )
  const won = store.transaction(() => {
    if (!store.deviceCodes.redeem(row.id, now)) return false
    saveTokens(store, planned)
    return true
  })
  if (!won) throw invalidGrant('The device_code was already exchanged for tokens.')
  return respond(authority, keys, planned, {authTime: row.decidedAt, nonce: null})
}
