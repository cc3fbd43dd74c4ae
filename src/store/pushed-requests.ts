import {type Db, prepareWrite} from './database.js'
import {singleUse} from './single-use.js'

/** A pushed authorization request (RFC 9126): the parameters a `request_uri` stands for. */
export interface PushedRequestRow {
  id: string
  /** SHA-256 of the `request_uri`; the URI itself is never stored. */
  requestUriHash: string
  clientId: string
  /** The pushed authorization parameters in the order sent, repeats kept (never client credentials). */
  parameters: [string, string][]
  /** When `/authorize` used it; a request_uri is used once. */
  usedAt: number | null
  createdAt: number
  expiresAt: number
}

interface Raw {
  id: string
  request_uri_hash: string
  client_id: string
  parameters: string
  used_at: number | null
  created_at: number
  expires_at: number
}

const fromRaw = (r: Raw): PushedRequestRow => ({
  id: r.id,
  requestUriHash: r.request_uri_hash,
  clientId: r.client_id,
  parameters: JSON.parse(r.parameters) as [string, string][],
  usedAt: r.used_at,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
})

export class PushedRequestRepository {
  private readonly insertStmt
  private readonly byHash
  private readonly spend
  private readonly sweepStmt
  private readonly trimStmt

  constructor(db: Db) {
    this.insertStmt = prepareWrite(
      db,
      `INSERT INTO oauth_pushed_requests (id, request_uri_hash, client_id, parameters, used_at, created_at, expires_at)
       VALUES (@id, @request_uri_hash, @client_id, @parameters, NULL, @created_at, @expires_at)`,
    )
    this.byHash = db.prepare<[string], Raw>('SELECT * FROM oauth_pushed_requests WHERE request_uri_hash = ?')
    this.spend = singleUse(db, 'oauth_pushed_requests', 'used_at')
    this.sweepStmt = prepareWrite<[number]>(db, 'DELETE FROM oauth_pushed_requests WHERE expires_at <= ?')
    // Ids are time-ordered: everything past the newest `keep` rows of the client goes.
    this.trimStmt = prepareWrite<[string, string, number]>(
      db,
      'DELETE FROM oauth_pushed_requests WHERE client_id = ? AND id IN (SELECT id FROM oauth_pushed_requests WHERE client_id = ? ORDER BY id DESC LIMIT -1 OFFSET ?)',
    )
  }

  insert(row: Omit<PushedRequestRow, 'usedAt'>): void {
    this.insertStmt.run({
      id: row.id,
      request_uri_hash: row.requestUriHash,
      client_id: row.clientId,
      parameters: JSON.stringify(row.parameters),
      created_at: row.createdAt,
      expires_at: row.expiresAt,
    })
  }

  findByHash(hash: string): PushedRequestRow | undefined {
    const raw = this.byHash.get(hash)
    return raw && fromRaw(raw)
  }

  /** Marks the request used. True only for the one caller that wins the race, and only while unexpired. */
  use(id: string, now: number): boolean {
    return this.spend(id, now)
  }

  /** Deletes every expired request; returns how many. */
  sweep(now: number): number {
    return this.sweepStmt.run(now).changes
  }

  /** Keeps only the client's newest `keep` requests; returns how many older ones were deleted. */
  trim(clientId: string, keep: number): number {
    return this.trimStmt.run(clientId, clientId, keep).changes
  }
}
