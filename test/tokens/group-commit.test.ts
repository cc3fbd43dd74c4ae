import {join} from 'node:path'

import Database from 'better-sqlite3'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {GroupCommit} from '../../src/store/database.js'
import {Store} from '../../src/store/index.js'
import {tempDir} from '../helpers.js'

describe('group commit of writes', () => {
  let cleanup: () => void
  let store: Store
  /** A second connection: sees only what is committed. */
  let reader: Database.Database
  let group: GroupCommit
  beforeEach(() => {
    let dir: string
    ;({dir, cleanup} = tempDir('passport-group-'))
    store = Store.open(join(dir, 'passport.sqlite'))
    store.db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)')
    reader = new Database(join(dir, 'passport.sqlite'))
    group = new GroupCommit(store.db)
  })
  afterEach(() => {
    reader.close()
    store.close()
    cleanup()
  })

  const insert = (id: number) => () => void store.db.prepare('INSERT INTO t (id) VALUES (?)').run(id)
  const committed = () => reader.prepare('SELECT id FROM t ORDER BY id').pluck().all()
  const dataVersion = () => reader.pragma('data_version', {simple: true}) as number

  it('keeps queued writes uncommitted until one caller commits, then commits them all in one transaction', () => {
    const commits = [1, 2, 3].map((id) => group.add(insert(id)))
    expect(committed()).toEqual([])
    const before = dataVersion()
    commits[1]!()
    expect(committed()).toEqual([1, 2, 3])
    const after = dataVersion()
    expect(after).not.toBe(before)
    // The other callers' writes are already committed: their functions start no transaction.
    commits[0]!()
    commits[2]!()
    expect(dataVersion()).toBe(after)
  })

  it('leaves a write queued after a commit for the next one', () => {
    const first = group.add(insert(1))
    first()
    const second = group.add(insert(2))
    first()
    expect(committed()).toEqual([1])
    second()
    expect(committed()).toEqual([1, 2])
  })

  it('fails only the write that failed: the others of its batch are committed one by one', () => {
    store.db.prepare('INSERT INTO t (id) VALUES (2)').run()
    const calls: number[] = []
    const counted = (id: number) => () => {
      calls.push(id)
      insert(id)()
    }
    const commits = [1, 2, 3].map((id) => group.add(counted(id)))
    expect(() => commits[0]!()).not.toThrow()
    expect(committed()).toEqual([1, 2, 3])
    expect(() => commits[1]!()).toThrow(expect.objectContaining({code: 'SQLITE_CONSTRAINT_PRIMARYKEY'}))
    expect(() => commits[2]!()).not.toThrow()
    // The batch (1, 2 fails), then each write alone.
    expect(calls).toEqual([1, 2, 1, 2, 3])
  })

  it('tries a lone failing write once and throws its error every time it is asked', () => {
    store.db.prepare('INSERT INTO t (id) VALUES (7)').run()
    let calls = 0
    const commit = group.add(() => {
      calls++
      insert(7)()
    })
    expect(() => commit()).toThrow(expect.objectContaining({code: 'SQLITE_CONSTRAINT_PRIMARYKEY'}))
    expect(() => commit()).toThrow(expect.objectContaining({code: 'SQLITE_CONSTRAINT_PRIMARYKEY'}))
    expect(calls).toBe(1)
  })
})
