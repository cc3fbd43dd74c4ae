import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {tempDir} from '../helpers.js'
import {purge} from '../../src/core/purge.js'
import {Store} from '../../src/store/index.js'
import {defaultDb, expectOneLineError, openDb, passport, passportJson} from './support.js'

const HOUR = 3_600_000
const DAY = 24 * HOUR

/**
 * A database with one row for every case purge must get right. Names say what each row is;
 * `keep` rows must survive a purge of both kinds with --hours 0.
 */
function seed(path: string, now = Date.now()): void {
  const db = openDb(path)
  const past = now - 5 * DAY
  const future = now + 5 * DAY
  const access = db.prepare(
    `INSERT INTO oauth_access_tokens (id, client_id, user_id, scopes, audience, grant_type, family_id, revoked_at, created_at, expires_at)
     VALUES (?, 'web', 'alice', '[]', 'web', 'authorization_code', ?, ?, ?, ?)`,
  )
  const refresh = db.prepare(
    `INSERT INTO oauth_refresh_tokens (id, token_hash, access_token_id, family_id, client_id, user_id, scopes, rotated_at, revoked_at, created_at, expires_at)
     VALUES (?, ?, ?, ?, 'web', 'alice', '[]', ?, ?, ?, ?)`,
  )
  const code = db.prepare(
    `INSERT INTO oauth_auth_codes (id, code_hash, client_id, user_id, scopes, redeemed_at, revoked_at, created_at, expires_at) VALUES (?, ?, 'web', 'alice', '[]', ?, ?, ?, ?)`,
  )
  const device = db.prepare(
    `INSERT INTO oauth_device_codes (id, device_code_hash, user_code_hash, client_id, scopes, status, interval, created_at, expires_at) VALUES (?, ?, ?, 'web', '[]', ?, 5, ?, ?)`,
  )
  db.transaction(() => {
    // Family f1: one expired refresh token, nothing live → refresh and its access token go.
    access.run('a1-expired', 'f1', null, past - DAY, past)
    refresh.run('r1-expired-dead-family', 'h1', 'a1-expired', 'f1', null, null, past - DAY, past)
    // Family f2: a rotated (revoked) token and its live successor → both stay (reuse detection),
    // and so does the expired access token the rotated one points to.
    access.run('a2-expired-needed', 'f2', null, past - DAY, past)
    refresh.run('r2-rotated-live-family', 'h2', 'a2-expired-needed', 'f2', past, past, past - DAY, future)
    access.run('a3-live', 'f2', null, now, future)
    refresh.run('r3-live', 'h3', 'a3-live', 'f2', null, null, now, future)
    // Family f3: an expired refresh token whose family has a live member → stays.
    access.run('a8-expired-needed', 'f3', null, past - DAY, past)
    refresh.run('r4-expired-live-family', 'h4', 'a8-expired-needed', 'f3', null, null, past - DAY, past)
    access.run('a9-live', 'f3', null, now, future)
    refresh.run('r5-live', 'h5', 'a9-live', 'f3', null, null, now, future)
    // Family f4: revoked, unexpired, nothing live → refresh and its (revoked) access token go.
    access.run('a10-revoked', 'f4', past, past - DAY, future)
    refresh.run('r6-revoked-dead-family', 'h6', 'a10-revoked', 'f4', null, past, past - DAY, future)
    // Access tokens without refresh tokens.
    access.run('a4-expired', null, null, past - DAY, past)
    access.run('a5-revoked', null, past, past - DAY, future)
    access.run('a6-live', null, null, now, future)
    access.run('a7-revoked-an-hour-ago', null, now - HOUR, now - 2 * HOUR, future)
    // Authorization codes.
    code.run('c1-expired', 'ch1', null, null, past - DAY, past)
    code.run('c2-revoked', 'ch2', null, past, past - DAY, future)
    code.run('c3-live', 'ch3', null, null, now, future)
    code.run('c4-redeemed-unexpired', 'ch4', now, null, now, future)
    // Device codes.
    device.run('d1-expired', 'dh1', 'uh1', 'denied', past - DAY, past)
    device.run('d2-live', 'dh2', 'uh2', 'pending', now, future)
  })()
  db.close()
}

function remaining(path: string): Record<string, string[]> {
  const db = openDb(path)
  const ids = (table: string) =>
    (db.prepare(`SELECT id FROM ${table} ORDER BY id`).all() as Array<{id: string}>).map((r) => r.id)
  const result = {
    oauth_refresh_tokens: ids('oauth_refresh_tokens'),
    oauth_access_tokens: ids('oauth_access_tokens'),
    oauth_auth_codes: ids('oauth_auth_codes'),
    oauth_device_codes: ids('oauth_device_codes'),
  }
  db.close()
  return result
}

describe('passport purge', () => {
  let dir: string
  let cleanup: () => void
  let db: string
  beforeEach(async () => {
    ;({dir, cleanup} = tempDir())
    db = defaultDb(dir)
    await passportJson(dir, ['client', 'Web', '--id', 'web', '--redirect-uri', 'http://localhost:3000/callback'])
    seed(db)
  })
  afterEach(() => cleanup())

  it('without flags removes expired and revoked rows, never what a live token depends on', async () => {
    const result = await passport(dir, ['purge'])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toBe(
      'TABLE                 DELETED\n' +
        'oauth_refresh_tokens  2\n' +
        'oauth_access_tokens   5\n' +
        'oauth_auth_codes      2\n' +
        'oauth_device_codes    1\n',
    )
    expect(remaining(db)).toEqual({
      oauth_refresh_tokens: ['r2-rotated-live-family', 'r3-live', 'r4-expired-live-family', 'r5-live'],
      oauth_access_tokens: ['a2-expired-needed', 'a3-live', 'a6-live', 'a8-expired-needed', 'a9-live'],
      oauth_auth_codes: ['c3-live', 'c4-redeemed-unexpired'],
      oauth_device_codes: ['d2-live'],
    })
    // Nothing left to do: a second run deletes nothing.
    expect(await passportJson(dir, ['purge'])).toEqual({
      oauth_refresh_tokens: 0,
      oauth_access_tokens: 0,
      oauth_auth_codes: 0,
      oauth_device_codes: 0,
    })
  })

  it('--expired removes only expired rows', async () => {
    expect(await passportJson(dir, ['purge', '--expired'])).toEqual({
      oauth_refresh_tokens: 1,
      oauth_access_tokens: 2,
      oauth_auth_codes: 1,
      oauth_device_codes: 1,
    })
    const left = remaining(db)
    expect(left.oauth_refresh_tokens).not.toContain('r1-expired-dead-family')
    expect(left.oauth_refresh_tokens).toContain('r6-revoked-dead-family')
    expect(left.oauth_access_tokens).toEqual(
      expect.arrayContaining(['a2-expired-needed', 'a8-expired-needed', 'a5-revoked', 'a10-revoked']),
    )
  })

  it('--revoked removes only revoked rows (and no device codes: they are never revoked)', async () => {
    expect(await passportJson(dir, ['purge', '--revoked'])).toEqual({
      oauth_refresh_tokens: 1,
      oauth_access_tokens: 3,
      oauth_auth_codes: 1,
      oauth_device_codes: 0,
    })
    const left = remaining(db)
    expect(left.oauth_refresh_tokens).toEqual([
      'r1-expired-dead-family',
      'r2-rotated-live-family',
      'r3-live',
      'r4-expired-live-family',
      'r5-live',
    ])
    expect(left.oauth_access_tokens).not.toEqual(expect.arrayContaining(['a5-revoked']))
  })

  it('--revoked --expired is the same as no flag', async () => {
    expect(await passportJson(dir, ['purge', '--revoked', '--expired'])).toEqual({
      oauth_refresh_tokens: 2,
      oauth_access_tokens: 5,
      oauth_auth_codes: 2,
      oauth_device_codes: 1,
    })
  })

  it('--hours N keeps rows expired or revoked less than N hours ago', async () => {
    expect(await passportJson(dir, ['purge', '--hours', '2'])).toEqual({
      oauth_refresh_tokens: 2,
      oauth_access_tokens: 4,
      oauth_auth_codes: 2,
      oauth_device_codes: 1,
    })
    expect(remaining(db).oauth_access_tokens).toContain('a7-revoked-an-hour-ago')
    expect(await passportJson(dir, ['purge', '--hours', '200'])).toEqual({
      oauth_refresh_tokens: 0,
      oauth_access_tokens: 0,
      oauth_auth_codes: 0,
      oauth_device_codes: 0,
    })
    expectOneLineError(await passport(dir, ['purge', '--hours', '-1']), 2, /--hours/)
  })
})

describe('purge (core) over many windows', () => {
  it.each([
    ['one window of 97 rows per batch', {batchSize: 97}],
    ['the default windows of 1,000 rows, several per batch', {}],
  ])('walks every window and keeps rows that a live family needs, wherever they sit: %s', async (_, options) => {
    const {dir, cleanup} = tempDir()
    const store = Store.open(`${dir}/db.sqlite`)
    try {
      const now = Date.now()
      store.db
        .prepare(
          `INSERT INTO oauth_clients (id, name, type, grant_types, redirect_uris, created_at, updated_at) VALUES ('web', 'Web', 'confidential', '[]', '[]', 0, 0)`,
        )
        .run()
      const access = store.db.prepare(
        `INSERT INTO oauth_access_tokens (id, client_id, user_id, scopes, audience, grant_type, family_id, created_at, expires_at) VALUES (?, 'web', 'u', '[]', 'web', 'authorization_code', ?, ?, ?)`,
      )
      const refresh = store.db.prepare(
        `INSERT INTO oauth_refresh_tokens (id, token_hash, access_token_id, family_id, client_id, user_id, scopes, revoked_at, created_at, expires_at) VALUES (?, ?, ?, ?, 'web', 'u', '[]', ?, ?, ?)`,
      )
      store.transaction(() => {
        for (let i = 0; i < 3000; i++) {
          const id = String(i).padStart(6, '0')
          const liveFamily = i % 7 === 0
          // Every row is expired; every 7th family also has a live member inserted much later.
          access.run(`a${id}`, `f${id}`, now - 2 * DAY, now - DAY)
          refresh.run(`r${id}`, `h${id}`, `a${id}`, `f${id}`, now - DAY, now - 2 * DAY, now - DAY)
          if (liveFamily) refresh.run(`r${id}-live`, `h${id}-live`, `a${id}`, `f${id}`, null, now, now + DAY)
        }
      })
      const counts = await purge(store, {...options, now})
      const liveFamilies = Math.ceil(3000 / 7)
      expect(counts).toEqual({
        oauth_refresh_tokens: 3000 - liveFamilies,
        oauth_access_tokens: 3000 - liveFamilies,
        oauth_auth_codes: 0,
        oauth_device_codes: 0,
      })
      expect(store.db.prepare('SELECT COUNT(*) AS n FROM oauth_refresh_tokens').get()).toEqual({n: 2 * liveFamilies})
      const orphans = store.db
        .prepare(
          'SELECT COUNT(*) AS n FROM oauth_refresh_tokens r WHERE NOT EXISTS (SELECT 1 FROM oauth_access_tokens a WHERE a.id = r.access_token_id)',
        )
        .get()
      expect(orphans).toEqual({n: 0})
      // purge checkpoints after each batch itself, and leaves the connection's setting as it was.
      expect(store.db.pragma('wal_autocheckpoint', {simple: true})).toBe(1000)
    } finally {
      store.close()
      cleanup()
    }
  })
})
