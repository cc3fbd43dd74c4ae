import {GRANT_CLIENT_CREDENTIALS} from '../clients.js'
import {OIDC_SCOPES} from '../config.js'
import {invalidScope, unauthorizedClient} from '../../errors.js'
import {parseScope} from '../scopes.js'
import {issueTokens, type TokenResponse} from '../tokens.js'
import {audienceOf} from '../resources.js'
import {accessBinding, checkScopes, grantResources} from './common.js'
import type {GrantInput} from './types.js'

/** Parameters this grant reads. */
export const parameters = ['scope', 'resource'] as const

/**
 * The client credentials grant (RFC 6749 §4.4): confidential clients only, no refresh token,
 * `sub` = the client id and no user behind the token. Without a `scope` parameter the token
 * gets no scopes (nothing is granted implicitly); the OpenID Connect scopes need a user and are
 * refused.
 */
export async function clientCredentialsGrant({
  authority,
  client,
  params,
  dpop,
  now = authority.clock.now(),
}: GrantInput): Promise<TokenResponse> {
  if (client.type !== 'confidential') {
    throw unauthorizedClient(`Client ${client.id} is public; the client_credentials grant needs a confidential client.`)
  }
  const scopes = parseScope(params.get('scope'))
  const userScope = scopes.find((scope) => Object.hasOwn(OIDC_SCOPES, scope))
  if (userScope !== undefined)
    throw invalidScope(`Scope "${userScope}" needs a signed-in user and cannot be granted to client credentials.`)
  checkScopes(authority, client, scopes)
  const audience = audienceOf(grantResources(authority, params, null, scopes, 'request'))
  // The same function `passport token` mints with: CLI and server tokens cannot drift apart.
  const {response} = await issueTokens(
    authority,
    {
      client,
      userId: null,
      scopes,
      ttl: authority.config.tokensExpireIn,
      grantType: GRANT_CLIENT_CREDENTIALS,
      ...(audience === undefined ? {} : {audience}),
      ...accessBinding(dpop),
    },
    now,
  )
  return response
}
