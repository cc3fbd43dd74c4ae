import {DEMO_CLIENT_ID, secretMatches} from '../core/clients.js'
import {OAuthError, invalidRequest} from '../errors.js'
import type {ClientRow} from '../store/clients.js'
import {assertionClientId, JWT_BEARER_ASSERTION, type KeyedClient, verifyClientAssertion} from './client-assertion.js'
import type {RequestContext} from './context.js'
import type {Params} from './http.js'
import {isLoopbackPeer} from './peer.js'

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none'

export interface AuthenticatedClient {
  client: ClientRow
  method: ClientAuthMethod
}

/** The challenge every `invalid_client` answer carries (RFC 6749 §5.2). */
export const BASIC_CHALLENGE = {'WWW-Authenticate': 'Basic realm="passport"'} as const

/** The one `invalid_client` for unknown clients and wrong secrets alike: nothing tells them apart. */
const FAILED = 'Client authentication failed: unknown client, wrong secret, or a secret the client does not have.'

export function invalidClient(description = FAILED): OAuthError {
  return new OAuthError('invalid_client', description, 401, {...BASIC_CHALLENGE})
}

/** A client row no one can authenticate as: compared against so unknown ids cost the same time. */
const NOBODY: ClientRow = {
  id: '',
  name: '',
  secretHash: null,
  type: 'confidential',
  grantTypes: [],
  redirectUris: [],
  scopes: null,
  autoApprove: false,
  source: 'internal',
  createdAt: 0,
  updatedAt: 0,
}

/** Does the client authenticate with signed assertions (registered keys, or that method named)? */
export function usesPrivateKeyJwt(client: ClientRow): boolean {
  const keyed = client as KeyedClient
  return (
    keyed.tokenEndpointAuthMethod === 'private_key_jwt' ||
    (!keyed.tokenEndpointAuthMethod && (Boolean(keyed.jwks) || Boolean(keyed.jwksUri)))
  )
}

/**
 * Authenticates the calling client (RFC 6749 §2.3, RFC 7523 §2.2) for the token, device-code,
 * revocation, introspection and PAR endpoints: `client_secret_basic` (credentials form-decoded
 * after base64, §2.3.1), `client_secret_post`, `private_key_jwt` (`client_assertion`), or `none`
 * (a public client naming itself with `client_id`). Two methods at once are `invalid_request`;
 * everything else that fails is `invalid_client` (401).
 */
export async function authenticateClient(
  ctx: Pick<RequestContext, 'req' | 'authority' | 'endpoint'>,
  params: Params,
): Promise<AuthenticatedClient> {
  const req = ctx.req
  const store = ctx.authority.store
  const assertion = params.get('client_assertion')
  const assertionType = params.get('client_assertion_type')
  if (assertion !== undefined || assertionType !== undefined)
    return authenticateByAssertion(ctx, params, assertion, assertionType)

  const basic = readBasicCredentials(req.headers.authorization)
  const bodyId = params.get('client_id')
  const bodySecret = params.get('client_secret')

  let clientId: string
  let secret: string | undefined
  let method: ClientAuthMethod
  if (basic) {
    if (bodySecret !== undefined)
      throw invalidRequest(
        'Client credentials were sent both in the Authorization header and in the body; use one method.',
      )
    if (bodyId !== undefined && bodyId !== basic.id)
      throw invalidRequest('The client_id in the body differs from the one in the Authorization header.')
    clientId = basic.id
    secret = basic.secret
    method = 'client_secret_basic'
  } else {
    if (bodyId === undefined) {
      throw invalidClient(
        bodySecret === undefined
          ? 'No client authentication: send client_id (and client_secret), or HTTP Basic credentials.'
          : 'client_secret was sent without client_id.',
      )
    }
    clientId = bodyId
    secret = bodySecret
    method = secret === undefined ? 'none' : 'client_secret_post'
  }

  const client = store.clients.find(clientId)
  if (secret === undefined) {
    if (client?.type === 'public') {
      if (client.id === DEMO_CLIENT_ID && !isLoopbackPeer(req))
        throw invalidClient(`The built-in client ${DEMO_CLIENT_ID} works only from this machine.`)
      return {client, method: 'none'}
    }
    if (!client) throw invalidClient()
    if (usesPrivateKeyJwt(client))
      throw invalidClient(
        `Client ${client.id} authenticates with private_key_jwt: send client_assertion_type=${JWT_BEARER_ASSERTION} and a signed client_assertion.`,
      )
    throw invalidClient(
      `Client ${client.id} is confidential and must authenticate with its secret (client_secret_basic or client_secret_post).`,
    )
  }
  // Always one constant-time comparison, whether or not the client exists or has a secret.
  const matches = secretMatches(client ?? NOBODY, secret)
  if (!client || !matches) throw invalidClient()
  return {client, method}
}

/** `private_key_jwt` (RFC 7523 §2.2, §3; SPEC §10.6). */
async function authenticateByAssertion(
  ctx: Pick<RequestContext, 'req' | 'authority' | 'endpoint'>,
  params: Params,
  assertion: string | undefined,
  assertionType: string | undefined,
): Promise<AuthenticatedClient> {
  if (assertion === undefined) throw invalidRequest('client_assertion_type was sent without client_assertion.')
  if (assertionType === undefined)
    throw invalidRequest(
      `client_assertion was sent without client_assertion_type (it must be ${JWT_BEARER_ASSERTION}).`,
    )
  if (assertionType !== JWT_BEARER_ASSERTION)
    throw invalidClient(`client_assertion_type must be ${JWT_BEARER_ASSERTION}.`)
  const header = ctx.req.headers.authorization
  if (header !== undefined && header.trim() !== '')
    throw invalidRequest(
      'A client assertion and an Authorization header were both sent; use one client authentication method.',
    )
  if (params.get('client_secret') !== undefined)
    throw invalidRequest('A client assertion and a client_secret were both sent; use one client authentication method.')
  const clientId = assertionClientId(assertion)
  const bodyId = params.get('client_id')
  if (bodyId !== undefined && bodyId !== clientId)
    throw invalidClient(`Client assertion: client_id ${bodyId} differs from the assertion's sub.`)
  const client = ctx.authority.store.clients.find(clientId)
  if (!client) throw invalidClient()
  const keyed = client as KeyedClient
  if (keyed.tokenEndpointAuthMethod && keyed.tokenEndpointAuthMethod !== 'private_key_jwt') {
    throw invalidClient(`Client ${client.id} is registered for ${keyed.tokenEndpointAuthMethod}, not private_key_jwt.`)
  }
  const authority = ctx.authority
  const audiences = [...new Set([authority.issuer, ctx.endpoint('/token'), ctx.endpoint('/par')])]
  await verifyClientAssertion(keyed, assertion, {
    audiences,
    now: authority.clock.now(),
    replay: authority.assertionReplay,
    allowPrivateNetworks: authority.config.clientIdMetadataDocuments.allowPrivateNetworks,
  })
  return {client, method: 'private_key_jwt'}
}

/**
 * The id and secret of an `Authorization: Basic` header, or undefined when there is no
 * Authorization header. Another scheme, bad base64, a missing `:` or bad form-encoding is
 * `invalid_client`.
 */
export function readBasicCredentials(header: string | undefined): {id: string; secret: string | undefined} | undefined {
  if (header === undefined || header.trim() === '') return undefined
  const match = /^basic +([A-Za-z0-9+/=_-]*) *$/i.exec(header)
  if (!match) throw invalidClient('The Authorization header must use the Basic scheme for client authentication.')
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon === -1) throw invalidClient('The Basic credentials are malformed (no ":" between client id and secret).')
  const id = formDecode(decoded.slice(0, colon))
  const secret = formDecode(decoded.slice(colon + 1))
  if (id === undefined || secret === undefined)
    throw invalidClient('The Basic credentials are not properly form-encoded (RFC 6749 §2.3.1).')
  if (id === '') throw invalidClient('The Basic credentials name no client id.')
  return {id, secret: secret === '' ? undefined : secret}
}

/** application/x-www-form-urlencoded decoding of one value; undefined for bad percent-escapes. */
function formDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '))
  } catch {
    return undefined
  }
}
