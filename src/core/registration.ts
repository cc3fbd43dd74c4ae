import {timingSafeEqual} from 'node:crypto'

import {GRANT_AUTHORIZATION_CODE, GRANT_CLIENT_CREDENTIALS, GRANT_DEVICE_CODE, GRANT_REFRESH_TOKEN} from './clients.js'
import {isLoopbackHost, validateRedirectUri} from './uris.js'
import {knownScopes, type PassportConfig} from './config.js'
import {randomToken, sha256} from './crypto.js'
import {OAuthError} from '../errors.js'
import {literalAddressProblem} from './fenced-fetch.js'
import {uuidv7} from './ids.js'
import {parseScope} from './scopes.js'
import type {ClientRow} from '../store/clients.js'
import type {Store} from '../store/index.js'

/**
 * RFC 7591 dynamic client registration. Anyone who can reach `{prefix}/register` may register
 * (unless an initial access token is configured), so what a registration may hold is bounded:
 * at most {@link MAX_REGISTERED_CLIENTS} registered clients (the oldest registration makes room
 * for a new one), and every list and string has a size limit.
 */

/** Registered clients kept at most; registering one more deletes the oldest registration (with its tokens). */
export const MAX_REGISTERED_CLIENTS = 1000

export const TOKEN_ENDPOINT_AUTH_METHODS = [
  'none',
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
] as const
export type TokenEndpointAuthMethod = (typeof TOKEN_ENDPOINT_AUTH_METHODS)[number]

/** Grants a registration may ask for (RFC 7591 §2 `grant_types`). */
export const REGISTRABLE_GRANTS: readonly string[] = [
  GRANT_AUTHORIZATION_CODE,
  GRANT_REFRESH_TOKEN,
  GRANT_CLIENT_CREDENTIALS,
  GRANT_DEVICE_CODE,
]

const LIMITS = {string: 2000, name: 255, redirectUris: 20, contacts: 10, jwksKeys: 10, jwksBytes: 16_384}

/** What a registration answer and `client:show` say about a registered client (RFC 7591 §3.2.1). */
export interface RegisteredClientMetadata {
  client_id: string
  client_id_issued_at: number
  client_secret?: string
  client_secret_expires_at?: 0
  redirect_uris: string[]
  post_logout_redirect_uris?: string[]
  token_endpoint_auth_method: TokenEndpointAuthMethod
  grant_types: string[]
  response_types: string[]
  client_name: string
  application_type: 'web' | 'native'
  scope?: string
  jwks?: {keys: Record<string, unknown>[]}
  jwks_uri?: string
  client_uri?: string
  logo_uri?: string
  contacts?: string[]
  software_id?: string
  software_version?: string
}

export const invalidClientMetadata = (description: string) => new OAuthError('invalid_client_metadata', description)
export const invalidRedirectUri = (description: string) => new OAuthError('invalid_redirect_uri', description)

/**
 * Checks a registration request (the parsed JSON body) and returns the client row to store and the
 * 201 answer. Unknown members are ignored (RFC 7591 §2); a known member of the wrong type or an
 * inconsistent combination is `invalid_client_metadata`, a bad redirect URI `invalid_redirect_uri`.
 */
export function checkRegistration(
  config: PassportConfig,
  body: unknown,
  now = Date.now(),
): {client: ClientRow; answer: RegisteredClientMetadata} {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw invalidClientMetadata(
      'The registration request must be a JSON object of client metadata (RFC 7591 section 2).',
    )
  const input = body as Record<string, unknown>
  const member = (name: string): unknown => (Object.hasOwn(input, name) ? input[name] : undefined)

  const text = (name: string, max = LIMITS.string): string | undefined => {
    const value = member(name)
    if (value === undefined || value === null) return undefined
    if (typeof value !== 'string') throw invalidClientMetadata(`${name} must be a string.`)
    if (value.length > max) throw invalidClientMetadata(`${name} must be at most ${max} characters.`)
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x1f\x7f]/.test(value)) throw invalidClientMetadata(`${name} must not contain control characters.`)
    return value
  }
  const list = (name: string, max: number): string[] | undefined => {
    const value = member(name)
    if (value === undefined || value === null) return undefined
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string'))
      throw invalidClientMetadata(`${name} must be an array of strings.`)
    if (value.length > max) throw invalidClientMetadata(`${name} may list at most ${max} values.`)
    for (const v of value) {
      if (v.length > LIMITS.string)
        throw invalidClientMetadata(`Each value of ${name} must be at most ${LIMITS.string} characters.`)
    }
    return [...new Set(value)]
  }
  const webUrl = (name: string): string | undefined => {
    const value = text(name)
    if (value === undefined) return undefined
    let url: URL
    try {
      url = new URL(value)
    } catch {
      throw invalidClientMetadata(`${name} must be an absolute http(s) URL.`)
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw invalidClientMetadata(`${name} must be an http(s) URL, not ${url.protocol}.`)
    return value
  }

  const applicationType = text('application_type') ?? 'web'
  if (applicationType !== 'web' && applicationType !== 'native')
    throw invalidClientMetadata(`application_type must be "web" or "native", not "${applicationType}".`)

  const method = text('token_endpoint_auth_method') ?? 'client_secret_basic'
  if (!(TOKEN_ENDPOINT_AUTH_METHODS as readonly string[]).includes(method)) {
    throw invalidClientMetadata(
      `token_endpoint_auth_method "${method}" is not supported; use one of ${TOKEN_ENDPOINT_AUTH_METHODS.join(', ')}.`,
    )
  }
  const authMethod = method as TokenEndpointAuthMethod

  const grantTypes = list('grant_types', 10) ?? [GRANT_AUTHORIZATION_CODE]
  if (grantTypes.length === 0) throw invalidClientMetadata('grant_types must name at least one grant.')
  for (const grant of grantTypes) {
    if (!REGISTRABLE_GRANTS.includes(grant))
      throw invalidClientMetadata(`grant_types: "${grant}" is not supported; use ${REGISTRABLE_GRANTS.join(', ')}.`)
  }
  const responseTypes = list('response_types', 5) ?? (grantTypes.includes(GRANT_AUTHORIZATION_CODE) ? ['code'] : [])
  for (const type of responseTypes)
    if (type !== 'code') throw invalidClientMetadata(`response_types: "${type}" is not supported; only "code" is.`)
  if (grantTypes.includes(GRANT_AUTHORIZATION_CODE) && !responseTypes.includes('code')) {
    throw invalidClientMetadata(
      'grant_types includes authorization_code, so response_types must include "code" (RFC 7591 section 2.1).',
    )
  }
  if (responseTypes.includes('code') && !grantTypes.includes(GRANT_AUTHORIZATION_CODE)) {
    throw invalidClientMetadata(
      'response_types includes "code", so grant_types must include authorization_code (RFC 7591 section 2.1).',
    )
  }
  if (grantTypes.includes(GRANT_REFRESH_TOKEN) && grantTypes.length === 1) {
    throw invalidClientMetadata(
      'grant_types has refresh_token alone; it needs a grant that issues refresh tokens (authorization_code or the device code grant).',
    )
  }
  if (authMethod === 'none' && grantTypes.includes(GRANT_CLIENT_CREDENTIALS)) {
    throw invalidClientMetadata(
      'A client with token_endpoint_auth_method "none" cannot use the client_credentials grant; register a confidential client.',
    )
  }

  const redirectUris = list('redirect_uris', LIMITS.redirectUris) ?? []
  if (grantTypes.includes(GRANT_AUTHORIZATION_CODE) && redirectUris.length === 0) {
    throw invalidRedirectUri('redirect_uris must list at least one redirect URI for the authorization_code grant.')
  }
  for (const uri of redirectUris) checkRegisteredRedirectUri(uri, applicationType)
  // RP-Initiated Logout 1.0 §3.1: the redirect URI rules, but a bad one is invalid_client_metadata.
  const postLogoutRedirectUris = list('post_logout_redirect_uris', LIMITS.redirectUris) ?? []
  if (postLogoutRedirectUris.length > 0 && !grantTypes.includes(GRANT_AUTHORIZATION_CODE)) {
    throw invalidClientMetadata(
      'post_logout_redirect_uris needs the authorization_code grant: without a sign-in there is no logout to return from.',
    )
  }
  for (const uri of postLogoutRedirectUris)
    checkRegisteredRedirectUri(uri, applicationType, 'post_logout_redirect_uris')

  const jwks = member('jwks')
  const jwksUri = webUrl('jwks_uri')
  if (jwks !== undefined && jwks !== null && jwksUri !== undefined)
    throw invalidClientMetadata('Send either jwks or jwks_uri, not both (RFC 7591 section 2).')
  const keySet = jwks === undefined || jwks === null ? undefined : checkJwks(jwks)
  if (jwksUri !== undefined) {
    const url = new URL(jwksUri)
    if (url.protocol !== 'https:' && !isLoopbackHost(url.hostname))
      throw invalidClientMetadata('jwks_uri must be an https URL (http only on localhost or a loopback address).')
    // A host name is checked at every fetch (core/fenced-fetch.ts); an address literal can be refused now.
    const problem = literalAddressProblem(url, config.clientIdMetadataDocuments.allowPrivateNetworks)
    if (problem !== undefined) throw invalidClientMetadata(`jwks_uri ${jwksUri} cannot be used: ${problem}.`)
  }
  if (authMethod === 'private_key_jwt' && keySet === undefined && jwksUri === undefined) {
    throw invalidClientMetadata(
      'token_endpoint_auth_method "private_key_jwt" needs the client\'s public keys: send jwks or jwks_uri.',
    )
  }

  const scope = text('scope')
  const scopes = scope === undefined ? null : parseScope(scope)
  if (scopes) {
    const known = knownScopes(config)
    const unknown = scopes.filter((s) => !Object.hasOwn(known, s))
    if (unknown.length > 0)
      throw invalidClientMetadata(
        `scope names unknown scope${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; known: ${Object.keys(known).join(', ')}.`,
      )
  }

  const clientName = text('client_name', LIMITS.name)
  const clientUri = webUrl('client_uri')
  const logoUri = webUrl('logo_uri')
  const contacts = list('contacts', LIMITS.contacts)
  const softwareId = text('software_id')
  const softwareVersion = text('software_version')

  const id = uuidv7(now)
  const confidential = authMethod !== 'none'
  const secret = authMethod === 'client_secret_basic' || authMethod === 'client_secret_post' ? randomToken() : undefined
  const name =
    clientName !== undefined && clientName.trim() !== ''
      ? clientName.trim()
      : clientUri !== undefined
        ? new URL(clientUri).host
        : 'Registered client'
  const metadata: Record<string, unknown> = {application_type: applicationType, response_types: responseTypes}
  if (scope !== undefined) metadata.scope = scopes!.join(' ')
  if (clientName !== undefined) metadata.client_name = clientName
  if (clientUri !== undefined) metadata.client_uri = clientUri
  if (logoUri !== undefined) metadata.logo_uri = logoUri
  if (contacts !== undefined) metadata.contacts = contacts
  if (softwareId !== undefined) metadata.software_id = softwareId
  if (softwareVersion !== undefined) metadata.software_version = softwareVersion

  const client: ClientRow = {
    id,
    name,
    secretHash: secret === undefined ? null : sha256(secret),
    type: confidential ? 'confidential' : 'public',
    grantTypes,
    redirectUris,
    ...(postLogoutRedirectUris.length > 0 ? {postLogoutRedirectUris} : {}),
    // The registered scope is remembered (metadata) and echoed, but does not cap later requests:
    // MCP clients register with the scope of their first challenge and must be able to step up
    // to more (MCP authorization, step-up flow); each authorization still asks for consent.
    scopes: null,
    autoApprove: false,
    source: 'registered',
    createdAt: now,
    updatedAt: now,
    tokenEndpointAuthMethod: authMethod,
    jwks: keySet ?? null,
    jwksUri: jwksUri ?? null,
    metadata,
  }
  return {client, answer: registrationAnswer(client, secret)}
}

/** The RFC 7591 §3.2.1 answer for a registered client: every registered member, the secret only when just issued. */
export function registrationAnswer(client: ClientRow, secret?: string): RegisteredClientMetadata {
  const meta = client.metadata ?? {}
  const answer: RegisteredClientMetadata = {
    client_id: client.id,
    client_id_issued_at: Math.floor(client.createdAt / 1000),
    ...(secret === undefined ? {} : {client_secret: secret, client_secret_expires_at: 0 as const}),
    redirect_uris: [...client.redirectUris],
    ...(client.postLogoutRedirectUris?.length ? {post_logout_redirect_uris: [...client.postLogoutRedirectUris]} : {}),
    token_endpoint_auth_method: (client.tokenEndpointAuthMethod ??
      (client.type === 'public' ? 'none' : 'client_secret_basic')) as TokenEndpointAuthMethod,
    grant_types: [...client.grantTypes],
    response_types:
      (meta.response_types as string[] | undefined) ??
      (client.grantTypes.includes(GRANT_AUTHORIZATION_CODE) ? ['code'] : []),
    client_name: client.name,
    application_type: (meta.application_type as 'web' | 'native' | undefined) ?? 'web',
  }
  if (typeof meta.scope === 'string') answer.scope = meta.scope
  else if (client.scopes !== null) answer.scope = client.scopes.join(' ')
  if (client.jwks) answer.jwks = client.jwks
  if (client.jwksUri) answer.jwks_uri = client.jwksUri
  for (const key of ['client_uri', 'logo_uri', 'software_id', 'software_version'] as const) {
    if (typeof meta[key] === 'string') answer[key] = meta[key]
  }
  if (Array.isArray(meta.contacts)) answer.contacts = meta.contacts as string[]
  return answer
}

/**
 * Stores a registered client. At {@link MAX_REGISTERED_CLIENTS} the oldest registrations are
 * deleted first (with their tokens and codes), in the same transaction.
 */
export function saveRegisteredClient(
  store: Store,
  client: ClientRow,
  limit = MAX_REGISTERED_CLIENTS,
): {evicted: string[]} {
  return store.transaction(() => {
    const excess = store.clients.countBySource('registered') - limit + 1
    const evicted = excess > 0 ? store.clients.oldestBySource('registered', excess) : []
    for (const id of evicted) store.clients.delete(id)
    store.clients.insert(client)
    return {evicted}
  })
}

/** RFC 7591 §3: the initial access token, compared in constant time; true when none is configured. */
export function initialAccessTokenMatches(config: PassportConfig, authorization: string | undefined): boolean {
  const expected = config.registration.initialAccessToken
  if (expected === undefined) return true
  const match = /^bearer +([\x21-\x7e]+) *$/i.exec(authorization ?? '')
  const presented = Buffer.from(sha256(match?.[1] ?? ''))
  return timingSafeEqual(presented, Buffer.from(sha256(expected))) && match !== null
}

/**
 * A registered redirect URI (RFC 7591 §2, RFC 8252): absolute, no fragment; `web` clients use
 * https, or http on localhost and loopback addresses; `native` clients may also use a private-use
 * scheme (`com.example.app:/callback`). A bad `redirect_uris` value is `invalid_redirect_uri`, a
 * bad `post_logout_redirect_uris` value `invalid_client_metadata` naming the member.
 */
function checkRegisteredRedirectUri(
  uri: string,
  applicationType: 'web' | 'native',
  member: 'redirect_uris' | 'post_logout_redirect_uris' = 'redirect_uris',
): void {
  const postLogout = member === 'post_logout_redirect_uris'
  const refuse = (message: string) =>
    postLogout ? invalidClientMetadata(`post_logout_redirect_uris: ${message}`) : invalidRedirectUri(message)
  try {
    validateRedirectUri(uri, false, postLogout ? 'Post-logout redirect URI' : 'Redirect URI')
  } catch (error) {
    throw refuse((error as Error).message.replace('; use https, or pass --allow-insecure-redirect.', '; use https.'))
  }
  const scheme = new URL(uri).protocol
  if (applicationType === 'web' && scheme !== 'https:' && scheme !== 'http:') {
    throw refuse(
      `${postLogout ? 'Post-logout redirect URI' : 'Redirect URI'} "${uri}" uses the ${scheme} scheme; a web client uses http(s) (register application_type "native" for a private-use scheme).`,
    )
  }
}

const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']

/** A JWK Set of public keys (RFC 7517 §5): at most a few keys, no private or symmetric members. */
function checkJwks(value: unknown): {keys: Record<string, unknown>[]} {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalidClientMetadata('jwks must be a JWK Set: an object with a "keys" array.')
  const keys = (value as {keys?: unknown}).keys
  if (!Array.isArray(keys) || keys.length === 0) throw invalidClientMetadata('jwks must have a non-empty "keys" array.')
  if (keys.length > LIMITS.jwksKeys) throw invalidClientMetadata(`jwks may hold at most ${LIMITS.jwksKeys} keys.`)
  if (JSON.stringify(value).length > LIMITS.jwksBytes)
    throw invalidClientMetadata(`jwks must be at most ${LIMITS.jwksBytes} bytes.`)
  keys.forEach((key: unknown, index) => {
    if (typeof key !== 'object' || key === null || Array.isArray(key))
      throw invalidClientMetadata(`jwks.keys[${index}] must be a JWK object.`)
    const jwk = key as Record<string, unknown>
    if (jwk.kty !== 'RSA' && jwk.kty !== 'EC' && jwk.kty !== 'OKP')
      throw invalidClientMetadata(`jwks.keys[${index}].kty must be RSA, EC or OKP (a public key).`)
    const secret = PRIVATE_JWK_MEMBERS.find((name) => Object.hasOwn(jwk, name))
    if (secret !== undefined)
      throw invalidClientMetadata(
        `jwks.keys[${index}] holds the private member "${secret}"; register public keys only.`,
      )
  })
  return {keys: keys as Record<string, unknown>[]}
}
