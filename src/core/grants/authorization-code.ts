import {timingSafeEqual} from 'node:crypto'

import {GRANT_AUTHORIZATION_CODE} from '../clients.js'
import {s256, sha256} from '../crypto.js'
import type {VerifiedDpopProof} from '../dpop.js'
import {invalidGrant, invalidRequest} from '../../errors.js'
import {revokeFamily} from '../revocation.js'
import {saveTokens, type TokenResponse} from '../tokens.js'
import type {AuthCodeRow} from '../../store/auth-codes.js'
import type {ClientRow} from '../../store/clients.js'
import type {Store} from '../../store/index.js'
import {planUserGrant, respond} from './common.js'
import type {GrantInput, GrantParams} from './types.js'

/** Parameters this grant reads. */
export const parameters = ['code', 'redirect_uri', 'code_verifier', 'resource'] as const

/** RFC 7636 §4.1: 43–128 characters of the unreserved set. */
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/

/**
 * The authorization code grant (RFC 6749 §4.1.3, RFC 7636 §4.6): the code must be this client's,
 * unexpired, unused, presented with the same redirect URI and the right PKCE verifier. It is
 * redeemed once, by a conditional update in the transaction that saves the tokens; a second
 * redemption revokes everything the first one produced. The binding checks come first, so a
 * replay with a wrong verifier or by another client revokes nothing.
 */
export async function authorizationCodeGrant({
  authority,
  client,
  params,
  dpop,
  now = authority.clock.now(),
}: GrantInput): Promise<TokenResponse> {
  const {store} = authority
  const code = params.require('code')
  const verifier = params.get('code_verifier')
  if (verifier !== undefined && !VERIFIER.test(verifier)) {
    throw invalidRequest('The code_verifier must be 43–128 characters of A–Z, a–z, 0–9 and "-._~" (RFC 7636 §4.1).')
  }

  const row = store.authCodes.findByHash(sha256(code))
  if (!row) throw invalidGrant('The authorization code is unknown.')
  if (row.clientId !== client.id) throw invalidGrant('The authorization code was issued to another client.')
  checkRedirectUri(row, client, params)
  checkVerifier(row, verifier)
  checkDpopBinding(row, dpop)
  if (row.redeemedAt !== null) throw reused(authority.store, row, now)
  if (row.revokedAt !== null) throw invalidGrant('The authorization code has been revoked.')
  if (row.expiresAt <= now) throw invalidGrant('The authorization code has expired; start the authorization again.')

  const keys = await authority.signingKeys()
  const planned = planUserGrant(
    authority,
    {client, params, dpop},
    {
      familyId: row.id,
      userId: row.userId,
      scopes: row.scopes,
      resources: row.resource,
      grantType: GRANT_AUTHORIZATION_CODE,
      madeAt: 'authorization request',
      authTime: row.authTime,
      nonce: row.nonce,
    },
    now,
  )
  const won = store.transaction(() => {
    if (!store.authCodes.redeem(row.id, now)) {
      // Redeemed (or revoked) by a concurrent request since we read it: that is a reuse too.
      revokeReused(store, row, now)
      return false
    }
    saveTokens(store, planned)
    return true
  })
  if (!won) throw invalidGrant(REUSED)
  return respond(authority, keys, planned, {authTime: row.authTime, nonce: row.nonce})
}

const REUSED = 'The authorization code was already used; the tokens issued for it have been revoked.'

function reused(store: Store, row: AuthCodeRow, now: number): Error {
  store.transaction(() => revokeReused(store, row, now))
  return invalidGrant(REUSED)
}

function revokeReused(store: Store, row: AuthCodeRow, now: number): void {
  store.authCodes.revoke(row.id, now)
  revokeFamily(store, row.id, now)
}

/**
 * RFC 6749 §4.1.3: a redirect_uri sent to /authorize must be sent again, identically. A code
 * issued without one may omit it when the client has exactly one registered URI (OAuth 2.1
 * §2.3.2); if sent anyway, it must be that URI.
 */
function checkRedirectUri(row: AuthCodeRow, client: ClientRow, params: GrantParams): void {
  const sent = params.get('redirect_uri')
  if (row.redirectUri !== null) {
    if (sent === undefined)
      throw invalidGrant('The redirect_uri is missing; send the one used in the authorization request.')
    if (sent !== row.redirectUri)
      throw invalidGrant('The redirect_uri differs from the one used in the authorization request.')
    return
  }
  if (sent !== undefined && !(client.redirectUris.length === 1 && client.redirectUris[0] === sent)) {
    throw invalidGrant(
      "The redirect_uri was not part of the authorization request and is not the client's only registered redirect URI.",
    )
  }
}

/** RFC 7636 §4.6, and no PKCE downgrade (RFC 9700 §4.8.2): a verifier for a code without a challenge is refused. */
function checkVerifier(row: AuthCodeRow, verifier: string | undefined): void {
  if (row.codeChallenge === null) {
    if (verifier !== undefined)
      throw invalidGrant('A code_verifier was sent, but the authorization request had no code_challenge.')
    return
  }
  if (verifier === undefined)
    throw invalidGrant('The code_verifier is missing; this code was issued with a PKCE code_challenge.')
  const expected = Buffer.from(row.codeChallenge)
  const actual = Buffer.from(s256(verifier))
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
    throw invalidGrant('The code_verifier does not match the code_challenge (PKCE S256).')
  }
}

/** RFC 9449 §10: a code requested with `dpop_jkt` is redeemed only with a proof made by that key. */
function checkDpopBinding(row: AuthCodeRow, dpop: VerifiedDpopProof | undefined): void {
  if (row.dpopJkt === null) return
  if (dpop === undefined)
    throw invalidGrant(
      'The authorization code is bound to a DPoP key (dpop_jkt); send a DPoP proof made with that key.',
    )
  if (dpop.jkt !== row.dpopJkt)
    throw invalidGrant('The DPoP proof is made with another key than the dpop_jkt of the authorization request.')
}
