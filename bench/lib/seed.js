// Bulk rows for the scale benchmark, written straight into passport's schema with better-sqlite3
// in large transactions (a million rows in seconds, not the minutes row-by-row inserts take).
import {createHash, randomBytes} from 'node:crypto'

import Database from 'better-sqlite3'

/** A UUIDv7 for a given millisecond and in-millisecond sequence (time-ordered like passport's). */
function uuidv7(ms, seq, rand) {
  const b = Buffer.alloc(16)
  b.writeUIntBE(ms, 0, 6)
  b[6] = 0x70 | ((seq >> 8) & 0x0f)
  b[7] = seq & 0xff
  rand.copy(b, 8, 0, 8)
  b[8] = 0x80 | (b[8] & 0x3f)
  const h = b.toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

/** Makes sure the bench client exists (the config sync of `serve` upserts it the same way). */
export function ensureClient(db, {id, name, secret, scopes}) {
  const now = Date.now()
  db.prepare(
    `INSERT OR IGNORE INTO oauth_clients (id, name, secret_hash, type, grant_types, redirect_uris, scopes, auto_approve, source, created_at, updated_at)
    VALUES (?, ?, ?, 'confidential', '["client_credentials"]', '[]', ?, 0, 'config', ?, ?)`,
  ).run(id, name, createHash('sha256').update(secret).digest('hex'), JSON.stringify(scopes), now, now)
}

/**
 * Inserts `rows` expired token rows: 80% access tokens (client_credentials and user tokens), 20%
 * refresh tokens pointing at them. All expired more than 7 days ago, so `purge` may delete
 * every one of them. Returns {access, refresh, seconds}.
 */
export function seedTokens(path, {rows, clientId, batch = 50_000}) {
  const started = process.hrtime.bigint()
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = OFF')
  db.pragma('cache_size = -262144')
  db.pragma('foreign_keys = OFF')
  const refreshRows = Math.floor(rows / 5)
  const accessRows = rows - refreshRows
  const insertAccess =
    db.prepare(`INSERT INTO oauth_access_tokens (id, client_id, user_id, name, scopes, audience, grant_type, family_id, revoked_at, created_at, expires_at)
    VALUES (?, ?, ?, NULL, '["read"]', ?, ?, ?, NULL, ?, ?)`)
  const insertRefresh =
    db.prepare(`INSERT INTO oauth_refresh_tokens (id, token_hash, access_token_id, family_id, client_id, user_id, scopes, audience, auth_time, nonce, rotated_at, revoked_at, created_at, expires_at)
    VALUES (?, ?, ?, ?, ?, ?, '["read"]', NULL, NULL, NULL, NULL, NULL, ?, ?)`)
  // Created 40 days ago onwards, one row per 2 ms, living 1 hour: every row long expired.
  const base = Date.now() - 40 * 24 * 3600 * 1000
  const rand = randomBytes(8 * batch)
  for (let start = 0; start < accessRows; start += batch) {
    randomBytes(8 * batch).copy(rand)
    db.transaction(() => {
      const end = Math.min(start + batch, accessRows)
      for (let i = start; i < end; i++) {
        const ms = base + i * 2
        const id = uuidv7(ms, i & 0xfff, rand.subarray((i - start) * 8))
        const hasRefresh = i < refreshRows
        const user = hasRefresh || i % 2 === 0 ? `user-${i % 1000}` : null
        insertAccess.run(
          id,
          clientId,
          user,
          clientId,
          user ? 'authorization_code' : 'client_credentials',
          hasRefresh ? id : null,
          ms,
          ms + 3_600_000,
        )
        if (hasRefresh) {
          const rid = uuidv7(ms + 1, i & 0xfff, rand.subarray((i - start) * 8))
          insertRefresh.run(rid, i.toString(16).padStart(64, '0'), id, id, clientId, user, ms, ms + 3_600_000)
        }
      }
    })()
  }
  db.pragma('wal_checkpoint(TRUNCATE)')
  db.close()
  return {access: accessRows, refresh: refreshRows, seconds: Number(process.hrtime.bigint() - started) / 1e9}
}

/** Row counts of the token tables. */
export function countTokens(path) {
  const db = new Database(path, {readonly: true, fileMustExist: true})
  try {
    const count = (table) => db.prepare(`SELECT count(*) AS n FROM ${table}`).get().n
    const now = Date.now()
    const expired = (table) => db.prepare(`SELECT count(*) AS n FROM ${table} WHERE expires_at < ?`).get(now).n
    return {
      access: count('oauth_access_tokens'),
      refresh: count('oauth_refresh_tokens'),
      codes: count('oauth_auth_codes'),
      device: count('oauth_device_codes'),
      expired:
        expired('oauth_access_tokens') +
        expired('oauth_refresh_tokens') +
        expired('oauth_auth_codes') +
        expired('oauth_device_codes'),
    }
  } finally {
    db.close()
  }
}
