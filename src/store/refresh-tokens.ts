import {decodeAudience, encodeAudience} from '../core/resources.js'
import {RevocableTable} from './revocable.js'
import {type Db, prepareWrite} from './database.js'

export interface RefreshTokenRow {
  id: string
  tokenHash: string
  accessTokenId: string
  familyId: string
  clientId: string
  userId: string
  scopes: string[]
  /** The resources (RFC 8707) the grant was made for, or an explicit audience; null for none. */
  audience: string | string[] | null
  authTime: number | null
  nonce: string | null
  /** The DPoP key (RFC 7638 thumbprint) a public client's refresh token is bound to, or null. */
  jkt: string | null
  /** Set when the token was exchanged for a new pair; a rotated token is also revoked. */
  rotatedAt: number | null
  revokedAt: number | null
  createdAt: number
  expiresAt: number
}

interface Raw {
  id: string
  token_hash: string
  access_token_id: string
  family_id: string
  client_id: string
  user_id: string
  scopes: string
  audience: string | null
  auth_time: number | null
  nonce: string | null
  jkt: string | null
  rotated_at: number | null
  revoked_at: number | null
  created_at: number
  expires_at: number
}

const fromRaw = (r: Raw): RefreshTokenRow => ({
  id: r.id,
  tokenHash: r.token_hash,
  accessTokenId: r.access_token_id,
  familyId: r.family_id,
  clientId: r.client_id,
  userId: r.user_id,
  scopes: JSON.parse(r.scopes) as string[],
  audience: decodeAudience(r.audience),
  authTime: r.auth_time,
  nonce: r.nonce,
  jkt: r.jkt ?? null,
  rotatedAt: r.rotated_at,
  revokedAt: r.revoked_at,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
})

/** Revocation (revoke, revokeFamily, revokeAllForUser) is the shared rule of {@link RevocableTable}. */
export class RefreshTokenRepository extends RevocableTable {
  private readonly insertStmt
  private readonly byHash
  private readonly byAccessToken
  private readonly rotateStmt

  constructor(db: Db) {
    super(db, 'oauth_refresh_tokens')
    this.insertStmt = prepareWrite(
      db,
      `INSERT INTO oauth_refresh_tokens (id, token_hash, access_token_id, family_id, client_id, user_id, scopes, audience, auth_time, nonce, jkt, rotated_at, revoked_at, created_at, expires_at)
       VALUES (@id, @token_hash, @access_token_id, @family_id, @client_id, @user_id, @scopes, @audience, @auth_time, @nonce, @jkt, NULL, NULL, @created_at, @expires_at)`,
    )
    this.byHash = db.prepare<[string], Raw>('SELECT * FROM oauth_refresh_tokens WHERE token_hash = ?')
    this.byAccessToken = db.prepare<[string], Raw>('SELECT * FROM oauth_refresh_tokens WHERE access_token_id = ?')
    this.rotateStmt = prepareWrite<[number, number, string]>(
      db,
      'UPDATE oauth_refresh_tokens SET rotated_at = ?, revoked_at = ? WHERE id = ? AND revoked_at IS NULL',
    )
  }

  insert(row: Omit<RefreshTokenRow, 'rotatedAt' | 'revokedAt' | 'jkt'> & {jkt?: string | null}): void {
    this.insertStmt.run({
      id: row.id,
      token_hash: row.tokenHash,
      access_token_id: row.accessTokenId,
      family_id: row.familyId,
      client_id: row.clientId,
      user_id: row.userId,
      scopes: JSON.stringify(row.scopes),
      audience: encodeAudience(row.audience),
      auth_time: row.authTime,
      nonce: row.nonce,
      jkt: row.jkt ?? null,
      created_at: row.createdAt,
      expires_at: row.expiresAt,
    })
  }

  findByHash(tokenHash: string): RefreshTokenRow | undefined {
    const raw = this.byHash.get(tokenHash)
    return raw && fromRaw(raw)
  }

  findByAccessToken(accessTokenId: string): RefreshTokenRow | undefined {
    const raw = this.byAccessToken.get(accessTokenId)
    return raw && fromRaw(raw)
  }

  /** Marks the token used. True only for the one caller that wins the race. */
  rotate(id: string, now: number): boolean {
    return this.rotateStmt.run(now, now, id).changes === 1
  }
}
