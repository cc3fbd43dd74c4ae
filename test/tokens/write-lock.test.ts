import {mkdtempSync, rmSync} from 'node:fs'
import {createRequire} from 'node:module'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Worker} from 'node:worker_threads'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {uuidv7} from '../../src/core/ids.js'
import {retryWhileLocked} from '../../src/store/database.js'
import {Store} from '../../src/store/index.js'

/**
 * Another connection that holds the write lock like `passport purge` does: 20 ms taken, then 5 ms
 * free, over and over, counting its turns in shared memory, until told to stop.
 */
const HOLDER = `
const {workerData} = require('node:worker_threads')
const Database = require(workerData.betterSqlite)
const db = new Database(workerData.path)
db.pragma('busy_timeout = 10000')
const turns = new Int32Array(workerData.shared)
const spin = (ms) => { const end = performance.now() + ms; while (performance.now() < end) {} }
const hold = db.transaction(() => spin(20))
while (Atomics.load(turns, 1) === 0) {
  hold.immediate()
  Atomics.add(turns, 0, 1)
  spin(5)
}
db.close()
`

describe('writes while another connection keeps taking the write lock', () => {
  let dir: string
  let store: Store
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'passport-lock-'))
    store = Store.open(join(dir, 'passport.sqlite'))
    store.clients.insert({
      id: 'c',
      name: 'c',
      secretHash: null,
      type: 'public',
      grantTypes: ['client_credentials'],
      redirectUris: [],
      scopes: null,
      autoApprove: false,
      source: 'cli',
      createdAt: 0,
      updatedAt: 0,
    })
  })
  afterAll(() => {
    store.close()
    rmSync(dir, {recursive: true, force: true})
  })

  const row = () => {
    const now = Date.now()
    return {id: uuidv7(), clientId: 'c', userId: null, name: null, scopes: ['read'], audience: 'c', grantType: 'client_credentials', familyId: null, createdAt: now, expiresAt: now + 60_000}
  }

  it('each write takes the lock in the first free moment after it is released; the busy timeout is 10 s again afterwards', async () => {
    const shared = new SharedArrayBuffer(8)
    const turns = new Int32Array(shared)
    const holder = new Worker(HOLDER, {eval: true, workerData: {path: join(dir, 'passport.sqlite'), shared, betterSqlite: createRequire(import.meta.url).resolve('better-sqlite3')}})
    try {
      while (Atomics.load(turns, 0) < 2) await new Promise((resolve) => setTimeout(resolve, 5))
      const waited: number[] = []
      for (let i = 0; i < 12; i++) {
        const before = Atomics.load(turns, 0)
        if (i % 2 === 0) store.accessTokens.insert(row())
        else store.transaction(() => store.accessTokens.insert(row()))
        waited.push(Atomics.load(turns, 0) - before)
        await new Promise((resolve) => setTimeout(resolve, 7))
      }
      // SQLite's own busy handler comes back 15–25 ms apart after the first 20 ms of waiting and
      // would miss most 5 ms windows; polling every millisecond takes the next one.
      expect(Math.max(...waited)).toBeLessThanOrEqual(2)
    } finally {
      Atomics.store(turns, 1, 1)
      await holder.terminate()
    }
    expect(store.db.pragma('busy_timeout', {simple: true})).toBe(10_000)
    expect(store.db.prepare('SELECT count(*) FROM oauth_access_tokens').pluck().get()).toBe(12)
  })

  it('a write that fails for another reason fails at its first attempt, and the busy timeout is restored', () => {
    const duplicate = row()
    store.accessTokens.insert(duplicate)
    expect(() => store.accessTokens.insert(duplicate)).toThrow(/UNIQUE constraint failed/)
    expect(() => store.transaction(() => store.accessTokens.insert(duplicate))).toThrow(/UNIQUE constraint failed/)
    let attempts = 0
    const unique = Object.assign(new Error('UNIQUE constraint failed'), {code: 'SQLITE_CONSTRAINT_PRIMARYKEY'})
    expect(() =>
      retryWhileLocked(store.db, () => {
        attempts++
        throw unique
      }),
    ).toThrow(unique)
    expect(attempts).toBe(1)
    expect(store.db.pragma('busy_timeout', {simple: true})).toBe(10_000)
  })

  it('only SQLITE_BUSY is tried again, with SQLite\'s own busy handler off while it tries', () => {
    let attempts = 0
    const timeouts: unknown[] = []
    const result = retryWhileLocked(store.db, () => {
      timeouts.push(store.db.pragma('busy_timeout', {simple: true}))
      if (++attempts < 3) throw Object.assign(new Error('database is locked'), {code: 'SQLITE_BUSY'})
      return 'written'
    })
    expect(result).toBe('written')
    expect(attempts).toBe(3)
    expect(timeouts).toEqual([0, 0, 0])
    expect(store.db.pragma('busy_timeout', {simple: true})).toBe(10_000)
  })
})
