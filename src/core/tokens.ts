import type {Authority} from './authority.js'
import {assertCustomClaims} from './claims.js'
import {randomToken, sha256} from './crypto.js'
import {InvalidInputError} from '../errors.js'
import {uuidv7} from './ids.js'
import {signJwt} from './jws.js'
import type {SigningKeys} from './keys.js'
import {formatScope} from './scopes.js'
import type {AccessTokenRow} from '../store/access-tokens.js'
import type {ClientRow} from '../store/clients.js'
import type {RefreshTokenRow} from '../store/refresh-tokens.js'
import type {Store} from '../store/index.js'

export interface TokenRequest {
  client: Pick<ClientRow, 'id'>
  /** The user the token acts for; null for client-credentials tokens (then `sub` is the client id). */
  userId: string | null
  scopes: string[]
  /** Lifetime of the access token in milliseconds. */
  ttl: number
  grantType: string
  /** RFC 8707 resource(s) / explicit audience (an array for several); defaults to the client id. */
  audience?: string | string[]
  /** Extra claims (not reserved ones). */
  claims?: Record<string, unknown>
  /** RFC 8693 §4.1 `act`: who acts for the subject (token exchange). */
  act?: ActorClaim
  /** Name of a personal access token. */
  name?: string
  /** The code, device code or refresh family the tokens descend from. */
  familyId?: string
  /**
   * Issue a refresh token too (user tokens only). `jkt` binds it to a DPoP key (RFC 9449 §5:
   * public clients' refresh tokens).
   */
  refresh?: {ttl: number; authTime?: number | null; nonce?: string | null; jkt?: string | null}
  /** RFC 9449: bind the access token to this DPoP key (`cnf.jkt`, `token_type: DPoP`). */
  jkt?: string
}

/** RFC 8693 §4.1: the acting party, and (nested) whoever acted before it. */
export interface ActorClaim {
  sub: string
  act?: ActorClaim
}

/** Tokens planned but not yet signed: the rows to insert and the secrets to hand out. */
export interface PlannedTokens {
  request: TokenRequest
  now: number
  accessRow: Omit<AccessTokenRow, 'revokedAt'>
  refreshRow?: Omit<RefreshTokenRow, 'rotatedAt' | 'revokedAt'>
  refreshToken?: string
}

/** The RFC 6749 §5.1 token response. */
export interface TokenResponse {
  access_token: string
  token_type: 'Bearer' | 'DPoP'
  expires_in: number
  scope: string
  refresh_token?: string
  id_token?: string
  /** RFC 8693 §2.2.1: the type of the token a token exchange issued. */
  issued_token_type?: string
}

export interface IssuedTokens {
  response: TokenResponse
  jti: string
  expiresAt: number
  refreshTokenId?: string
}

/** Creates ids, secrets and rows for a token (pair). Pure: nothing is written yet. */
export function planTokens(request: TokenRequest, now = Date.now()): PlannedTokens {
  if (request.claims) assertCustomClaims(request.claims)
  if (!Number.isSafeInteger(request.ttl) || request.ttl <= 0)
    throw new InvalidInputError('A token lifetime must be a positive number of milliseconds.')
  const jti = uuidv7(now)
  const familyId = request.familyId ?? (request.refresh ? jti : null)
  const planned: PlannedTokens = {
    request,
    now,
    accessRow: {
      id: jti,
      clientId: request.client.id,
      userId: request.userId,
      name: request.name ?? null,
      scopes: request.scopes,
      audience: request.audience ?? request.client.id,
      grantType: request.grantType,
      familyId,
      createdAt: now,
      // JWT times are whole seconds; store the same instant the token states.
      expiresAt: Math.floor(now / 1000) * 1000 + Math.ceil(request.ttl / 1000) * 1000,
    },
  }
  if (request.refresh && request.userId !== null) {
    const refreshToken = randomToken()
    planned.refreshToken = refreshToken
    planned.refreshRow = {
      id: uuidv7(now),
      tokenHash: sha256(refreshToken),
      accessTokenId: jti,
      familyId: familyId!,
      clientId: request.client.id,
      userId: request.userId,
      scopes: request.scopes,
      audience: request.audience ?? null,
      authTime: request.refresh.authTime ?? null,
      nonce: request.refresh.nonce ?? null,
      jkt: request.refresh.jkt ?? null,
      createdAt: now,
      expiresAt: now + request.refresh.ttl,
    }
  }
  return planned
}

/** Inserts the planned rows. Call inside the transaction that makes the grant's state change. */
export function saveTokens(store: Store, planned: PlannedTokens): void {
  store.accessTokens.insert(planned.accessRow)
  if (planned.refreshRow) store.refreshTokens.insert(planned.refreshRow)
}

/** Signs the access token (RFC 9068 `at+jwt`) and assembles the token response. */
export async function finishTokens(issuer: string, keys: SigningKeys, planned: PlannedTokens): Promise<IssuedTokens> {
  const {accessRow, request} = planned
  const accessToken = await signAccessToken(
    issuer,
    keys,
    accessRow,
    request.act === undefined ? request.claims : {...request.claims, act: request.act},
    request.jkt,
  )
  const response: TokenResponse = {
    access_token: accessToken,
    token_type: request.jkt === undefined ? 'Bearer' : 'DPoP',
    // exp − iat: both whole seconds, so the lifetime reads exactly as configured.
    expires_in: Math.round((accessRow.expiresAt - Math.floor(planned.now / 1000) * 1000) / 1000),
    scope: formatScope(accessRow.scopes),
  }
  if (planned.refreshToken) response.refresh_token = planned.refreshToken
  const issued: IssuedTokens = {response, jti: accessRow.id, expiresAt: accessRow.expiresAt}
  if (planned.refreshRow) issued.refreshTokenId = planned.refreshRow.id
  return issued
}

/**
 * Issues an access token (and refresh token when asked): the one function behind
 * `passport token`, personal access tokens and the client-credentials grant.
 */
export async function issueTokens(
  authority: Authority,
  request: TokenRequest,
  now = authority.clock.now(),
): Promise<IssuedTokens> {
  const keys = await authority.signingKeys()
  const planned = planTokens(request, now)
  if (planned.refreshRow) {
    authority.store.transaction(() => saveTokens(authority.store, planned))
    return finishTokens(authority.issuer, keys, planned)
  }
  // A lone access token's row is committed while it is signed, with the rows of the other
  // requests signing meanwhile, and always before the token is returned.
  const commit = authority.store.accessTokens.insertGrouped(planned.accessRow)
  try {
    return await finishTokens(authority.issuer, keys, planned)
  } finally {
    commit()
  }
}

export function signAccessToken(
  issuer: string,
  keys: SigningKeys,
  row: Pick<AccessTokenRow, 'id' | 'clientId' | 'userId' | 'scopes' | 'audience' | 'createdAt' | 'expiresAt'>,
  claims: Record<string, unknown> = {},
  jkt?: string,
): Promise<string> {
  // Claim order as jose's SignJWT(payload).setIssuer().setSubject()… would write it.
  const payload: Record<string, unknown> = {
    ...claims,
    client_id: row.clientId,
    scope: formatScope(row.scopes),
    scopes: row.scopes,
  }
  payload.iss = issuer
  payload.sub = row.userId ?? row.clientId
  payload.aud = row.audience
  payload.jti = row.id
  payload.iat = Math.floor(row.createdAt / 1000)
  payload.exp = Math.floor(row.expiresAt / 1000)
  // RFC 9449 §6.1: a DPoP-bound token names its key's thumbprint.
  if (jkt !== undefined) payload.cnf = {jkt}
  return signJwt(keys.alg, {typ: 'at+jwt', kid: keys.kid}, payload, keys.privateKey)
}
