import {mkdirSync} from 'node:fs'
import {dirname} from 'node:path'

import Database from 'better-sqlite3'

import {UserError} from '../core/errors.js'
import {MIGRATIONS} from './migrations.js'

export type Db = Database.Database

/**
 * Opens (creating on first use) the SQLite database: WAL so the CLI and a running server can
 * share the file, a busy timeout so a writer waits instead of failing with SQLITE_BUSY, foreign
 * keys on, and the schema migrated to the latest version.
 */
export function openDatabase(path: string): Db {
  if (path !== ':memory:') {
    try {
      mkdirSync(dirname(path), {recursive: true})
    } catch (error) {
      throw new UserError(`Cannot create the directory for database ${path} (${(error as NodeJS.ErrnoException).code ?? 'unknown error'}).`, {cause: error})
    }
  }
  let db: Db
  try {
    db = new Database(path)
    db.pragma('busy_timeout = 10000')
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    db.pragma('foreign_keys = ON')
  } catch (error) {
    throw new UserError(`Cannot open database ${path}: ${(error as Error).message}.`, {cause: error})
  }
  migrate(db)
  return db
}

export function migrate(db: Db): void {
  const current = db.pragma('user_version', {simple: true}) as number
  if (current > MIGRATIONS.length) {
    throw new UserError(`The database schema (version ${current}) is newer than this passport understands (${MIGRATIONS.length}); upgrade passport.`)
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    const step = db.transaction(() => {
      // Another process may have migrated while we waited for the write lock.
      if ((db.pragma('user_version', {simple: true}) as number) !== version) return
      db.exec(MIGRATIONS[version]!)
      db.pragma(`user_version = ${version + 1}`)
    })
    step.immediate()
  }
}
