import {supportedClaims} from '../../core/claims.js'
import {knownScopes} from '../../core/config.js'
import {
  GRANT_AUTHORIZATION_CODE,
  GRANT_CLIENT_CREDENTIALS,
  GRANT_DEVICE_CODE,
  GRANT_REFRESH_TOKEN,
  GRANT_TOKEN_EXCHANGE,
} from '../../core/clients.js'
import {DPOP_ALGORITHMS} from '../../core/dpop.js'
import {publishedAlgorithms, type SigningKeys} from '../../core/keys.js'
import {ASSERTION_ALGORITHMS} from '../client-assertion.js'
import type {RequestContext} from '../context.js'
import {sendJson} from '../http.js'

/** RFC 8414 and OpenID Connect Discovery metadata: only what the server really supports. */
export function metadata(
  ctx: Pick<RequestContext, 'authority' | 'options' | 'endpoint'>,
  keys?: Pick<SigningKeys, 'publicKeys'>,
): Record<string, unknown> {
  const {authority, options} = ctx
  const served = (group: string) => !options.except.includes(group as never)
  const issuer = authority.issuer
  const meta: Record<string, unknown> = {
    issuer,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: [
      GRANT_AUTHORIZATION_CODE,
      GRANT_CLIENT_CREDENTIALS,
      GRANT_REFRESH_TOKEN,
      GRANT_DEVICE_CODE,
      GRANT_TOKEN_EXCHANGE,
    ],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    token_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGORITHMS],
    scopes_supported: Object.keys(knownScopes(authority.config)),
    subject_types_supported: ['public'],
    // Every algorithm a published key signs with (SPEC §10.7), the active key's first.
    id_token_signing_alg_values_supported: keys ? publishedAlgorithms(keys) : ['RS256'],
    claims_supported: supportedClaims(authority.config),
    authorization_response_iss_parameter_supported: true,
    // OpenID Connect Discovery defaults this one to true; passport has no request objects.
    request_uri_parameter_supported: false,
    end_session_endpoint: ctx.endpoint('/end_session'),
  }
  if (served('authorize')) meta.prompt_values_supported = ['none', 'login', 'consent', 'select_account']
  if (served('authorize')) meta.authorization_endpoint = ctx.endpoint('/authorize')
  if (served('token')) meta.token_endpoint = ctx.endpoint('/token')
  // RFC 9449 §5.1: the token endpoint (and /userinfo) take DPoP proofs made with these.
  if (served('token')) meta.dpop_signing_alg_values_supported = [...DPOP_ALGORITHMS]
  if (served('device')) meta.device_authorization_endpoint = ctx.endpoint('/device/code')
  if (served('revoke')) {
    meta.revocation_endpoint = ctx.endpoint('/revoke')
    meta.revocation_endpoint_auth_methods_supported = [
      'client_secret_basic',
      'client_secret_post',
      'private_key_jwt',
      'none',
    ]
    meta.revocation_endpoint_auth_signing_alg_values_supported = [...ASSERTION_ALGORITHMS]
  }
  if (served('introspect')) {
    meta.introspection_endpoint = ctx.endpoint('/introspect')
    meta.introspection_endpoint_auth_methods_supported = [
      'client_secret_basic',
      'client_secret_post',
      'private_key_jwt',
    ]
    meta.introspection_endpoint_auth_signing_alg_values_supported = [...ASSERTION_ALGORITHMS]
  }
  if (served('userinfo')) meta.userinfo_endpoint = ctx.endpoint('/userinfo')
  if (served('par')) meta.pushed_authorization_request_endpoint = ctx.endpoint('/par')
  if (options.requirePar) meta.require_pushed_authorization_requests = true
  if (authority.config.registration.enabled) meta.registration_endpoint = ctx.endpoint('/register')
  if (authority.config.clientIdMetadataDocuments.enabled) meta.client_id_metadata_document_supported = true
  return meta
}

export async function handleDiscovery(ctx: RequestContext): Promise<void> {
  sendJson(ctx.res, 200, metadata(ctx, await ctx.authority.signingKeys()), {'Cache-Control': 'public, max-age=60'})
}
