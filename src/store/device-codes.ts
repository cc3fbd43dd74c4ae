import {createHmac} from 'node:crypto'

import {type Db, prepareWrite} from './database.js'

export type DeviceCodeStatus = 'pending' | 'approved' | 'denied' | 'redeemed'

export interface DeviceCodeRow {
  id: string
  deviceCodeHash: string
  userCodeHash: string
  clientId: string
  scopes: string[]
  status: DeviceCodeStatus
  /** Who approved or denied it. */
  userId: string | null
  /** Seconds the client must wait between polls; raised by 5 on each `slow_down`. */
  interval: number
  lastPolledAt: number | null
  decidedAt: number | null
  redeemedAt: number | null
  createdAt: number
  expiresAt: number
  /** RFC 8707 resources of the device authorization request; null for none. */
  resources?: string[] | null
}

interface Raw {
  id: string
  device_code_hash: string
  user_code_hash: string
  client_id: string
  scopes: string
  status: DeviceCodeStatus
  user_id: string | null
  interval: number
  last_polled_at: number | null
  decided_at: number | null
  redeemed_at: number | null
  created_at: number
  expires_at: number
  resources: string | null
}

const fromRaw = (r: Raw): DeviceCodeRow => ({
  id: r.id,
  deviceCodeHash: r.device_code_hash,
  userCodeHash: r.user_code_hash,
  clientId: r.client_id,
  scopes: JSON.parse(r.scopes) as string[],
  status: r.status,
  userId: r.user_id,
  interval: r.interval,
  lastPolledAt: r.last_polled_at,
  decidedAt: r.decided_at,
  redeemedAt: r.redeemed_at,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  resources: r.resources === null ? null : (JSON.parse(r.resources) as string[]),
})

export class DeviceCodeRepository {
  private readonly insertStmt
  private readonly byDeviceHash
  private readonly byUserHash
  private readonly decideStmt
  private readonly redeemStmt
  private readonly pollStmt
  private readonly slowDownStmt
  private readonly pendingStmt
  private readonly pendingByClientStmt
  private userCodeKey: Buffer | undefined

  constructor(private readonly db: Db) {
    this.insertStmt = prepareWrite(
      db,
      `INSERT INTO oauth_device_codes (id, device_code_hash, user_code_hash, client_id, scopes, status, user_id, interval, last_polled_at, decided_at, redeemed_at, created_at, expires_at, resources)
       VALUES (@id, @device_code_hash, @user_code_hash, @client_id, @scopes, 'pending', NULL, @interval, NULL, NULL, NULL, @created_at, @expires_at, @resources)`,
    )
    this.byDeviceHash = db.prepare<[string], Raw>('SELECT * FROM oauth_device_codes WHERE device_code_hash = ?')
    // The newest code with this user code: an old expired one must not shadow a new one.
    this.byUserHash = db.prepare<[string], Raw>(
      'SELECT * FROM oauth_device_codes WHERE user_code_hash = ? ORDER BY id DESC LIMIT 1',
    )
    this.decideStmt = prepareWrite<[string, string, number, string, number]>(
      db,
      "UPDATE oauth_device_codes SET status = ?, user_id = ?, decided_at = ? WHERE id = ? AND status = 'pending' AND expires_at > ?",
    )
    this.redeemStmt = prepareWrite<[number, string, number]>(
      db,
      "UPDATE oauth_device_codes SET status = 'redeemed', redeemed_at = ? WHERE id = ? AND status = 'approved' AND expires_at > ?",
    )
    this.pollStmt = prepareWrite<[number, string]>(db, 'UPDATE oauth_device_codes SET last_polled_at = ? WHERE id = ?')
    this.slowDownStmt = prepareWrite<[number, string]>(
      db,
      'UPDATE oauth_device_codes SET interval = interval + 5, last_polled_at = ? WHERE id = ?',
    )
    this.pendingStmt = db.prepare<[number], {count: number; oldest: number | null}>(
      "SELECT COUNT(*) AS count, MIN(expires_at) AS oldest FROM oauth_device_codes WHERE expires_at > ? AND status = 'pending'",
    )
    this.pendingByClientStmt = db.prepare<[number, string], {count: number; oldest: number | null}>(
      "SELECT COUNT(*) AS count, MIN(expires_at) AS oldest FROM oauth_device_codes WHERE expires_at > ? AND status = 'pending' AND client_id = ?",
    )
  }

  /** Unexpired codes still waiting for a decision (of one client, or all), and when the first of them expires. */
  pending(now: number, clientId?: string): {count: number; oldestExpiresAt: number | null} {
    const row = clientId === undefined ? this.pendingStmt.get(now)! : this.pendingByClientStmt.get(now, clientId)!
    return {count: row.count, oldestExpiresAt: row.oldest}
  }

  insert(
    row: Pick<
      DeviceCodeRow,
      | 'id'
      | 'deviceCodeHash'
      | 'userCodeHash'
      | 'clientId'
      | 'scopes'
      | 'interval'
      | 'createdAt'
      | 'expiresAt'
      | 'resources'
    >,
  ): void {
    this.insertStmt.run({
      id: row.id,
      device_code_hash: row.deviceCodeHash,
      user_code_hash: row.userCodeHash,
      client_id: row.clientId,
      scopes: JSON.stringify(row.scopes),
      interval: row.interval,
      created_at: row.createdAt,
      expires_at: row.expiresAt,
      resources: row.resources && row.resources.length > 0 ? JSON.stringify(row.resources) : null,
    })
  }

  findByDeviceCodeHash(hash: string): DeviceCodeRow | undefined {
    const raw = this.byDeviceHash.get(hash)
    return raw && fromRaw(raw)
  }

  /**
   * The stored form of a normalized user code: HMAC-SHA-256 under this database's random
   * `user_code_key` (passport_settings), so the 20^8 possible codes cannot be reversed from a copy of
   * the table without the key.
   */
  hashUserCode(normalized: string): string {
    this.userCodeKey ??= Buffer.from(
      this.db.prepare<[], string>("SELECT value FROM passport_settings WHERE name = 'user_code_key'").pluck().get()!,
      'hex',
    )
    return createHmac('sha256', this.userCodeKey).update(normalized).digest('hex')
  }

  findByUserCodeHash(hash: string): DeviceCodeRow | undefined {
    const raw = this.byUserHash.get(hash)
    return raw && fromRaw(raw)
  }

  /** Approves or denies a pending, unexpired code. True only for the one caller that wins. */
  decide(id: string, decision: 'approved' | 'denied', userId: string, now: number): boolean {
    return this.decideStmt.run(decision, userId, now, id, now).changes === 1
  }

  /** Marks an approved code exchanged for tokens. True only for the one caller that wins. */
  redeem(id: string, now: number): boolean {
    return this.redeemStmt.run(now, id, now).changes === 1
  }

  recordPoll(id: string, now: number): void {
    this.pollStmt.run(now, id)
  }

  /** RFC 8628 §3.5: `slow_down` raises the interval by 5 seconds for good. */
  slowDown(id: string, now: number): void {
    this.slowDownStmt.run(now, id)
  }
}
