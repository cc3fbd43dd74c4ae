import type {Store} from '../store/index.js'

export const PURGE_TABLES = [
  'oauth_refresh_tokens',
  'oauth_access_tokens',
  'oauth_auth_codes',
  'oauth_device_codes',
] as const
export type PurgeTable = (typeof PURGE_TABLES)[number]
export type PurgeCounts = Record<PurgeTable, number>

export interface PurgeOptions {
  /** Remove revoked rows. With neither `revoked` nor `expired`, both are removed (Laravel Passport's `passport:purge`). */
  revoked?: boolean
  /** Remove expired rows. */
  expired?: boolean
  /** Only rows that expired or were revoked more than this many hours ago (default 0). */
  hours?: number
  now?: number
  /**
   * Rows examined per write transaction, one window each (for tests). Default: windows of 1,000
   * rows, as many per transaction as fit in ~25 ms, so that each holds the write lock about 30 ms
   * with its COMMIT however slow the rows are: pages of an index are rewritten once per
   * transaction, however few rows of theirs it deletes, so fewer, larger ones write less.
   */
  batchSize?: number
}

/**
 * Deletes expired and revoked refresh tokens, access tokens, authorization codes and device codes,
 * in short `BEGIN IMMEDIATE` batches with a pause between them, so a server writing to the same
 * file is never held up for long. It never deletes what something still valid depends on:
 *
 * - a refresh token (revoked, rotated or expired) whose family still has a live member: replaying
 *   it must still be detected as reuse and revoke the family;
 * - an access-token row that a remaining refresh-token row points to (refresh rows go first).
 *
 * Each table is walked once in rowid order, a window of rows at a time, so the cost is linear in
 * the table size and no DELETE scans more than one window, however many rows are kept.
 */
export async function purge(store: Store, options: PurgeOptions = {}): Promise<PurgeCounts> {
  const both = !options.revoked && !options.expired
  const revoked = both || Boolean(options.revoked)
  const expired = both || Boolean(options.expired)
  const now = options.now ?? Date.now()
  const hours = options.hours ?? 0
  if (!Number.isFinite(hours) || hours < 0) throw new RangeError('hours must be a non-negative number')
  const params = {now, cutoff: now - Math.round(hours * 3_600_000)}

  const when = (revokedColumn: string | null): string => {
    const parts: string[] = []
    if (expired) parts.push('expires_at < @cutoff')
    if (revoked && revokedColumn) parts.push(`(${revokedColumn} IS NOT NULL AND ${revokedColumn} < @cutoff)`)
    return parts.length === 0 ? '0' : parts.join(' OR ')
  }

  const conditions: Record<PurgeTable, string> = {
    oauth_refresh_tokens: `(${when('revoked_at')}) AND NOT EXISTS (
        SELECT 1 FROM oauth_refresh_tokens AS live
        WHERE live.family_id = t.family_id AND live.revoked_at IS NULL AND live.expires_at > @now)`,
    oauth_access_tokens: `(${when('revoked_at')}) AND NOT EXISTS (
        SELECT 1 FROM oauth_refresh_tokens AS r WHERE r.access_token_id = t.id)`,
    oauth_auth_codes: when('revoked_at'),
    // Device codes are never revoked; a denied or redeemed one goes when it expires.
    oauth_device_codes: expired ? 'expires_at < @cutoff' : '0',
  }

  const counts = {} as PurgeCounts
  for (const table of PURGE_TABLES) {
    counts[table] = await purgeTable(store, table, conditions[table], params, options.batchSize)
  }
  return counts
}

async function purgeTable(
  store: Store,
  table: PurgeTable,
  condition: string,
  params: Record<string, number>,
  fixedSize: number | undefined,
): Promise<number> {
  if (condition === '0') return 0
  const {db} = store
  const size = fixedSize ?? WINDOW_ROWS
  // The upper rowid of the next window: the size-th row after `lo` (or the last row).
  const windowEnd = db.prepare<{lo: number; offset: number}, {rowid: number}>(
    `SELECT rowid FROM ${table} WHERE rowid > @lo ORDER BY rowid LIMIT 1 OFFSET @offset`,
  )
  const lastRow = db.prepare<{lo: number}, {rowid: number}>(
    `SELECT MAX(rowid) AS rowid FROM ${table} WHERE rowid > @lo`,
  )
  const remove = db.prepare(`DELETE FROM ${table} AS t WHERE t.rowid > @lo AND t.rowid <= @hi AND (${condition})`)
  // One batch (run in one write transaction): window after window from `lo` until the table ends
  // or the batch has held the lock for LOCK_BUDGET_MS, however slow the rows turn out to be (one
  // window only when the caller fixed the size).
  const batch = (lo: number): {lo: number; done: boolean; deleted: number} => {
    const started = performance.now()
    let deleted = 0
    for (;;) {
      const hi = windowEnd.get({lo, offset: size - 1})?.rowid ?? lastRow.get({lo})?.rowid ?? null
      if (hi === null) return {lo, done: true, deleted}
      deleted += remove.run({...params, lo, hi}).changes
      lo = hi
      if (fixedSize !== undefined || performance.now() - started >= LOCK_BUDGET_MS) return {lo, done: false, deleted}
    }
  }

  // SQLite checkpoints the WAL from COMMIT once it holds 1,000 pages (wal_autocheckpoint). Here
  // the checkpoint runs right after each COMMIT instead: for other connections that is the same
  // moment (an automatic checkpoint also runs after the write lock is released, and while it runs
  // a server's own automatic checkpoint finds the checkpoint lock taken and skips it), but the
  // pause below can then count the checkpoint as time the lock is free instead of adding to it.
  const autocheckpoint = db.pragma('wal_autocheckpoint', {simple: true}) as number
  db.pragma('wal_autocheckpoint = 0')
  try {
    let deleted = 0
    let lo = Number.MIN_SAFE_INTEGER
    for (;;) {
      const result = store.transaction(() => batch(lo))
      deleted += result.deleted
      lo = result.lo
      const committed = performance.now()
      if (result.deleted > 0) db.pragma('wal_checkpoint(PASSIVE)')
      if (result.done) return deleted
      const wait = LOCK_FREE_MS - (performance.now() - committed)
      if (wait > 0) await pause(wait)
    }
  } finally {
    db.pragma(`wal_autocheckpoint = ${autocheckpoint}`)
  }
}

/** Rows per window: one DELETE statement, ~3 ms of work when every row goes. */
const WINDOW_ROWS = 1000

/**
 * How long a batch deletes windows before it commits. With the COMMIT (writing the batch's pages
 * to the WAL) it holds the write lock ~30 ms: a writer that finds it taken (`passport serve`
 * inserting a token) waits that long at most, plus {@link LOCK_FREE_MS}. Longer batches write
 * less (each rewrites the index pages it touches once) but stall the server longer.
 */
const LOCK_BUDGET_MS = 25

/**
 * How long the write lock stays free after each batch, at least (the checkpoint after the
 * COMMIT counts). passport's own writers try again every millisecond while the lock is taken
 * (`retryWhileLocked`), so a waiting one takes it within this window, ahead of the next batch.
 * 3 ms leaves room for a wake-up that comes late on a busy machine. Other programs waiting with
 * SQLite's own busy handler come back 1–25 ms (then 50 and 100 ms) apart and may need several
 * windows to get in: a purge slows them down, not passport.
 */
const LOCK_FREE_MS = 3

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
