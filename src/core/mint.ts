import type {Authority} from './authority.js'
import {assertCustomClaims} from './claims.js'
import {
  CLI_CLIENT_ID,
  findClient,
  GRANT_CLIENT_CREDENTIALS,
  GRANT_PERSONAL_ACCESS,
  internalClient,
  PERSONAL_ACCESS_CLIENT_ID,
} from './clients.js'
import {parseDuration} from './duration.js'
import {InvalidInputError} from '../errors.js'
import {audienceOf, resourceScopeProblem} from './resources.js'
import {assertScopes} from './scopes.js'
import {assertSubject, assertUserSubject} from './subjects.js'
import {resourceUriProblem} from './uris.js'
import {type IssuedTokens, issueTokens} from './tokens.js'
import type {ClientRow} from '../store/clients.js'

/** Recorded as the grant of a user token minted offline (`passport token --user`, {@link mintToken}). */
export const GRANT_CLI = 'cli'

export interface MintTokenOptions {
  /** Client the token is issued to; default the internal `__cli__` client (created on first use). */
  client?: string
  /** The user the token acts for; omitted, the token is a client-credentials token (`sub` = client id). */
  user?: string
  /** Scopes to grant: known scopes the client is allowed (the wildcard `*` is refused here). */
  scopes?: readonly string[]
  /** Lifetime: milliseconds or a duration string like `"15m"`; default `tokensExpireIn`. */
  ttl?: number | string
  /** Extra claims; reserved ones (`sub`, `exp`, `scope`…) are refused. */
  claims?: Record<string, unknown>
  /** `aud` of the token; default the client id. */
  audience?: string
  /**
   * RFC 8707 resources the token is for (`passport token --resource`): absolute URIs without a
   * fragment; the `aud` becomes the resource (an array for several). A configured resource's
   * `scopes` limit the scopes. Not together with `audience`.
   */
  resources?: readonly string[]
  /** RFC 9449: bind the token to this DPoP key (an RFC 7638 SHA-256 thumbprint): `cnf.jkt`, `token_type: DPoP`. */
  dpopJkt?: string
  now?: number
}

export interface MintedToken extends IssuedTokens {
  clientId: string
  /** Null for a client-credentials token. */
  userId: string | null
  scopes: string[]
}

/**
 * Mints an access token without a server (the library face of `passport token`). It goes through
 * {@link issueTokens}, the function behind the server's client-credentials grant, so the token is
 * recorded in the database and the server's introspection and revocation see it.
 */
export async function mintToken(authority: Authority, options: MintTokenOptions = {}): Promise<MintedToken> {
  checkArguments('mintToken', authority, options)
  const now = options.now ?? authority.clock.now()
  const scopes = uniqueScopes(options.scopes)
  const userId = normalizeUser(options.user)
  const claims = checkClaims(options.claims)
  const ttl =
    options.ttl === undefined ? authority.config.tokensExpireIn : parseDuration(options.ttl, 'The token lifetime (ttl)')
  const resources = [...new Set(options.resources ?? [])]
  for (const resource of resources) {
    const problem = resourceUriProblem(resource)
    if (problem) throw new InvalidInputError(problem.replace(/^resource/, 'The resource'))
  }
  if (resources.length > 0 && options.audience !== undefined)
    throw new InvalidInputError('Give either an audience or resources, not both: a resource becomes the audience.')
  const audience = resources.length > 0 ? audienceOf(resources) : normalizeAudience(options.audience)
  const jkt = normalizeJkt(options.dpopJkt)
  const client = resolveClient(authority, options.client, now)
  if (userId !== null) assertUserSubject(userId, client.id)
  assertScopes(scopes, client, authority.config)
  const resourceProblem = resourceScopeProblem(authority.config.resources, resources, scopes)
  if (resourceProblem) throw new InvalidInputError(resourceProblem)
  const issued = await issueTokens(
    authority,
    {
      client,
      userId,
      scopes,
      ttl,
      grantType: userId === null ? GRANT_CLIENT_CREDENTIALS : GRANT_CLI,
      ...(audience === undefined ? {} : {audience}),
      ...(claims === undefined ? {} : {claims}),
      ...(jkt === undefined ? {} : {jkt}),
    },
    now,
  )
  return {...issued, clientId: client.id, userId, scopes}
}

export interface PersonalAccessTokenOptions {
  /** Shown in `passport token:list`, like a GitHub token's note. */
  name: string
  user: string
  /** Known scopes, or `*` for every scope. */
  scopes?: readonly string[]
  now?: number
}

export interface PersonalAccessToken extends IssuedTokens {
  name: string
  userId: string
  scopes: string[]
}

/**
 * Creates a personal access token (the seed's `user.createToken(name, scopes)`) on the internal
 * `__personal_access__` client, valid for `personalAccessTokensExpireIn`. The plain token is
 * returned once; only its `jti` is stored.
 */
export async function createPersonalAccessToken(
  authority: Authority,
  options: PersonalAccessTokenOptions,
): Promise<PersonalAccessToken> {
  checkArguments('createPersonalAccessToken', authority, options)
  if (typeof options.name !== 'string')
    throw new InvalidInputError("createPersonalAccessToken: options.name must be the token's name (a string).")
  const now = options.now ?? authority.clock.now()
  const name = options.name.trim()
  if (name === '') throw new InvalidInputError('A personal access token needs a non-empty name.')
  if (name.length > 255) throw new InvalidInputError('A personal access token name must be at most 255 characters.')
  const userId = normalizeUser(options.user)
  if (userId === null) throw new InvalidInputError('A personal access token belongs to a user; give --user.')
  const scopes = uniqueScopes(options.scopes)
  const client = internalClient(authority.store, PERSONAL_ACCESS_CLIENT_ID, now)
  assertUserSubject(userId, client.id)
  assertScopes(scopes, client, authority.config, {allowWildcard: true})
  const issued = await issueTokens(
    authority,
    {
      client,
      userId,
      scopes,
      ttl: authority.config.personalAccessTokensExpireIn,
      grantType: GRANT_PERSONAL_ACCESS,
      name,
    },
    now,
  )
  return {...issued, name, userId, scopes}
}

function resolveClient(authority: Authority, id: string | undefined, now: number): ClientRow {
  if (id === undefined || id === CLI_CLIENT_ID) return internalClient(authority.store, CLI_CLIENT_ID, now)
  return findClient(authority.store, id)
}

function uniqueScopes(scopes: readonly string[] | undefined): string[] {
  // Accept "read write" as well as ["read", "write"]: both spellings appear in scripts.
  return [...new Set((scopes ?? []).flatMap((s) => s.split(' ')).filter((s) => s !== ''))]
}

/**
 * The library's callers get one clear error instead of a TypeError from deep inside: the
 * authority first (an {@link Authority} from `Authority.open`), then an options object.
 */
function checkArguments(name: string, authority: unknown, options: unknown): void {
  const looksLikeAuthority =
    typeof authority === 'object' &&
    authority !== null &&
    typeof (authority as Authority).clock?.now === 'function' &&
    typeof (authority as Authority).store === 'object'
  if (!looksLikeAuthority) {
    const optionsFirst =
      typeof authority === 'object' &&
      authority !== null &&
      ['user', 'client', 'scopes', 'ttl', 'name'].some((key) => key in authority)
    throw new InvalidInputError(
      `${name}(authority, options) takes an Authority first (from Authority.open({config, database, keys}))${optionsFirst ? `, then the options: ${name}(authority, {user: 'alice', …})` : `; got ${authority === null ? 'null' : typeof authority}`}.`,
    )
  }
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    throw new InvalidInputError(`${name}: options must be an object such as {user: 'alice', scopes: ['read']}.`)
}

function normalizeUser(user: string | undefined): string | null {
  return user === undefined ? null : assertSubject(user)
}

function normalizeAudience(audience: string | undefined): string | undefined {
  if (audience === undefined) return undefined
  if (audience.trim() === '')
    throw new InvalidInputError('The audience must be a non-empty string (e.g. https://api.example.test).')
  return audience
}

function checkClaims(claims: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (claims === undefined) return undefined
  assertCustomClaims(claims)
  return Object.keys(claims).length === 0 ? undefined : claims
}

function normalizeJkt(jkt: string | undefined): string | undefined {
  if (jkt === undefined) return undefined
  if (!/^[A-Za-z0-9_-]{43}$/.test(jkt))
    throw new InvalidInputError(
      `The DPoP key thumbprint (dpop_jkt) must be the 43-character base64url SHA-256 JWK thumbprint (RFC 7638) of the client's key; got "${jkt.slice(0, 60)}".`,
    )
  return jkt
}
