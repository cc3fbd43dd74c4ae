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
 * Another connection that holds the write lock like `passport purge` does, in turns steered by
 * events in shared memory (never by time): it takes the lock, says so (slot 2), keeps it until
 * the test says a write has started (slot 3) and 20 ms more, frees it and counts the turn
 * (slot 0), then waits until that write is done (slot 4) before taking the lock again; slot 1
 * stops it.
 */
const HOLDER = `
const {workerData} = require('node:worker_threads')
const Database = require(workerData.betterSqlite)
const db = new Database(workerData.path)
db.pragma('busy_timeout = 10000')
const slots = new Int32Array(workerData.shared)
const spin = (ms) => { const end = performance.now() + ms; while (performance.now() < end) {} }
const hold = db.transaction((turn) => {
  Atomics.store(slots, 2, turn + 1)
  Atomics.notify(slots, 2)
  while (Atomics.load(slots, 3) <= turn && Atomics.load(slots, 1) === 0) Atomics.wait(slots, 3, turn, 1000)
  spin(20)
})
for (let turn = 0; Atomics.load(slots, 1) === 0; turn++) {
  hold.immediate(turn)
  Atomics.add(slots, 0, 1)
  while (Atomics.load(slots, 4) <= turn && Atomics.load(slots, 1) === 0) Atomics.wait(slots, 4, turn, 1000)
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
    return {
      id: uuidv7(),
      clientId: 'c',
      userId: null,
      name: null,
      scopes: ['read'],
      audience: 'c',
      grantType: 'client_credentials',
      familyId: null,
      createdAt: now,
      expiresAt: now + 60_000,
    }
  }

  it('each write issued while another connection holds the lock waits for exactly that hold and takes the lock when it is freed; the busy timeout is 10 s again afterwards', async () => {
    const shared = new SharedArrayBuffer(20)
    const slots = new Int32Array(shared)
    const holder = new Worker(HOLDER, {
      eval: true,
      workerData: {
        path: join(dir, 'passport.sqlite'),
        shared,
        betterSqlite: createRequire(import.meta.url).resolve('better-sqlite3'),
      },
    })
    try {
      const waited: number[] = []
      for (let i = 0; i < 12; i++) {
        // The holder has the lock for turn i (an event, not a delay).
        expect(Atomics.wait(slots, 2, i, 10_000)).not.toBe('timed-out')
        expect(Atomics.load(slots, 2)).toBe(i + 1)
        const before = Atomics.load(slots, 0)
        Atomics.store(slots, 3, i + 1)
        Atomics.notify(slots, 3)
        if (i % 2 === 0) store.accessTokens.insert(row())
        else store.transaction(() => store.accessTokens.insert(row()))
        waited.push(Atomics.load(slots, 0) - before)
        Atomics.store(slots, 4, i + 1)
        Atomics.notify(slots, 4)
      }
      // No write waited for more than the one hold it met (the holder may release before the write
      // reaches SQLite: then it waited for none); and writes did meet a held lock.
      expect(
        waited.every((w) => w === 0 || w === 1),
        String(waited),
      ).toBe(true)
      expect(
        waited.some((w) => w === 1),
        String(waited),
      ).toBe(true)
    } finally {
      Atomics.store(slots, 1, 1)
      Atomics.notify(slots, 3)
      Atomics.notify(slots, 4)
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

  it("only SQLITE_BUSY is tried again, with SQLite's own busy handler off while it tries", () => {
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
