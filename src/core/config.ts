import {existsSync, readFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'

import {claimMappingProblem, userClaimProblem} from './claims.js'
import {parseDuration} from './duration.js'
import {nameMap} from './names.js'
import {type JwkSet, jwksProblem, jwksUriProblem} from './client-keys.js'
import {ConfigError} from '../errors.js'
import {emptyResources, type ResourceRegistry} from './resources.js'
import {subjectProblem} from './subjects.js'
import {clientIdProblem, ISSUER_RULE, isIssuerUrl, resourceUriProblem} from './uris.js'

export interface UserConfig {
  name?: string
  email?: string
  email_verified?: boolean
  claims?: Record<string, unknown>
}

export type ClientType = 'confidential' | 'public'

export interface ClientConfig {
  id: string
  name: string
  /** Plain secret from the file; stored only as SHA-256. Absent for public clients. */
  secret?: string
  redirectUris: string[]
  grants?: string[]
  scopes?: string[]
  autoApprove: boolean
  /** Refuse this client's plain authorization requests: only pushed ones (RFC 9126) are accepted. */
  requirePar?: boolean
  /** Public keys for private_key_jwt (RFC 7523): a JWK Set, or the URL it is published at. */
  jwks?: JwkSet
  jwksUri?: string
  /** RFC 9449: the client gets only DPoP-bound tokens; a token request without a proof is refused. */
  requireDpop?: boolean
  /** RP-Initiated Logout: the URIs `post_logout_redirect_uri` may name (exact match; redirect URIs count too). */
  postLogoutRedirectUris?: string[]
}

/** The resolved configuration: every value present, lifetimes in milliseconds. */
export interface PassportConfig {
  /** Absolute path of the file it came from, or undefined when none was found. */
  file?: string
  /**
   * Set when the file was found in a parent of the working directory: that file's directory,
   * against which the default `storage/` paths then resolve (as they would next to it).
   */
  foundIn?: string
  issuer?: string
  scopes: Record<string, string>
  tokensExpireIn: number
  refreshTokensExpireIn: number
  personalAccessTokensExpireIn: number
  authCodesExpireIn: number
  deviceCodesExpireIn: number
  idTokensExpireIn: number
  users: Record<string, UserConfig>
  /**
   * Which scope releases each custom user claim (claim name → scope name). A custom claim not
   * listed here is released with `profile`.
   */
  claims: Record<string, string>
  clients: ClientConfig[]
  keyPath?: string
  database?: string
  /** RFC 8707 resources by URI (`resources`; `serve --resource` adds more). */
  resources: ResourceRegistry
  /** RFC 7591 dynamic registration at `{prefix}/register` (`registration`; `serve --no-registration`). */
  registration: RegistrationConfig
  /** Client ID metadata documents (`clientIdMetadataDocuments`). */
  clientIdMetadataDocuments: MetadataDocumentsConfig
}

export interface RegistrationConfig {
  enabled: boolean
  /** When set, registration requires `Authorization: Bearer <initialAccessToken>` (RFC 7591 §3). */
  initialAccessToken?: string
}

export interface MetadataDocumentsConfig {
  enabled: boolean
  /** Fetch documents from private-network and link-local addresses too (off: only public ones and loopback http). */
  allowPrivateNetworks: boolean
}

const DAY = 86_400_000

/** The seed's scopes, used when the configuration names none. */
export const DEFAULT_SCOPES: Readonly<Record<string, string>> = {
  read: 'Read access',
  write: 'Write access',
  admin: 'Full administrative access',
}

/** OpenID Connect scopes: always known, in addition to the configured ones. */
export const OIDC_SCOPES: Readonly<Record<string, string>> = {
  openid: 'Sign you in (OpenID Connect)',
  profile: 'Your name and profile',
  email: 'Your email address',
  offline_access: 'Stay signed in (refresh tokens)',
}

export function defaultConfig(): PassportConfig {
  return {
    scopes: nameMap(DEFAULT_SCOPES),
    tokensExpireIn: 15 * DAY,
    refreshTokensExpireIn: 30 * DAY,
    personalAccessTokensExpireIn: 6 * 30 * DAY,
    authCodesExpireIn: 10 * 60_000,
    deviceCodesExpireIn: 10 * 60_000,
    idTokensExpireIn: 60 * 60_000,
    users: nameMap(),
    claims: nameMap(),
    clients: [],
    resources: emptyResources(),
    registration: {enabled: true},
    clientIdMetadataDocuments: {enabled: true, allowPrivateNetworks: false},
  }
}

const LIFETIME_KEYS = [
  'tokensExpireIn',
  'refreshTokensExpireIn',
  'personalAccessTokensExpireIn',
  'authCodesExpireIn',
  'deviceCodesExpireIn',
  'idTokensExpireIn',
] as const

const TOP_LEVEL_KEYS = new Set<string>(['$schema', 'issuer', 'scopes', 'users', 'claims', 'clients', 'keyPath', 'database', ...LIFETIME_KEYS, 'resources', 'registration', 'clientIdMetadataDocuments'])
const USER_KEYS = new Set(['name', 'email', 'email_verified', 'claims'])
const CLIENT_KEYS = new Set(['id', 'name', 'secret', 'redirectUris', 'grants', 'scopes', 'autoApprove', 'requirePar', 'jwks', 'jwksUri', 'requireDpop', 'postLogoutRedirectUris'])

export const DEFAULT_CONFIG_FILE = 'passport.config.json'

/**
 * Reads and validates the configuration file. `path` is the explicit `--config` /
 * `PASSPORT_CONFIG` value (then the file must exist); without it the nearest
 * `passport.config.json` in `cwd` or one of its parents is read (as git finds `.git`), when there
 * is one. Relative paths inside the file resolve against the file's directory.
 */
export function loadConfig(path?: string, cwd = process.cwd()): PassportConfig {
  const found = path === undefined ? findConfigFile(cwd) : resolve(cwd, path)
  if (found === undefined) return defaultConfig()
  const file = found
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' && path === undefined) return defaultConfig()
    if (code === 'ENOENT') throw new ConfigError(`Configuration file ${file} does not exist.`)
    throw new ConfigError(`Configuration file ${file} cannot be read (${code ?? 'unknown error'}).`)
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw new ConfigError(`Configuration file ${file} is not valid JSON: ${(error as Error).message}.`)
  }
  const config = parseConfig(raw, file)
  if (path === undefined && dirname(file) !== resolve(cwd)) config.foundIn = dirname(file)
  return config
}

/** The nearest `passport.config.json` in `cwd` or a parent directory, or undefined. */
export function findConfigFile(cwd = process.cwd()): string | undefined {
  let directory = resolve(cwd)
  for (;;) {
    const candidate = join(directory, DEFAULT_CONFIG_FILE)
    if (existsSync(candidate)) return candidate
    const parent = dirname(directory)
    if (parent === directory) return undefined
    directory = parent
  }
}

/** Validates a configuration object (from a file or the library API). */
export function parseConfig(raw: unknown, file?: string): PassportConfig {
  const where = file ?? 'the configuration'
  const fail = (key: string, expected: string): never => {
    throw new ConfigError(`${where}: "${key}" must be ${expected}.`)
  }
  if (!isObject(raw)) fail('(top level)', 'a JSON object')
  const input = raw as Record<string, unknown>
  for (const key of Object.keys(input)) {
    if (!TOP_LEVEL_KEYS.has(key)) {
      throw new ConfigError(`${where}: unknown key "${key}" (known keys: ${[...TOP_LEVEL_KEYS].filter((k) => k !== '$schema').join(', ')}).`)
    }
  }
  const config = defaultConfig()
  if (file) config.file = file
  const base = file ? dirname(file) : process.cwd()

  if (input.issuer !== undefined) {
    if (typeof input.issuer !== 'string' || !isIssuerUrl(input.issuer)) fail('issuer', ISSUER_RULE)
    config.issuer = input.issuer as string
  }
  if (input.scopes !== undefined) {
    if (!isObject(input.scopes)) fail('scopes', 'an object mapping scope names to descriptions')
    const scopes = nameMap<string>()
    for (const [name, description] of Object.entries(input.scopes as object)) {
      if (!isScopeToken(name)) fail(`scopes.${name}`, 'a scope name of printable characters without spaces or quotes')
      if (typeof description !== 'string') fail(`scopes.${name}`, 'a description string')
      scopes[name] = description as string
    }
    config.scopes = scopes
  }
  for (const key of LIFETIME_KEYS) {
    if (input[key] === undefined) continue
    try {
      config[key] = parseDuration(input[key], key)
    } catch {
      fail(key, `milliseconds or a duration like "15m", "1h", "30d" (got ${JSON.stringify(input[key])})`)
    }
  }
  if (input.keyPath !== undefined) {
    if (typeof input.keyPath !== 'string' || input.keyPath === '') fail('keyPath', 'a directory path')
    config.keyPath = resolve(base, input.keyPath as string)
  }
  if (input.database !== undefined) {
    if (typeof input.database !== 'string' || input.database === '') fail('database', 'a file path or ":memory:"')
    config.database = input.database === ':memory:' ? ':memory:' : resolve(base, input.database as string)
  }
  if (input.users !== undefined) {
    if (!isObject(input.users)) fail('users', 'an object mapping subjects to {name, email, claims}')
    for (const [sub, user] of Object.entries(input.users as Record<string, unknown>)) {
      const at = `users.${sub}`
      const problem = subjectProblem(sub)
      if (problem) throw new ConfigError(`${where}: ${JSON.stringify(at)} is not a subject: ${problem}`)
      if (!isObject(user)) fail(at, 'an object with name, email, email_verified and claims')
      for (const key of Object.keys(user as object)) if (!USER_KEYS.has(key)) fail(`${at}.${key}`, `one of ${[...USER_KEYS].join(', ')} (unknown key)`)
      const u = user as Record<string, unknown>
      if (u.name !== undefined && typeof u.name !== 'string') fail(`${at}.name`, 'a string')
      if (u.email !== undefined && typeof u.email !== 'string') fail(`${at}.email`, 'a string')
      if (u.email_verified !== undefined && typeof u.email_verified !== 'boolean') fail(`${at}.email_verified`, 'true or false')
      if (u.claims !== undefined && !isObject(u.claims)) fail(`${at}.claims`, 'an object of claim names to values')
      for (const name of Object.keys((u.claims as object | undefined) ?? {})) {
        const problem = userClaimProblem(name)
        if (problem) throw new ConfigError(`${where}: "${at}.claims.${name}" is not allowed: ${problem}.`)
      }
      config.users[sub] = u
    }
  }
  if (input.claims !== undefined) {
    if (!isObject(input.claims)) fail('claims', 'an object mapping custom claim names to the scope that releases them, e.g. {"role": "profile"}')
    const known = knownScopes(config)
    for (const [name, scope] of Object.entries(input.claims as object)) {
      const problem = claimMappingProblem(name)
      if (problem) throw new ConfigError(`${where}: "claims.${name}" cannot be mapped: ${problem}.`)
      if (typeof scope !== 'string' || !Object.hasOwn(known, scope)) {
        fail(`claims.${name}`, `the name of a known scope (one of ${Object.keys(known).join(', ')}; got ${JSON.stringify(scope)})`)
      }
      config.claims[name] = scope as string
    }
  }
  if (input.clients !== undefined) {
    if (!Array.isArray(input.clients)) fail('clients', 'an array of client objects')
    const seen = new Set<string>()
    ;(input.clients as unknown[]).forEach((client, index) => {
      const at = `clients[${index}]`
      if (!isObject(client)) fail(at, 'an object with id, name, secret, redirectUris, grants, scopes, autoApprove')
      const c = client as Record<string, unknown>
      for (const key of Object.keys(c)) if (!CLIENT_KEYS.has(key)) fail(`${at}.${key}`, `one of ${[...CLIENT_KEYS].join(', ')} (unknown key)`)
      if (typeof c.id !== 'string') fail(`${at}.id`, 'a client id string')
      const idProblem = clientIdProblem(c.id as string)
      if (idProblem) fail(`${at}.id`, idProblem)
      if (seen.has(c.id as string)) fail(`${at}.id`, `unique ("${c.id as string}" appears twice)`)
      seen.add(c.id as string)
      if (c.name !== undefined && (typeof c.name !== 'string' || c.name === '')) fail(`${at}.name`, 'a non-empty string')
      if (c.secret !== undefined && (typeof c.secret !== 'string' || c.secret.length < 8)) fail(`${at}.secret`, 'a string of at least 8 characters (omit it for a public client)')
      if (c.redirectUris !== undefined && !isStringArray(c.redirectUris)) fail(`${at}.redirectUris`, 'an array of URI strings')
      if (c.grants !== undefined && !isStringArray(c.grants)) fail(`${at}.grants`, 'an array of grant type strings')
      if (c.scopes !== undefined && !isStringArray(c.scopes)) fail(`${at}.scopes`, 'an array of scope names')
      if (c.autoApprove !== undefined && typeof c.autoApprove !== 'boolean') fail(`${at}.autoApprove`, 'true or false')
      if (c.requirePar !== undefined && typeof c.requirePar !== 'boolean') fail(`${at}.requirePar`, 'true or false')
      if (c.requireDpop !== undefined && typeof c.requireDpop !== 'boolean') fail(`${at}.requireDpop`, 'true or false')
      const entry: ClientConfig = {
        id: c.id as string,
        name: (c.name as string | undefined) ?? (c.id as string),
        redirectUris: (c.redirectUris as string[] | undefined) ?? [],
        autoApprove: (c.autoApprove as boolean | undefined) ?? false,
      }
      if (c.secret !== undefined) entry.secret = c.secret as string
      if (c.grants !== undefined) entry.grants = c.grants as string[]
      if (c.scopes !== undefined) entry.scopes = c.scopes as string[]
      if (c.requirePar === true) entry.requirePar = true
      if (c.jwks !== undefined) {
        const problem = jwksProblem(c.jwks)
        if (problem) fail(`${at}.jwks`, `${problem} (the client's public keys for private_key_jwt)`)
        entry.jwks = c.jwks as JwkSet
      }
      if (c.jwksUri !== undefined) {
        const problem = typeof c.jwksUri === 'string' ? jwksUriProblem(c.jwksUri) : 'it is not a string'
        if (problem) fail(`${at}.jwksUri`, `the https URL of the client's JWK Set (http only on loopback): ${problem}`)
        entry.jwksUri = c.jwksUri as string
      }
      if (entry.jwks !== undefined && entry.jwksUri !== undefined) fail(`${at}.jwksUri`, 'absent when jwks is given (one or the other)')
      if ((entry.jwks !== undefined || entry.jwksUri !== undefined) && entry.secret !== undefined) fail(`${at}.secret`, 'absent for a client that authenticates with private_key_jwt (jwks / jwksUri)')
      if (c.requireDpop === true) entry.requireDpop = true
      if (c.postLogoutRedirectUris !== undefined) {
        if (!isStringArray(c.postLogoutRedirectUris)) fail(`${at}.postLogoutRedirectUris`, 'an array of URI strings (where end_session may send the person after signing out)')
        entry.postLogoutRedirectUris = c.postLogoutRedirectUris as string[]
      }
      config.clients.push(entry)
    })
  }
  parseMcpKeys(input, config, fail)
  return config
}

/** `resources`, `registration` and `clientIdMetadataDocuments` (SPEC §10.1, §10.2, §10.4). */
function parseMcpKeys(input: Record<string, unknown>, config: PassportConfig, fail: (key: string, expected: string) => never): void {
  if (input.resources !== undefined) {
    if (!isObject(input.resources)) fail('resources', 'an object mapping resource URIs to {name, scopes}, e.g. {"http://localhost:3000/mcp": {"name": "My MCP server", "scopes": ["read"]}}')
    const known = knownScopes(config)
    for (const [uri, entry] of Object.entries(input.resources)) {
      const at = `resources.${uri}`
      const problem = resourceUriProblem(uri)
      if (problem) fail(at, `keyed by an absolute URI without a fragment (${problem})`)
      if (!isObject(entry)) fail(at, 'an object with an optional "name" and "scopes"')
      const e = entry
      for (const key of Object.keys(e)) if (key !== 'name' && key !== 'scopes') fail(`${at}.${key}`, 'one of name, scopes (unknown key)')
      if (e.name !== undefined && (typeof e.name !== 'string' || e.name === '')) fail(`${at}.name`, 'a non-empty string')
      if (e.scopes !== undefined && !isStringArray(e.scopes)) fail(`${at}.scopes`, 'an array of scope names')
      for (const scope of e.scopes ?? []) {
        if (!Object.hasOwn(known, scope)) fail(`${at}.scopes`, `an array of known scopes (unknown "${scope}"; known: ${Object.keys(known).join(', ')})`)
      }
      config.resources[uri] = {name: e.name ?? uri, scopes: e.scopes ?? null}
    }
  }
  const registration = input.registration
  if (registration !== undefined) {
    if (typeof registration === 'boolean') {
      config.registration = {enabled: registration}
    } else {
      if (!isObject(registration)) fail('registration', 'true, false, or {"initialAccessToken": "…"}')
      const r = registration
      for (const key of Object.keys(r)) if (key !== 'initialAccessToken') fail(`registration.${key}`, 'initialAccessToken (unknown key)')
      if (r.initialAccessToken !== undefined && (typeof r.initialAccessToken !== 'string' || !/^[\x21-\x7e]{16,}$/.test(r.initialAccessToken))) {
        fail('registration.initialAccessToken', 'a token of at least 16 printable ASCII characters without spaces')
      }
      config.registration = {enabled: true, ...(r.initialAccessToken === undefined ? {} : {initialAccessToken: r.initialAccessToken})}
    }
  }
  const documents = input.clientIdMetadataDocuments
  if (documents !== undefined) {
    if (typeof documents === 'boolean') {
      config.clientIdMetadataDocuments = {enabled: documents, allowPrivateNetworks: false}
    } else {
      if (!isObject(documents)) fail('clientIdMetadataDocuments', 'true, false, or {"allowPrivateNetworks": true}')
      const d = documents
      for (const key of Object.keys(d)) if (key !== 'allowPrivateNetworks') fail(`clientIdMetadataDocuments.${key}`, 'allowPrivateNetworks (unknown key)')
      if (d.allowPrivateNetworks !== undefined && typeof d.allowPrivateNetworks !== 'boolean') fail('clientIdMetadataDocuments.allowPrivateNetworks', 'true or false')
      config.clientIdMetadataDocuments = {enabled: true, allowPrivateNetworks: d.allowPrivateNetworks ?? false}
    }
  }
}

/** Every scope the authority knows: configured ones plus the OpenID Connect scopes. */
export function knownScopes(config: Pick<PassportConfig, 'scopes'>): Readonly<Record<string, string>> {
  // Asked on every token request: built once per configuration (configurations are not mutated).
  let known = KNOWN_SCOPES.get(config.scopes)
  if (!known) {
    known = Object.freeze(nameMap({...OIDC_SCOPES, ...config.scopes}))
    KNOWN_SCOPES.set(config.scopes, known)
  }
  return known
}

const KNOWN_SCOPES = new WeakMap<Record<string, string>, Readonly<Record<string, string>>>()

export function isScopeToken(value: string): boolean {
  // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
  return /^[\x21\x23-\x5b\x5d-\x7e]+$/.test(value)
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string')
}
