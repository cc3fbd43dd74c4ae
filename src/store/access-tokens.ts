import {decodeAudience, encodeAudience} from '../core/resources.js'
import {RevocableTable} from './revocable.js'
import {type Db, GroupCommit, prepareWrite} from './database.js'

export interface AccessTokenRow {
  /** The token's `jti`. */
  id: string
  clientId: string
  /** Null for client-credentials tokens: they belong to no user. */
  userId: string | null
  /** Name of a personal access token. */
  name: string | null
  scopes: string[]
  /** The token's `aud`: the client id, a resource, or several resources. */
  audience: string | string[]
  grantType: string
  /** The authorization code, device code or first refresh token the token descends from. */
  familyId: string | null
  revokedAt: number | null
  createdAt: number
  expiresAt: number
}

interface Raw {
  id: string
  client_id: string
  user_id: string | null
  name: string | null
  scopes: string
  audience: string
  grant_type: string
  family_id: string | null
  revoked_at: number | null
  created_at: number
  expires_at: number
}

const fromRaw = (r: Raw): AccessTokenRow => ({
  id: r.id,
  clientId: r.client_id,
  userId: r.user_id,
  name: r.name,
  scopes: JSON.parse(r.scopes) as string[],
  audience: decodeAudience(r.audience)!,
  grantType: r.grant_type,
  familyId: r.family_id,
  revokedAt: r.revoked_at,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
})

export interface AccessTokenFilter {
  userId?: string
  clientId?: string
  /** Only tokens neither revoked nor expired at this time. */
  activeAt?: number
  limit?: number
}

/** Revocation (revoke, revokeFamily, revokeAllForUser) is the shared rule of {@link RevocableTable}. */
export class AccessTokenRepository extends RevocableTable {
  private readonly insertStmt
  private readonly byId
  private readonly maxExpiryStmt
  private readonly grouped: GroupCommit

  constructor(private readonly db: Db) {
    super(db, 'oauth_access_tokens')
    this.grouped = new GroupCommit(db)
    this.insertStmt = prepareWrite(
      db,
      `INSERT INTO oauth_access_tokens (id, client_id, user_id, name, scopes, audience, grant_type, family_id, revoked_at, created_at, expires_at)
       VALUES (@id, @client_id, @user_id, @name, @scopes, @audience, @grant_type, @family_id, NULL, @created_at, @expires_at)`,
    )
    this.byId = db.prepare<[string], Raw>('SELECT * FROM oauth_access_tokens WHERE id = ?')
    this.maxExpiryStmt = db.prepare<[], {max: number | null}>(
      'SELECT MAX(expires_at) AS max FROM oauth_access_tokens WHERE revoked_at IS NULL',
    )
  }

  insert(row: Omit<AccessTokenRow, 'revokedAt'>): void {
    this.insertStmt.run({
      id: row.id,
      client_id: row.clientId,
      user_id: row.userId,
      name: row.name,
      scopes: JSON.stringify(row.scopes),
      audience: encodeAudience(row.audience),
      grant_type: row.grantType,
      family_id: row.familyId,
      created_at: row.createdAt,
      expires_at: row.expiresAt,
    })
  }

  /**
   * Queues the insert to be committed together with others (see {@link GroupCommit}). The
   * function returned commits it and throws if it failed: call it before handing the token out.
   */
  insertGrouped(row: Omit<AccessTokenRow, 'revokedAt'>): () => void {
    return this.grouped.add(() => this.insert(row))
  }

  find(id: string): AccessTokenRow | undefined {
    const raw = this.byId.get(id)
    return raw && fromRaw(raw)
  }

  list(filter: AccessTokenFilter = {}): AccessTokenRow[] {
    const where: string[] = []
    const params: Record<string, unknown> = {}
    if (filter.userId !== undefined) {
      where.push('user_id = @userId')
      params.userId = filter.userId
    }
    if (filter.clientId !== undefined) {
      where.push('client_id = @clientId')
      params.clientId = filter.clientId
    }
    if (filter.activeAt !== undefined) {
      where.push('revoked_at IS NULL AND expires_at > @activeAt')
      params.activeAt = filter.activeAt
    }
    // A user's live tokens come from the (expires_at, user_id) index, then sorted ("+id" keeps
    // SQLite from walking the whole id index newest first instead); other lists walk the id index.
    const order = filter.userId !== undefined && filter.activeAt !== undefined ? '+id' : 'id'
    const sql = `SELECT * FROM oauth_access_tokens ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order} DESC LIMIT ${Math.max(1, Math.floor(filter.limit ?? 1000))}`
    return (this.db.prepare(sql).all(params) as Raw[]).map(fromRaw)
  }

  /** The latest expiry of any unrevoked token: how long the keys that signed them must stay published. */
  latestExpiry(): number | null {
    return this.maxExpiryStmt.get()?.max ?? null
  }
}
