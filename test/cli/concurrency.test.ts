import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {tempDir} from '../helpers.js'
import {defaultDb, openDb, passport} from './support.js'

describe('several processes on one database', () => {
  let dir: string
  let cleanup: () => void
  beforeEach(() => ({dir, cleanup} = tempDir()))
  afterEach(() => cleanup())

  it('10 parallel `passport client` runs (and purges) on a fresh database all succeed without SQLITE_BUSY', async () => {
    const runs = await Promise.all([
      ...Array.from({length: 10}, (_, i) =>
        passport(dir, ['client', `App ${i}`, '--id', `app-${i}`, '--client-credentials', '--json'], {spawn: true}),
      ),
      passport(dir, ['purge', '--json'], {spawn: true}),
      passport(dir, ['client:list', '--json'], {spawn: true}),
    ])
    for (const run of runs) {
      expect(run.code, run.stderr).toBe(0)
      expect(run.stderr).not.toMatch(/SQLITE_BUSY|database is locked/i)
      JSON.parse(run.stdout)
    }
    const db = openDb(defaultDb(dir))
    expect(
      (db.prepare('SELECT id FROM oauth_clients ORDER BY id').all() as Array<{id: string}>).map((r) => r.id),
    ).toEqual(Array.from({length: 10}, (_, i) => `app-${i}`))
    expect(db.pragma('journal_mode', {simple: true})).toBe('wal')
    db.close()
  })
})
