import {audienceList, decodeAudience} from '../core/resources.js'
import {type Db, prepareWrite} from './database.js'
import {singleUse} from './single-use.js'

export interface AuthCodeRow {
  id: string
  codeHash: string
  clientId: string
  userId: string
  scopes: string[]
  /** The redirect_uri sent to /authorize, or null when it was omitted. */
  redirectUri: string | null
  codeChallenge: string | null
  codeChallengeMethod: string | null
  nonce: string | null
  /** The RFC 8707 resources of the authorization request; null (or empty) for none. */
  resource: string[] | null
  /** RFC 9449 §10: the DPoP key (thumbprint) the code's tokens must be bound to, or null. */
  dpopJkt: string | null
  authTime: number | null
  redeemedAt: number | null
  revokedAt: number | null
  createdAt: number
  expiresAt: number
}

interface Raw {
  id: string
  code_hash: string
  client_id: string
  user_id: string
  scopes: string
  redirect_uri: string | null
  code_challenge: string | null
  code_challenge_method: string | null
  nonce: string | null
  resource: string | null
  dpop_jkt: string | null
  auth_time: number | null
  redeemed_at: number | null
  revoked_at: number | null
  created_at: number
  expires_at: number
}

const fromRaw = (r: Raw): AuthCodeRow => ({
  id: r.id,
  codeHash: r.code_hash,
  clientId: r.client_id,
  userId: r.user_id,
  scopes: JSON.parse(r.scopes) as string[],
  redirectUri: r.redirect_uri,
  codeChallenge: r.code_challenge,
  codeChallengeMethod: r.code_challenge_method,
  nonce: r.nonce,
  resource: r.resource === null ? null : audienceList(decodeAudience(r.resource)),
  dpopJkt: r.dpop_jkt ?? null,
  authTime: r.auth_time,
  redeemedAt: r.redeemed_at,
  revokedAt: r.revoked_at,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
})

export class AuthCodeRepository {
  private readonly insertStmt
  private readonly byHash
  private readonly spend
  private readonly revokeStmt

  constructor(db: Db) {
    this.insertStmt = prepareWrite(
      db,
      `INSERT INTO oauth_auth_codes (id, code_hash, client_id, user_id, scopes, redirect_uri, code_challenge, code_challenge_method, nonce, resource, dpop_jkt, auth_time, redeemed_at, revoked_at, created_at, expires_at)
       VALUES (@id, @code_hash, @client_id, @user_id, @scopes, @redirect_uri, @code_challenge, @code_challenge_method, @nonce, @resource, @dpop_jkt, @auth_time, NULL, NULL, @created_at, @expires_at)`,
    )
    this.byHash = db.prepare<[string], Raw>('SELECT * FROM oauth_auth_codes WHERE code_hash = ?')
    this.spend = singleUse(db, 'oauth_auth_codes', 'redeemed_at', 'revoked_at IS NULL')
    this.revokeStmt = prepareWrite<[number, string]>(
      db,
      'UPDATE oauth_auth_codes SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL',
    )
  }

  insert(row: Omit<AuthCodeRow, 'redeemedAt' | 'revokedAt' | 'dpopJkt'> & {dpopJkt?: string | null}): void {
    this.insertStmt.run({
      id: row.id,
      code_hash: row.codeHash,
      client_id: row.clientId,
      user_id: row.userId,
      scopes: JSON.stringify(row.scopes),
      redirect_uri: row.redirectUri,
      code_challenge: row.codeChallenge,
      code_challenge_method: row.codeChallengeMethod,
      nonce: row.nonce,
      resource: row.resource === null || row.resource.length === 0 ? null : JSON.stringify(row.resource),
      dpop_jkt: row.dpopJkt ?? null,
      auth_time: row.authTime,
      created_at: row.createdAt,
      expires_at: row.expiresAt,
    })
  }

  findByHash(codeHash: string): AuthCodeRow | undefined {
    const raw = this.byHash.get(codeHash)
    return raw && fromRaw(raw)
  }

  /** Marks the code redeemed. True only for the one caller that wins the race, and only while unexpired and unrevoked. */
  redeem(id: string, now: number): boolean {
    return this.spend(id, now)
  }

  revoke(id: string, now: number): boolean {
    return this.revokeStmt.run(now, id).changes > 0
  }
}
