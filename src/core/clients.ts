import {type PassportConfig, knownScopes} from './config.js'
import {matchesHash, randomToken, sha256} from './crypto.js'
import {type JwkSet, jwksProblem, jwksUriProblem} from './client-keys.js'
import {InvalidInputError, NotFoundError, ConflictError} from '../errors.js'
import {uuidv7} from './ids.js'
import {scopeProblem} from './scopes.js'
import {clientIdProblem, validateRedirectUri} from './uris.js'
import type {Store} from '../store/index.js'
import type {ClientRow} from '../store/clients.js'

export const GRANT_AUTHORIZATION_CODE = 'authorization_code'
export const GRANT_CLIENT_CREDENTIALS = 'client_credentials'
export const GRANT_REFRESH_TOKEN = 'refresh_token'
export const GRANT_DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code'
export const GRANT_PERSONAL_ACCESS = 'personal_access'
/** RFC 8693 token exchange: confidential clients trade an access token for another. */
export const GRANT_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'

export const GRANT_TYPES = [
  GRANT_AUTHORIZATION_CODE,
  GRANT_CLIENT_CREDENTIALS,
  GRANT_REFRESH_TOKEN,
  GRANT_DEVICE_CODE,
  GRANT_PERSONAL_ACCESS,
  GRANT_TOKEN_EXCHANGE,
] as const

/** Short names accepted in the config file and on the command line. */
const GRANT_ALIASES: Record<string, string> = {
  device_code: GRANT_DEVICE_CODE,
  device: GRANT_DEVICE_CODE,
  token_exchange: GRANT_TOKEN_EXCHANGE,
  'token-exchange': GRANT_TOKEN_EXCHANGE,
}

export const PERSONAL_ACCESS_CLIENT_ID = '__personal_access__'
export const CLI_CLIENT_ID = '__cli__'
/** The dashboard's "try it" client: public, authorization code + PKCE, redirecting to `{issuer}/demo/callback`. */
export const DEMO_CLIENT_ID = '__demo__'

/** The kinds of client `passport client` makes, as in the seed's flags. */
export type ClientKind = 'standard' | 'public' | 'client-credentials' | 'device' | 'personal'

const KIND_SHAPES: Record<ClientKind, {type: ClientRow['type']; grants: string[]}> = {
  // Confidential clients may exchange tokens (RFC 8693) unless a config file lists their grants.
  standard: {type: 'confidential', grants: [GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN, GRANT_TOKEN_EXCHANGE]},
  public: {type: 'public', grants: [GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN]},
  'client-credentials': {type: 'confidential', grants: [GRANT_CLIENT_CREDENTIALS, GRANT_TOKEN_EXCHANGE]},
  device: {type: 'public', grants: [GRANT_DEVICE_CODE, GRANT_REFRESH_TOKEN]},
  personal: {type: 'confidential', grants: [GRANT_PERSONAL_ACCESS]},
}

export interface NewClient {
  name: string
  kind?: ClientKind
  redirectUris?: string[]
  scopes?: string[]
  id?: string
  autoApprove?: boolean
  /** Allow plain-http redirect URIs on hosts other than localhost and loopback addresses. */
  allowInsecureRedirects?: boolean
  /** private_key_jwt (RFC 7523): the client's public JWK Set, or its URL; such a client has no secret. */
  jwks?: unknown
  jwksUri?: string
  /** RP-Initiated Logout: where `end_session` may send the person afterwards (exact match; redirect URIs count too). */
  postLogoutRedirectUris?: string[]
}

/** A client as shown to users (`--json`): OAuth vocabulary, never a secret hash. */
export interface ClientView {
  client_id: string
  client_secret?: string
  name: string
  type: ClientRow['type']
  grant_types: string[]
  redirect_uris: string[]
  /** Only when the client has some (redirect URIs count as well, see core/logout.ts). */
  post_logout_redirect_uris?: string[]
  scopes: string[] | null
  auto_approve: boolean
  source: ClientRow['source']
  created_at: string
}

export function clientView(client: ClientRow, secret?: string): ClientView {
  return {
    client_id: client.id,
    ...(secret === undefined ? {} : {client_secret: secret}),
    name: client.name,
    type: client.type,
    grant_types: client.grantTypes,
    redirect_uris: client.redirectUris,
    ...(client.postLogoutRedirectUris?.length ? {post_logout_redirect_uris: client.postLogoutRedirectUris} : {}),
    scopes: client.scopes,
    auto_approve: client.autoApprove,
    source: client.source,
    created_at: new Date(client.createdAt).toISOString(),
  }
}

/** Creates a client; returns it with its plain secret (confidential clients), shown once. */
export function createClient(
  store: Store,
  config: PassportConfig,
  input: NewClient,
  now = Date.now(),
): {client: ClientRow; secret?: string} {
  const name = input.name.trim()
  if (name === '') throw new InvalidInputError('A client needs a non-empty name.')
  const kind = input.kind ?? 'standard'
  if (!Object.hasOwn(KIND_SHAPES, kind))
    throw new InvalidInputError(`Unknown client kind "${kind}" (known: ${Object.keys(KIND_SHAPES).join(', ')}).`)
  const shape = KIND_SHAPES[kind]
  const id = input.id ?? uuidv7(now)
  assertClientId(id)
  const redirectUris = (input.redirectUris ?? []).map((uri) => validateRedirectUri(uri, input.allowInsecureRedirects))
  const postLogoutRedirectUris = [...new Set(input.postLogoutRedirectUris ?? [])].map((uri) =>
    validateRedirectUri(uri, input.allowInsecureRedirects, 'Post-logout redirect URI'),
  )
  if (postLogoutRedirectUris.length > 0 && !shape.grants.includes(GRANT_AUTHORIZATION_CODE)) {
    throw new InvalidInputError(
      `--post-logout-redirect-uri is for clients that sign people in (the authorization code grant); a ${kind} client has no sign-in to end.`,
    )
  }
  if (shape.grants.includes(GRANT_AUTHORIZATION_CODE) && redirectUris.length === 0) {
    throw new InvalidInputError(
      `Client "${name}" uses the authorization code grant and needs at least one --redirect-uri.`,
    )
  }
  const scopes = input.scopes && input.scopes.length > 0 ? [...new Set(input.scopes)] : null
  if (scopes) {
    const problem = scopeProblem(scopes, {id, scopes: null}, knownScopes(config))
    if (problem) throw new InvalidInputError(problem)
  }
  const signs = input.jwks !== undefined || input.jwksUri !== undefined
  if (signs) {
    if (shape.type !== 'confidential')
      throw new InvalidInputError(
        'A public client has no keys to sign with; --jwks / --jwks-uri make a confidential client (drop --public / --device).',
      )
    const problem = input.jwks !== undefined ? jwksProblem(input.jwks) : jwksUriProblem(input.jwksUri!)
    if (problem)
      throw new InvalidInputError(
        input.jwks !== undefined
          ? `--jwks must hold ${problem}.`
          : `--jwks-uri ${input.jwksUri} cannot be used: ${problem}.`,
      )
  }
  if (store.clients.find(id)) throw new ConflictError(`A client with id ${id} already exists.`)
  const secret = shape.type === 'confidential' && !signs ? randomToken() : undefined
  const client: ClientRow = {
    id,
    name,
    secretHash: secret === undefined ? null : sha256(secret),
    type: shape.type,
    grantTypes: shape.grants,
    redirectUris,
    scopes,
    autoApprove: input.autoApprove ?? false,
    source: 'cli',
    createdAt: now,
    updatedAt: now,
    ...(signs
      ? {
          tokenEndpointAuthMethod: 'private_key_jwt',
          jwks: (input.jwks as JwkSet | undefined) ?? null,
          jwksUri: input.jwksUri ?? null,
        }
      : {}),
    ...(postLogoutRedirectUris.length > 0 ? {postLogoutRedirectUris} : {}),
  }
  store.clients.insert(client)
  return secret === undefined ? {client} : {client, secret}
}

export function findClient(store: Store, id: string): ClientRow {
  const client = store.clients.find(id)
  if (!client) throw new NotFoundError(`No client with id ${id}; "passport client:list" shows the registered clients.`)
  return client
}

/** Deletes a client and (by cascade) every token, code and device code it holds. */
export function deleteClient(store: Store, id: string): ClientRow {
  return store.transaction(() => {
    const client = findClient(store, id)
    store.clients.delete(id)
    return client
  })
}

/** Replaces a confidential client's secret; the old one stops working at once. */
export function regenerateSecret(store: Store, id: string, now = Date.now()): {client: ClientRow; secret: string} {
  const client = findClient(store, id)
  if (client.type !== 'confidential') throw new InvalidInputError(`Client ${id} is public and has no secret.`)
  if (client.source === 'config')
    throw new InvalidInputError(`Client ${id} comes from the configuration file; change its "secret" there.`)
  const secret = randomToken()
  store.clients.setSecretHash(id, sha256(secret), now)
  return {client: {...client, secretHash: sha256(secret), updatedAt: now}, secret}
}

/** Constant-time check of a presented secret against the stored SHA-256. */
export function secretMatches(client: ClientRow, presented: string): boolean {
  // Compare against a dummy hash for public clients so timing does not reveal the client type.
  return matchesHash(presented, client.secretHash ?? DUMMY_HASH) && client.secretHash !== null
}

const DUMMY_HASH = sha256('passport:no-secret')

/**
 * Returns (and on first use creates) an internal client such as `__cli__` or `__personal_access__`.
 * The demo client `__demo__` needs its redirect URI (`{issuer}/demo/callback`, known once the
 * server listens); it is updated when the issuer changed since the last use.
 */
/** The scopes the dashboard's "try it" flow asks for: the only ones the demo client may get. */
export const DEMO_CLIENT_SCOPES = ['openid', 'profile', 'email'] as const

export function internalClient(
  store: Store,
  id: typeof CLI_CLIENT_ID | typeof PERSONAL_ACCESS_CLIENT_ID,
  now?: number,
): ClientRow
export function internalClient(
  store: Store,
  id: typeof DEMO_CLIENT_ID,
  now: number | undefined,
  redirectUri: string,
): ClientRow
export function internalClient(store: Store, id: string, now = Date.now(), redirectUri?: string): ClientRow {
  const existing = store.clients.find(id)
  // The dashboard's demo client may ask only for what the demo shows (issue 18 finding 2).
  const scopes = id === DEMO_CLIENT_ID ? [...DEMO_CLIENT_SCOPES] : null
  const sameScopes = (existing?.scopes ?? null)?.join(' ') === scopes?.join(' ')
  if (
    existing &&
    sameScopes &&
    (redirectUri === undefined || (existing.redirectUris.length === 1 && existing.redirectUris[0] === redirectUri))
  )
    return existing
  const shapes: Record<string, Pick<ClientRow, 'name' | 'type' | 'grantTypes'>> = {
    [CLI_CLIENT_ID]: {name: 'passport CLI', type: 'confidential', grantTypes: [GRANT_CLIENT_CREDENTIALS]},
    [PERSONAL_ACCESS_CLIENT_ID]: {
      name: 'Personal Access Client',
      type: 'confidential',
      grantTypes: [GRANT_PERSONAL_ACCESS],
    },
    [DEMO_CLIENT_ID]: {name: 'passport demo', type: 'public', grantTypes: [GRANT_AUTHORIZATION_CODE]},
  }
  const shape = shapes[id]
  if (!shape) throw new InvalidInputError(`${id} is not an internal client.`)
  const client: ClientRow = {
    id,
    ...shape,
    secretHash: null,
    redirectUris: redirectUri === undefined ? [] : [validateRedirectUri(redirectUri, true)],
    scopes,
    autoApprove: false,
    source: 'internal',
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
  }
  store.clients.upsert(client)
  return client
}

/**
 * Upserts the configuration file's clients (secrets hashed); idempotent. When the configuration
 * came from a file, clients an earlier run took from a configuration file and that this one no
 * longer lists are deleted with their tokens (a client taken out of the file must stop working);
 * returns their ids. A run without a file (or with a configuration object) deletes nothing.
 */
export function syncConfigClients(store: Store, config: PassportConfig, now = Date.now()): string[] {
  const removable = (): string[] => {
    if (config.file === undefined) return []
    const listed = new Set(config.clients.map((c) => c.id))
    return store.clients
      .list()
      .filter((c) => c.source === 'config' && !listed.has(c.id))
      .map((c) => c.id)
  }
  if (config.clients.length === 0 && removable().length === 0) return []
  const known = knownScopes(config)
  const rows = config.clients.map((c, index): ClientRow => {
    const at = `${config.file ?? 'configuration'}: clients[${index}]`
    const signs = c.jwks !== undefined || c.jwksUri !== undefined
    const type = c.secret === undefined && !signs ? 'public' : 'confidential'
    const grantTypes = (c.grants ?? KIND_SHAPES[type === 'public' ? 'public' : 'standard'].grants).map((g) =>
      Object.hasOwn(GRANT_ALIASES, g) ? GRANT_ALIASES[g]! : g,
    )
    for (const grant of grantTypes) {
      if (!(GRANT_TYPES as readonly string[]).includes(grant))
        throw new InvalidInputError(`${at}.grants: unknown grant "${grant}" (known: ${GRANT_TYPES.join(', ')}).`)
    }
    if (type === 'public' && grantTypes.includes(GRANT_CLIENT_CREDENTIALS)) {
      throw new InvalidInputError(
        `${at}: the client_credentials grant needs a confidential client; give it a "secret" (or "jwks" / "jwksUri" for private_key_jwt).`,
      )
    }
    if (type === 'public' && grantTypes.includes(GRANT_TOKEN_EXCHANGE)) {
      throw new InvalidInputError(`${at}: token exchange needs a confidential client; give it a "secret".`)
    }
    const redirectUris = c.redirectUris.map((uri) => {
      try {
        return validateRedirectUri(uri, true)
      } catch (error) {
        throw new InvalidInputError(`${at}.redirectUris: ${(error as Error).message}`)
      }
    })
    const postLogoutRedirectUris = c.postLogoutRedirectUris?.map((uri) => {
      try {
        return validateRedirectUri(uri, true, 'Post-logout redirect URI')
      } catch (error) {
        throw new InvalidInputError(`${at}.postLogoutRedirectUris: ${(error as Error).message}`)
      }
    })
    if (c.scopes) {
      const problem = scopeProblem(c.scopes, {id: c.id, scopes: null}, known)
      if (problem) throw new InvalidInputError(`${at}.scopes: ${problem}`)
    }
    return {
      id: c.id,
      name: c.name,
      secretHash: c.secret === undefined ? null : sha256(c.secret),
      type,
      grantTypes,
      redirectUris,
      scopes: c.scopes ?? null,
      autoApprove: c.autoApprove,
      source: 'config',
      createdAt: now,
      updatedAt: now,
      ...(signs ? {tokenEndpointAuthMethod: 'private_key_jwt', jwks: c.jwks ?? null, jwksUri: c.jwksUri ?? null} : {}),
      ...(postLogoutRedirectUris ? {postLogoutRedirectUris} : {}),
    }
  })
  return store.transaction(() => {
    for (const row of rows) store.clients.upsert(row)
    const removed = removable()
    for (const id of removed) store.clients.delete(id)
    return removed
  })
}

function assertClientId(id: string): void {
  const problem = clientIdProblem(id)
  if (problem) throw new InvalidInputError(`Client id "${id}" must be ${problem}.`)
}
