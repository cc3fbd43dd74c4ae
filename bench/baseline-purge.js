#!/usr/bin/env node
// Reference purge: what deleting expired token rows costs with plain SQL, for comparison with
// `passport purge`. Deletes expired refresh tokens, then expired access tokens no live refresh
// token points at, in short transactions (batches) so other connections are never locked out long.
//   node bench/baseline-purge.js DATABASE [--batch 5000]   → {"deleted":{…},"seconds":…}
import {parseArgs} from 'node:util'

import Database from 'better-sqlite3'

const {values: opts, positionals} = parseArgs({
  allowPositionals: true,
  options: {batch: {type: 'string', default: '5000'}},
})
const batch = Number(opts.batch)
const db = new Database(positionals[0], {fileMustExist: true})
db.pragma('busy_timeout = 10000')
db.pragma('journal_mode = WAL')
db.pragma('synchronous = NORMAL')
const started = process.hrtime.bigint()
const now = Date.now()
const refresh = db.prepare(
  `DELETE FROM oauth_refresh_tokens WHERE rowid IN (SELECT rowid FROM oauth_refresh_tokens WHERE expires_at < ? LIMIT ?)`,
)
const access = db.prepare(`DELETE FROM oauth_access_tokens WHERE rowid IN (
  SELECT a.rowid FROM oauth_access_tokens a WHERE a.expires_at < ?
  AND NOT EXISTS (SELECT 1 FROM oauth_refresh_tokens r WHERE r.access_token_id = a.id AND r.expires_at >= ?) LIMIT ?)`)
const deleted = {refresh: 0, access: 0}
for (let i = 0; i < 100_000; i++) {
  const n = refresh.run(now, batch).changes
  deleted.refresh += n
  if (n < batch) break
}
for (let i = 0; i < 100_000; i++) {
  const n = access.run(now, now, batch).changes
  deleted.access += n
  if (n < batch) break
}
db.pragma('wal_checkpoint(PASSIVE)')
db.close()
process.stdout.write(`${JSON.stringify({deleted, seconds: Number(process.hrtime.bigint() - started) / 1e9})}\n`)
