import {existsSync, readFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'

import {checkConfig, type ConfigInput} from './config-schema.js'
import {parseDuration} from './duration.js'
import {nameMap, SCOPE_TOKEN} from './names.js'
import type {JwkSet} from './client-keys.js'
import {ConfigError} from '../errors.js'
import {emptyResources, type ResourceRegistry} from './resources.js'
import {onePer} from './memo.js'

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

/** Validates a configuration object (from a file or the library API) against `configSchema`. */
export function parseConfig(raw: unknown, file?: string): PassportConfig {
  const checked = checkConfig(raw, file ?? 'the configuration', (scopes) =>
    knownScopes({scopes: scopes === undefined ? DEFAULT_SCOPES : nameMap(scopes)}),
  )
  if ('problem' in checked) throw new ConfigError(checked.problem)
  const input = checked.value
  const config = defaultConfig()
  if (file) config.file = file
  const base = file ? dirname(file) : process.cwd()
  if (input.issuer !== undefined) config.issuer = input.issuer
  if (input.scopes !== undefined) config.scopes = nameMap(input.scopes)
  for (const key of LIFETIME_KEYS) {
    const value = input[key]
    if (value !== undefined) config[key] = parseDuration(value, key)
  }
  if (input.keyPath !== undefined) config.keyPath = resolve(base, input.keyPath)
  if (input.database !== undefined)
    config.database = input.database === ':memory:' ? ':memory:' : resolve(base, input.database)
  for (const [sub, user] of Object.entries(input.users ?? {})) config.users[sub] = userConfig(user)
  for (const [name, scope] of Object.entries(input.claims ?? {})) config.claims[name] = scope as string
  for (const c of input.clients ?? []) config.clients.push(clientConfig(c))
  for (const [uri, entry] of Object.entries(input.resources ?? {}))
    config.resources[uri] = {name: entry.name ?? uri, scopes: entry.scopes ?? null}
  if (typeof input.registration === 'boolean') config.registration = {enabled: input.registration}
  else if (input.registration !== undefined)
    config.registration = {
      enabled: true,
      ...(input.registration.initialAccessToken === undefined
        ? {}
        : {initialAccessToken: input.registration.initialAccessToken}),
    }
  const documents = input.clientIdMetadataDocuments
  if (typeof documents === 'boolean')
    config.clientIdMetadataDocuments = {enabled: documents, allowPrivateNetworks: false}
  else if (documents !== undefined)
    config.clientIdMetadataDocuments = {enabled: true, allowPrivateNetworks: documents.allowPrivateNetworks ?? false}
  return config
}

function userConfig(u: NonNullable<ConfigInput['users']>[string]): UserConfig {
  const user: UserConfig = {}
  if (u.name !== undefined) user.name = u.name
  if (u.email !== undefined) user.email = u.email
  if (u.email_verified !== undefined) user.email_verified = u.email_verified
  if (u.claims !== undefined) user.claims = u.claims
  return user
}

function clientConfig(c: NonNullable<ConfigInput['clients']>[number]): ClientConfig {
  const entry: ClientConfig = {
    id: c.id,
    name: c.name ?? c.id,
    redirectUris: c.redirectUris ?? [],
    autoApprove: c.autoApprove ?? false,
  }
  if (c.secret !== undefined) entry.secret = c.secret
  if (c.grants !== undefined) entry.grants = c.grants
  if (c.scopes !== undefined) entry.scopes = c.scopes
  if (c.requirePar === true) entry.requirePar = true
  if (c.jwks !== undefined) entry.jwks = c.jwks as JwkSet
  if (c.jwksUri !== undefined) entry.jwksUri = c.jwksUri
  if (c.requireDpop === true) entry.requireDpop = true
  if (c.postLogoutRedirectUris !== undefined) entry.postLogoutRedirectUris = c.postLogoutRedirectUris
  return entry
}

/** Every scope the authority knows: configured ones plus the OpenID Connect scopes. */
export function knownScopes(config: Pick<PassportConfig, 'scopes'>): Readonly<Record<string, string>> {
  return knownScopesOf(config.scopes)
}

// Asked on every token request: built once per configuration (configurations are not mutated).
const knownScopesOf = onePer((scopes: Record<string, string>) => Object.freeze(nameMap({...OIDC_SCOPES, ...scopes})))

export function isScopeToken(value: string): boolean {
  return SCOPE_TOKEN.test(value)
}
