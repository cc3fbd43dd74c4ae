import type {Authority} from '../authority.js'
import {GRANT_REFRESH_TOKEN} from '../clients.js'
import {knownScopes} from '../config.js'
import {OAuthError, invalidScope} from '../errors.js'
import {signIdToken} from '../id-token.js'
import type {SigningKeys} from '../keys.js'
import {scopeProblem} from '../scopes.js'
import {finishTokens, type PlannedTokens, type TokenResponse} from '../tokens.js'
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
 * The RFC 8707 `resource` parameter: the audience the access token is for. It must be an
 * absolute URI without a fragment (`invalid_target`).
 */
export function readResource(params: GrantParams): string | undefined {
  const resource = params.get('resource')
  if (resource === undefined) return undefined
  let valid = false
  try {
    new URL(resource)
    valid = !resource.includes('#')
  } catch {
    valid = false
  }
  if (!valid) throw new OAuthError('invalid_target', 'The "resource" parameter must be an absolute URI without a fragment (RFC 8707).')
  return resource
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
    })
  }
  return response
}
