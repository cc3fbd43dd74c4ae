import {statSync} from 'node:fs'
import {dirname} from 'node:path'

import Database from 'better-sqlite3'

import {UserError} from '../errors.js'
import {createFileExclusively, errorCode, lstatIfExists, makeDirectory, ownershipProblem} from '../files.js'
import {MIGRATIONS} from './migrations.js'

export type Db = Database.Database

/** How long a write waits for another connection's write lock before failing with SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 10_000

/**
 * Opens (creating on first use) the SQLite database: WAL so the CLI and a running server can
 * share the file, a busy timeout so a writer waits instead of failing with SQLITE_BUSY, foreign
 * keys on, and the schema migrated to the latest version.
 */
export function openDatabase(path: string): Db {
  if (path !== ':memory:') prepareDatabaseFile(path)
  let db: Db
  try {
    db = new Database(path)
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`)
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    db.pragma('foreign_keys = ON')
  } catch (error) {
    throw new UserError(`Cannot open database ${path}: ${(error as Error).message}.`, {cause: error})
  }
  migrate(db)
  return db
}

/**
 * Makes sure the database file passport opens is its user's own: a missing directory is created
 * 0700 and a missing file 0600 (SQLite gives the `-wal` and `-shm` files the database file's
 * mode); a file, `-wal` or `-shm` owned by another user or writable by every user is refused, and
 * so is a `-wal` or `-shm` that is a symbolic link.
 */
function prepareDatabaseFile(path: string): void {
  try {
    makeDirectory(dirname(path), 0o700)
  } catch (error) {
    throw new UserError(`Cannot create the directory for database ${path} (${errorCode(error)}).`, {cause: error})
  }
  try {
    createFileExclusively(path, 0o600)
  } catch (error) {
    throw new UserError(`Cannot create database ${path} (${errorCode(error)}).`, {cause: error})
  }
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    const link = lstatIfExists(file)
    if (!link) continue
    // A link of the user's own may name the database file; the `-wal` and `-shm` are SQLite's to make.
    const linkProblem = !link.isSymbolicLink()
      ? undefined
      : file !== path
        ? 'is a symbolic link'
        : process.getuid && link.uid !== process.getuid()
          ? `is a symbolic link owned by another user (uid ${link.uid})`
          : undefined
    const problem = linkProblem ?? ownershipProblem(link.isSymbolicLink() ? statSync(file) : link)
    if (problem)
      throw new UserError(
        `Database file ${file} ${problem}; passport will not use it. Remove it or choose another --database.`,
      )
  }
}

export function migrate(db: Db): void {
  const current = db.pragma('user_version', {simple: true}) as number
  if (current > MIGRATIONS.length) {
    throw new UserError(
      `The database schema (version ${current}) is newer than this passport understands (${MIGRATIONS.length}); upgrade passport.`,
    )
  }
  if (current === MIGRATIONS.length) return
  // A step may rebuild a table (SQLite cannot change a CHECK constraint in place): with foreign
  // keys on, dropping the old table would cascade into every row that references it. They are off
  // while migrating (the pragma cannot change inside a transaction), and each step must leave no
  // dangling reference.
  const foreignKeys = db.pragma('foreign_keys', {simple: true}) as number
  db.pragma('foreign_keys = OFF')
  try {
    for (let version = current; version < MIGRATIONS.length; version++) {
      const step = db.transaction(() => {
        // Another process may have migrated while we waited for the write lock.
        if ((db.pragma('user_version', {simple: true}) as number) !== version) return
        db.exec(MIGRATIONS[version]!)
        if ((db.pragma('foreign_key_check') as unknown[]).length > 0)
          throw new UserError(
            `Migration ${version + 1} would leave rows referring to missing ones; the database was not changed.`,
          )
        db.pragma(`user_version = ${version + 1}`)
      })
      step.immediate()
    }
  } finally {
    if (foreignKeys) db.pragma('foreign_keys = ON')
  }
}

/**
 * A runner of write transactions on `db`: each call runs `fn` in one `BEGIN IMMEDIATE`
 * transaction (all of it happens, or none), waiting for the write lock as
 * {@link retryWhileLocked} does. Build it once per connection: better-sqlite3's transaction
 * wrapper costs to make on the hot path.
 */
export function writeTransactions(db: Db): <T>(fn: () => T) => T {
  const transaction = db.transaction((fn: () => unknown) => fn())
  return <T>(fn: () => T) => retryWhileLocked(db, () => transaction.immediate(fn)) as T
}

/** A statement that writes, run through {@link retryWhileLocked}. */
export interface WriteStatement<P extends unknown[]> {
  run(...params: P): Database.RunResult
}

/** Prepares a write statement whose runs outside a transaction wait for the write lock as {@link retryWhileLocked} does. */
export function prepareWrite<P extends unknown[] = unknown[]>(db: Db, sql: string): WriteStatement<P> {
  const statement = db.prepare<P>(sql)
  return {run: (...params) => retryWhileLocked(db, () => statement.run(...params))}
}

/**
 * Runs `write` (one statement, or one `BEGIN IMMEDIATE` transaction) and, while another connection
 * holds the write lock, tries again every millisecond for up to the busy timeout (or the bound
 * {@link limitLockWait} set). SQLite's own
 * busy handler sleeps 1, 2, 5, 10, 15, 20, 25… ms between attempts, so a writer could come back
 * up to 25 ms after the lock was freed; `purge` would have to leave the lock free that long after
 * every batch, and spent a third of its time waiting. Like SQLite's handler this waits
 * synchronously. Inside a transaction the lock is already held and `write` simply runs.
 */
export function retryWhileLocked<T>(db: Db, write: () => T): T {
  if (db.inTransaction) return write()
  const limit = lockWaitLimits.get(db)
  const handler = busyHandler(db)
  handler.off.get()
  try {
    // After a wait that ran out, the lock looks stuck: fail at once for a while instead of
    // holding the event loop again for every request.
    const stuck = limit !== undefined && performance.now() < limit.stuckUntil
    let deadline = 0
    for (;;) {
      try {
        const result = write()
        if (limit) limit.stuckUntil = 0
        return result
      } catch (error) {
        if (!isBusy(error)) throw error
        if (stuck) throw error
        if (deadline === 0) deadline = performance.now() + (limit?.ms ?? BUSY_TIMEOUT_MS)
        else if (performance.now() >= deadline) {
          if (limit) limit.stuckUntil = performance.now() + STUCK_FOR_MS
          throw error
        }
      }
      Atomics.wait(sleeper, 0, 0, 1)
    }
  } finally {
    handler.on.get()
  }
}

/** How long writes fail at once after a bounded wait for the lock ran out. */
const STUCK_FOR_MS = 1000

const lockWaitLimits = new WeakMap<Db, {ms: number; stuckUntil: number}>()

/**
 * Bounds how long a write (and SQLite's own busy handler, for reads) waits for the lock on this
 * connection: the server's event loop must not stop for 10 s because another program holds the
 * lock. A write that runs out fails with SQLITE_BUSY (the server answers 503), and for the next
 * second writes fail at once unless the lock is free.
 */
export function limitLockWait(db: Db, ms: number): void {
  lockWaitLimits.set(db, {ms, stuckUntil: 0})
  busyHandlers.delete(db)
  db.pragma(`busy_timeout = ${ms}`)
}

const sleeper = new Int32Array(new SharedArrayBuffer(4))

const busyHandlers = new WeakMap<Db, {off: Database.Statement; on: Database.Statement}>()

/** Statements that switch SQLite's busy handler off and back on, prepared once per connection. */
function busyHandler(db: Db): {off: Database.Statement; on: Database.Statement} {
  let handler = busyHandlers.get(db)
  if (!handler) {
    const timeout = lockWaitLimits.get(db)?.ms ?? BUSY_TIMEOUT_MS
    handler = {
      off: db.prepare('PRAGMA busy_timeout = 0').pluck(),
      on: db.prepare(`PRAGMA busy_timeout = ${timeout}`).pluck(),
    }
    busyHandlers.set(db, handler)
  }
  return handler
}

function isBusy(error: unknown): boolean {
  return (
    typeof (error as {code?: unknown})?.code === 'string' && (error as {code: string}).code.startsWith('SQLITE_BUSY')
  )
}

/**
 * Group commit: writes queued here wait in memory until one of their callers needs its own
 * write committed; that caller then commits everything queued, in one transaction. Under load
 * the queue holds about one write per request in flight, and a transaction of several rows costs
 * SQLite a fraction of one transaction per row (each page changed is written to the WAL once).
 * A caller must not hand out what its write records before the commit function returned.
 */
export class GroupCommit {
  private queue: QueuedWrite[] = []
  private readonly transaction: <T>(fn: () => T) => T

  constructor(db: Db) {
    this.transaction = writeTransactions(db)
  }

  /** Queues `write`; the function returned commits it (with all queued so far) unless already done, and throws its error. */
  add(write: () => void): () => void {
    const queued: QueuedWrite = {write, done: false, failed: false, error: undefined}
    this.queue.push(queued)
    return () => {
      if (!queued.done) this.commit()
      if (queued.failed) throw queued.error
    }
  }

  private commit(): void {
    const batch = this.queue
    this.queue = []
    try {
      this.transaction(() => {
        for (const queued of batch) queued.write()
      })
    } catch (error) {
      // One bad write must not fail the others: they are written one by one. A lock that stayed
      // taken for the whole busy timeout fails them all; waiting again for each would not help.
      if (batch.length === 1 || isBusy(error)) {
        for (const queued of batch) fail(queued, error)
      } else {
        for (const queued of batch) {
          try {
            this.transaction(queued.write)
          } catch (own) {
            fail(queued, own)
          }
        }
      }
    } finally {
      for (const queued of batch) queued.done = true
    }
  }
}

interface QueuedWrite {
  write: () => void
  done: boolean
  failed: boolean
  error: unknown
}

function fail(queued: QueuedWrite, error: unknown): void {
  queued.failed = true
  queued.error = error
}
