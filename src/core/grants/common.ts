import type {Authority} from '../authority.js'
import type {VerifiedDpopProof} from '../dpop.js'
import {GRANT_REFRESH_TOKEN} from '../clients.js'
import {knownScopes} from '../config.js'
import {invalidScope} from '../../errors.js'
import {signIdToken} from '../id-token.js'
import type {SigningKeys} from '../keys.js'
import {assertResourceScopes, audienceOf, narrowResources, validateResources} from '../resources.js'
import {scopeProblem} from '../scopes.js'
import {finishTokens, planTokens, type PlannedTokens, type TokenResponse} from '../tokens.js'
import type {ClientRow} from '../../store/clients.js'
import type {GrantParams} from './types.js'

/** Does the client get refresh tokens with user grants? Only when it has the refresh_token grant. */
export function issuesRefreshTokens(client: Pick<ClientRow, 'grantTypes'>): boolean {
  return client.grantTypes.includes(GRANT_REFRESH_TOKEN)
}

/** Checks requested scopes against the known scopes and the client's allowed ones (`invalid_scope`). */
export function checkScopes(authority: Authority, client: ClientRow, scopes: readonly string[]): void {
  const problem = scopeProblem(scopes, client, knownScopes(authority.config))
  if (problem) throw invalidScope(problem)
}

/**
 * The RFC 8707 `resource` parameters of a token request, checked against what the grant holds:
 * a grant made for resources (a code, a device code, a refresh token) allows those or fewer; a
 * grant made for none allows any registered resource whose scopes cover the granted ones. An
 * empty list means the token's audience stays the client id.
 */
export function grantResources(
  authority: Authority,
  params: GrantParams,
  granted: readonly string[] | null,
  scopes: readonly string[],
  what: string,
): string[] {
  const requested = params.all('resource')
  if (granted !== null && granted.length > 0) return narrowResources(granted, requested, what)
  const resources = validateResources(authority.config.resources, requested)
  assertResourceScopes(authority.config.resources, resources, scopes)
  return resources
}

/**
 * Signs the planned tokens (after the transaction that saved them committed) and, when `openid`
 * is among the granted scopes of a user token, adds an OpenID Connect `id_token`.
 */
export async function respond(
  authority: Authority,
  keys: SigningKeys,
  planned: PlannedTokens,
  oidc: {authTime: number | null; nonce: string | null},
): Promise<TokenResponse> {
  const {response} = await finishTokens(authority.issuer, keys, planned)
  const {userId, scopes, clientId} = planned.accessRow
  if (userId !== null && scopes.includes('openid')) {
    response.id_token = await signIdToken(authority.issuer, keys, authority.config, {
      clientId,
      userId,
      scopes,
      accessToken: response.access_token,
      authTime: oidc.authTime,
      nonce: oidc.nonce,
      ttl: authority.config.idTokensExpireIn,
      now: planned.now,
      loginClaims: authority.loginClaims.get(planned.accessRow.familyId),
    })
  }
  return response
}

/**
 * RFC 9449 §5: the key the refresh token is bound to. Only a public client's: a confidential
 * client's refresh token is already bound to it by its authentication.
 */
export function refreshBinding(
  client: Pick<ClientRow, 'type'>,
  dpop: VerifiedDpopProof | undefined,
): {jkt: string} | Record<string, never> {
  return dpop !== undefined && client.type === 'public' ? {jkt: dpop.jkt} : {}
}

/** The access token's binding: `cnf.jkt` of the proof's key. */
export function accessBinding(dpop: VerifiedDpopProof | undefined): {jkt: string} | Record<string, never> {
  return dpop === undefined ? {} : {jkt: dpop.jkt}
}

/** What a user's grant (an approved authorization code or device code) holds, for {@link planUserGrant}. */
export interface UserGrant {
  /** The code's row id: the family every token of this grant belongs to. */
  familyId: string
  userId: string
  scopes: string[]
  /** The resources the grant was made for (null or empty: none named). */
  resources: readonly string[] | null
  grantType: string
  /** Where the grant was made, for `invalid_target` messages ("authorization request"). */
  madeAt: string
  authTime: number | null
  nonce: string | null
}

/**
 * The tokens a user's grant issues: an access token for the requested resources (the grant's
 * or fewer), bound to the DPoP key when a proof came, and, when the client uses refresh tokens,
 * a refresh token that keeps the whole grant, so a later refresh may ask for any of its resources.
 */
export function planUserGrant(
  authority: Authority,
  {client, params, dpop}: {client: ClientRow; params: GrantParams; dpop: VerifiedDpopProof | undefined},
  grant: UserGrant,
  now: number,
): PlannedTokens {
  const {config} = authority
  const audience = audienceOf(grantResources(authority, params, grant.resources, grant.scopes, grant.madeAt))
  const planned = planTokens(
    {
      client,
      userId: grant.userId,
      scopes: grant.scopes,
      ttl: config.tokensExpireIn,
      grantType: grant.grantType,
      familyId: grant.familyId,
      ...(audience === undefined ? {} : {audience}),
      ...accessBinding(dpop),
      ...(issuesRefreshTokens(client)
        ? {
            refresh: {
              ttl: config.refreshTokensExpireIn,
              authTime: grant.authTime,
              nonce: grant.nonce,
              ...refreshBinding(client, dpop),
            },
          }
        : {}),
    },
    now,
  )
  const whole = grant.resources === null ? undefined : audienceOf(grant.resources)
  if (planned.refreshRow && whole !== undefined) planned.refreshRow.audience = whole
  return planned
}
