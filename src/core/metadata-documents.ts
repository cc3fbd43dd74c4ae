import {GRANT_AUTHORIZATION_CODE} from './clients.js'
import type {PassportConfig} from './config.js'
import {OAuthError} from '../errors.js'
import {checkRegistration} from './registration.js'
import {isLoopbackHost, redirectUriMatches} from './uris.js'
import type {ClientRow} from '../store/clients.js'
import type {Store} from '../store/index.js'
import {FenceError, fencedGet, type FetchedDocument} from './fenced-fetch.js'
import {repeatedJsonMember} from './json.js'

/**
 * Client ID metadata documents (draft-ietf-oauth-client-id-metadata-document, SPEC §10.4): a
 * `client_id` that is an https URL with a path (or an http URL on a loopback host, for local
 * development) names a JSON document describing the client, fetched from that URL. Anyone can
 * publish one, so the fetch is fenced: no redirects, 5 s, 5 KB, JSON only, no private-network
 * addresses unless the configuration allows them, and the consent page shows the document's host.
 */

export const METADATA_FETCH_TIMEOUT_MS = 5000
export const METADATA_MAX_BYTES = 5 * 1024
/** Longest a document is cached, whatever its Cache-Control says. */
export const METADATA_MAX_CACHE_MS = 24 * 60 * 60 * 1000
/** Documents cached at most (the oldest entry goes first). */
const CACHE_ENTRIES = 100
/** Clients from metadata documents kept in the database at most (the oldest goes first, with its tokens). */
export const MAX_METADATA_CLIENTS = 1000

/** A failed check: the error page names it (`check`) and says what is wrong. */
/** A refused fetch's Retry-After: the longest a fetch under way may still take. */
const BUSY_RETRY_S = 5

export class MetadataDocumentError extends OAuthError {
  constructor(
    readonly check: string,
    description: string,
  ) {
    // `busy`: too many fetches under way (core/fenced-fetch.ts); the document may be fine.
    const busy = check === 'busy'
    super(
      busy ? 'temporarily_unavailable' : 'invalid_client',
      description,
      busy ? 503 : 400,
      busy ? {'Retry-After': String(BUSY_RETRY_S)} : {},
    )
  }
}

/** Is this client_id one to resolve as a metadata document (an http(s) URL)? */
export function looksLikeMetadataDocumentUrl(clientId: string): boolean {
  return clientId.startsWith('https://') || clientId.startsWith('http://')
}

/** Checks the client_id URL itself (before any fetch); returns the parsed URL. */
export function checkMetadataDocumentUrl(clientId: string): URL {
  const fail = (description: string): never => {
    throw new MetadataDocumentError('client_id URL', description)
  }
  let url: URL
  try {
    url = new URL(clientId)
  } catch {
    return fail(`The client_id ${clientId} is not a valid URL.`)
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    fail(
      `The client_id ${clientId} uses plain http on a host that is not a loopback address; a client ID metadata document must be served over https (http only on localhost, 127.0.0.1 or [::1]).`,
    )
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') fail(`The client_id ${clientId} must be an https URL.`)
  if (clientId.includes('#')) fail(`The client_id ${clientId} must not contain a fragment.`)
  if (url.username !== '' || url.password !== '')
    fail(`The client_id ${clientId} must not contain a user name or password.`)
  if (url.pathname === '/' || url.pathname === '')
    fail(`The client_id ${clientId} must have a path (e.g. https://app.example/client.json).`)
  if (/\/\.\.?(\/|$)/.test(clientId.split('?')[0]!.slice(url.origin.length)))
    fail(`The client_id ${clientId} must not contain . or .. path segments.`)
  return url
}

export {addressProblem} from './fenced-fetch.js'

/**
 * GETs the document with the fences of SPEC §10.4 (core/fenced-fetch.ts: resolved once and
 * pinned, no private addresses unless allowed, no redirects, 5 s, 5 KB).
 */
export async function fetchMetadataDocument(
  url: URL,
  options: {allowPrivateNetworks: boolean; timeoutMs?: number},
): Promise<FetchedDocument> {
  try {
    return await fencedGet(url, {
      allowPrivateNetworks: options.allowPrivateNetworks,
      timeoutMs: options.timeoutMs ?? METADATA_FETCH_TIMEOUT_MS,
      maxBytes: METADATA_MAX_BYTES,
      accept: 'application/json',
      what: 'The client ID metadata document',
    })
  } catch (error) {
    if (error instanceof FenceError) throw new MetadataDocumentError(error.check, error.message)
    throw error
  }
}

/**
 * Checks a fetched document against the request (SPEC §10.4) and returns the client it describes.
 * Every failure names its check.
 */
export function checkMetadataDocument(
  config: PassportConfig,
  clientId: string,
  fetched: FetchedDocument,
  now: number,
): ClientRow {
  const fail = (check: string, description: string): never => {
    throw new MetadataDocumentError(check, description)
  }
  if (fetched.status !== 200)
    fail('status', `The client ID metadata document at ${clientId} answered HTTP ${fetched.status}, not 200.`)
  const type = fetched.contentType.split(';')[0]!.trim().toLowerCase()
  if (type !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(type)) {
    fail(
      'JSON',
      `The client ID metadata document at ${clientId} is not JSON (Content-Type ${type || 'missing'}; application/json expected).`,
    )
  }
  let document: unknown
  let text: string
  try {
    text = new TextDecoder('utf-8', {fatal: true}).decode(fetched.body)
    document = JSON.parse(text)
  } catch {
    return fail('JSON', `The client ID metadata document at ${clientId} is not valid JSON.`)
  }
  // JSON.parse keeps the last of repeated members: a document must say each thing once.
  const repeated = repeatedJsonMember(text)
  if (repeated !== undefined)
    fail(
      'JSON',
      `The client ID metadata document at ${clientId} repeats the member ${repeated}; each member must appear once.`,
    )
  if (typeof document !== 'object' || document === null || Array.isArray(document))
    fail('JSON', `The client ID metadata document at ${clientId} is not a JSON object.`)
  const doc = document as Record<string, unknown>
  if (doc.client_id !== clientId) {
    fail(
      'client_id',
      `The client ID metadata document at ${clientId} names another client_id (${typeof doc.client_id === 'string' ? doc.client_id : 'none'}); it must be exactly its own URL.`,
    )
  }
  const method = doc.token_endpoint_auth_method ?? 'none'
  if (method !== 'none' && method !== 'private_key_jwt') {
    fail(
      'token_endpoint_auth_method',
      `The client ID metadata document at ${clientId} asks for token_endpoint_auth_method ${typeof method === 'string' ? method : `of type ${typeof method}`}; only none and private_key_jwt are allowed (a published document cannot hold a shared secret).`,
    )
  }
  if (doc.client_secret !== undefined)
    fail(
      'token_endpoint_auth_method',
      `The client ID metadata document at ${clientId} contains a client_secret; a published document cannot hold a shared secret.`,
    )
  let checked: ClientRow
  try {
    checked = checkRegistration(
      config,
      {...doc, token_endpoint_auth_method: method, grant_types: doc.grant_types ?? [GRANT_AUTHORIZATION_CODE]},
      now,
    ).client
  } catch (error) {
    return fail(
      'metadata',
      `The client ID metadata document at ${clientId} is not acceptable: ${(error as Error).message}`,
    )
  }
  return {
    ...checked,
    id: clientId,
    name: checked.metadata?.client_name === undefined ? new URL(clientId).host : checked.name,
    source: 'metadata',
  }
}

interface CacheEntry {
  client: ClientRow
  expiresAt: number
}

/** Fetched documents by URL, kept per Cache-Control (at most 24 h), at most {@link CACHE_ENTRIES}. */
export class MetadataDocumentCache {
  private readonly entries = new Map<string, CacheEntry>()

  get(url: string, now: number): ClientRow | undefined {
    const entry = this.entries.get(url)
    if (!entry) return undefined
    if (entry.expiresAt <= now) {
      this.entries.delete(url)
      return undefined
    }
    return entry.client
  }

  set(url: string, client: ClientRow, cacheControl: string | undefined, now: number): void {
    const lifetime = cacheLifetime(cacheControl)
    this.entries.delete(url)
    if (lifetime <= 0) return
    while (this.entries.size >= CACHE_ENTRIES) this.entries.delete(this.entries.keys().next().value!)
    this.entries.set(url, {client, expiresAt: now + lifetime})
  }

  get size(): number {
    return this.entries.size
  }
}

/** Milliseconds a response may be kept: its max-age (or s-maxage), at most 24 h; 0 for no-store, no-cache or none. */
export function cacheLifetime(cacheControl: string | undefined): number {
  if (!cacheControl) return 0
  const directives = cacheControl
    .toLowerCase()
    .split(',')
    .map((d) => d.trim())
  if (directives.some((d) => d === 'no-store' || d === 'no-cache' || d === 'private')) return 0
  const maxAge = directives.map((d) => /^(?:s-maxage|max-age)=(\d+)$/.exec(d)?.[1]).find((v) => v !== undefined)
  if (maxAge === undefined) return 0
  return Math.min(Number(maxAge) * 1000, METADATA_MAX_CACHE_MS)
}

/**
 * Resolves a URL client_id for `/authorize`: from the cache or by fetching, checks the document
 * and that `redirectUri` (when sent) is one of its `redirect_uris`, and upserts the client
 * (source `metadata`) so that codes and the token endpoint find it. Throws
 * {@link MetadataDocumentError}.
 */
export async function resolveMetadataDocumentClient(
  store: Store,
  config: PassportConfig,
  cache: MetadataDocumentCache,
  clientId: string,
  redirectUri: string | undefined,
  now: number,
): Promise<ClientRow> {
  const url = checkMetadataDocumentUrl(clientId)
  let client = cache.get(clientId, now)
  if (!client) {
    const fetched = await fetchMetadataDocument(url, {
      allowPrivateNetworks: config.clientIdMetadataDocuments.allowPrivateNetworks,
    })
    client = checkMetadataDocument(config, clientId, fetched, now)
    cache.set(clientId, client, fetched.cacheControl, now)
  }
  if (
    redirectUri !== undefined &&
    !client.redirectUris.some((registered) => redirectUriMatches(registered, redirectUri))
  ) {
    throw new MetadataDocumentError(
      'redirect_uri',
      `redirect_uri ${redirectUri} is not one of the redirect_uris of the client ID metadata document at ${clientId} (${client.redirectUris.join(', ') || 'none'}).`,
    )
  }
  const existing = store.clients.find(clientId)
  if (existing && existing.source !== 'metadata') {
    throw new MetadataDocumentError(
      'client_id',
      `The client id ${clientId} belongs to a client registered here (source ${existing.source}), not to a metadata document.`,
    )
  }
  store.transaction(() => {
    if (!existing) {
      const excess = store.clients.countBySource('metadata') - MAX_METADATA_CLIENTS + 1
      if (excess > 0) for (const id of store.clients.oldestBySource('metadata', excess)) store.clients.delete(id)
    }
    store.clients.upsert({...client, createdAt: existing?.createdAt ?? now})
  })
  return client
}
