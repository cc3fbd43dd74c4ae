import {type Db, prepareWrite} from './database.js'

/** Where a client comes from: `passport client`, the config file, passport itself, `POST /register`, a client ID metadata document. */
export type ClientSource = 'cli' | 'config' | 'internal' | 'registered' | 'metadata'

export interface ClientRow {
  id: string
  name: string
  secretHash: string | null
  type: 'confidential' | 'public'
  grantTypes: string[]
  redirectUris: string[]
  /** Allowed scopes; null means every known scope. */
  scopes: string[] | null
  autoApprove: boolean
  source: ClientSource
  createdAt: number
  updatedAt: number
  /**
   * How the client authenticates at the token endpoint (`none`, `client_secret_basic`,
   * `client_secret_post`, `private_key_jwt`); undefined/null: by its type (a secret, or none).
   */
  tokenEndpointAuthMethod?: string | null
  /** Public keys for private_key_jwt (a JWK Set), or null. */
  jwks?: {keys: Record<string, unknown>[]} | null
  /** Where its JWK Set is published, for private_key_jwt, or null. */
  jwksUri?: string | null
  /** Other RFC 7591 metadata it registered (client_uri, logo_uri, contacts, software_id …), or null. */
  metadata?: Record<string, unknown> | null
  /** Its post-logout redirect URIs (RP-Initiated Logout), matched exactly; its redirect URIs count too. */
  postLogoutRedirectUris?: string[] | null
}

interface Raw {
  id: string
  name: string
  secret_hash: string | null
  type: 'confidential' | 'public'
  grant_types: string
  redirect_uris: string
  scopes: string | null
  auto_approve: number
  source: ClientSource
  created_at: number
  updated_at: number
  token_endpoint_auth_method: string | null
  jwks: string | null
  jwks_uri: string | null
  metadata: string | null
  post_logout_redirect_uris: string | null
}

const fromRaw = (r: Raw): ClientRow => ({
  id: r.id,
  name: r.name,
  secretHash: r.secret_hash,
  type: r.type,
  grantTypes: JSON.parse(r.grant_types) as string[],
  redirectUris: JSON.parse(r.redirect_uris) as string[],
  scopes: r.scopes === null ? null : (JSON.parse(r.scopes) as string[]),
  autoApprove: r.auto_approve === 1,
  source: r.source,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  tokenEndpointAuthMethod: r.token_endpoint_auth_method,
  jwks: r.jwks === null ? null : (JSON.parse(r.jwks) as {keys: Record<string, unknown>[]}),
  jwksUri: r.jwks_uri,
  metadata: r.metadata === null ? null : (JSON.parse(r.metadata) as Record<string, unknown>),
  postLogoutRedirectUris:
    r.post_logout_redirect_uris === null ? null : (JSON.parse(r.post_logout_redirect_uris) as string[]),
})

function freeze(client: ClientRow): ClientRow {
  Object.freeze(client.grantTypes)
  Object.freeze(client.redirectUris)
  if (client.scopes) Object.freeze(client.scopes)
  return Object.freeze(client)
}

const toParams = (c: ClientRow) => ({
  id: c.id,
  name: c.name,
  secret_hash: c.secretHash,
  type: c.type,
  grant_types: JSON.stringify(c.grantTypes),
  redirect_uris: JSON.stringify(c.redirectUris),
  scopes: c.scopes === null ? null : JSON.stringify(c.scopes),
  auto_approve: c.autoApprove ? 1 : 0,
  source: c.source,
  created_at: c.createdAt,
  updated_at: c.updatedAt,
  token_endpoint_auth_method: c.tokenEndpointAuthMethod ?? null,
  jwks: c.jwks ? JSON.stringify(c.jwks) : null,
  jwks_uri: c.jwksUri ?? null,
  metadata: c.metadata ? JSON.stringify(c.metadata) : null,
  post_logout_redirect_uris: c.postLogoutRedirectUris ? JSON.stringify(c.postLogoutRedirectUris) : null,
})

/** At most this many clients are kept in memory (a deployment has a handful). */
const CACHE_LIMIT = 1000

export class ClientRepository {
  private readonly byId
  private readonly all
  private readonly insertStmt
  private readonly upsertStmt
  private readonly deleteStmt
  private readonly secretStmt
  private readonly dataVersion
  private readonly countSourceStmt
  private readonly oldestSourceStmt
  /**
   * Clients by id, read once and reused while the database is unchanged: the token endpoint looks
   * its client up on every request. Valid while `PRAGMA data_version` stays the same (it changes
   * when another connection, such as a CLI command, commits) and this connection wrote no client.
   */
  private readonly cache = new Map<string, ClientRow>()
  private cacheVersion = -1

  constructor(private readonly db: Db) {
    this.byId = db.prepare<[string], Raw>('SELECT * FROM oauth_clients WHERE id = ?')
    this.dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck()
    this.all = db.prepare<[], Raw>('SELECT * FROM oauth_clients ORDER BY created_at, id')
    this.insertStmt = prepareWrite(
      db,
      `INSERT INTO oauth_clients (id, name, secret_hash, type, grant_types, redirect_uris, scopes, auto_approve, source, created_at, updated_at, token_endpoint_auth_method, jwks, jwks_uri, metadata, post_logout_redirect_uris)
       VALUES (@id, @name, @secret_hash, @type, @grant_types, @redirect_uris, @scopes, @auto_approve, @source, @created_at, @updated_at, @token_endpoint_auth_method, @jwks, @jwks_uri, @metadata, @post_logout_redirect_uris)`,
    )
    this.upsertStmt = prepareWrite(
      db,
      `INSERT INTO oauth_clients (id, name, secret_hash, type, grant_types, redirect_uris, scopes, auto_approve, source, created_at, updated_at, token_endpoint_auth_method, jwks, jwks_uri, metadata, post_logout_redirect_uris)
       VALUES (@id, @name, @secret_hash, @type, @grant_types, @redirect_uris, @scopes, @auto_approve, @source, @created_at, @updated_at, @token_endpoint_auth_method, @jwks, @jwks_uri, @metadata, @post_logout_redirect_uris)
       ON CONFLICT (id) DO UPDATE SET name = excluded.name, secret_hash = excluded.secret_hash, type = excluded.type,
         grant_types = excluded.grant_types, redirect_uris = excluded.redirect_uris, scopes = excluded.scopes,
         auto_approve = excluded.auto_approve, source = excluded.source, updated_at = excluded.updated_at,
         token_endpoint_auth_method = excluded.token_endpoint_auth_method, jwks = excluded.jwks, jwks_uri = excluded.jwks_uri, metadata = excluded.metadata,
         post_logout_redirect_uris = excluded.post_logout_redirect_uris
       WHERE oauth_clients.name IS NOT excluded.name OR oauth_clients.secret_hash IS NOT excluded.secret_hash
         OR oauth_clients.type IS NOT excluded.type OR oauth_clients.grant_types IS NOT excluded.grant_types
         OR oauth_clients.redirect_uris IS NOT excluded.redirect_uris OR oauth_clients.scopes IS NOT excluded.scopes
         OR oauth_clients.auto_approve IS NOT excluded.auto_approve OR oauth_clients.source IS NOT excluded.source
         OR oauth_clients.token_endpoint_auth_method IS NOT excluded.token_endpoint_auth_method OR oauth_clients.jwks IS NOT excluded.jwks
         OR oauth_clients.jwks_uri IS NOT excluded.jwks_uri OR oauth_clients.metadata IS NOT excluded.metadata
         OR oauth_clients.post_logout_redirect_uris IS NOT excluded.post_logout_redirect_uris`,
    )
    this.deleteStmt = prepareWrite<[string]>(db, 'DELETE FROM oauth_clients WHERE id = ?')
    this.countSourceStmt = db.prepare<[string], number>('SELECT COUNT(*) FROM oauth_clients WHERE source = ?').pluck()
    this.oldestSourceStmt = db
      .prepare<[string, number], string>(
        'SELECT id FROM oauth_clients WHERE source = ? ORDER BY created_at, id LIMIT ?',
      )
      .pluck()
    this.secretStmt = prepareWrite<[string | null, number, string]>(
      db,
      'UPDATE oauth_clients SET secret_hash = ?, updated_at = ? WHERE id = ?',
    )
  }

  /** The client, or undefined. The row is frozen: it may be shared with other callers. */
  find(id: string): ClientRow | undefined {
    // Inside a transaction the row may be uncommitted (and rolled back later): read, do not keep.
    if (this.db.inTransaction) return this.read(id)
    const version = this.dataVersion.get()!
    if (version !== this.cacheVersion) {
      this.cache.clear()
      this.cacheVersion = version
    }
    const cached = this.cache.get(id)
    if (cached) return cached
    const client = this.read(id)
    if (client && this.cache.size < CACHE_LIMIT) this.cache.set(id, client)
    return client
  }

  private read(id: string): ClientRow | undefined {
    const raw = this.byId.get(id)
    return raw && freeze(fromRaw(raw))
  }

  /** How many clients come from `source`. */
  countBySource(source: ClientSource): number {
    return this.countSourceStmt.get(source)!
  }

  /** Ids of the `limit` oldest clients from `source`. */
  oldestBySource(source: ClientSource, limit: number): string[] {
    return this.oldestSourceStmt.all(source, limit)
  }

  list(): ClientRow[] {
    return this.all.all().map(fromRaw)
  }

  insert(client: ClientRow): void {
    this.cache.clear()
    this.insertStmt.run(toParams(client))
  }

  /** Inserts or updates; returns true when a row was written (false when already identical). */
  upsert(client: ClientRow): boolean {
    this.cache.clear()
    return this.upsertStmt.run(toParams(client)).changes > 0
  }

  delete(id: string): boolean {
    this.cache.clear()
    return this.deleteStmt.run(id).changes > 0
  }

  setSecretHash(id: string, secretHash: string | null, now: number): boolean {
    this.cache.clear()
    return this.secretStmt.run(secretHash, now, id).changes > 0
  }
}
