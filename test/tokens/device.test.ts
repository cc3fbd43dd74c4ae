import {createHash, createHmac} from 'node:crypto'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {createClient} from '../../src/core/clients.js'
import {defaultConfig} from '../../src/core/config.js'
import {createDeviceAuthorization} from '../../src/core/device.js'
import {Store} from '../../src/store/index.js'
import {oneError, type Workspace, workspace} from './fixture.js'

describe('passport device:approve', () => {
  let ws: Workspace
  let store: Store
  let clientId: string
  beforeAll(async () => {
    ws = await workspace()
    // The device code is created through the core, as POST /device/code would, in the same database file.
    store = Store.open(join(ws.dir, 'storage', 'passport.sqlite'))
    clientId = createClient(store, defaultConfig(), {name: 'TV App', kind: 'device'}).client.id
  })
  afterAll(() => {
    store.close()
    ws.cleanup()
  })

  const newCode = (ttl = 600_000, now = Date.now()) =>
    createDeviceAuthorization(store, {id: clientId}, ['read'], ttl, now)
  const row = (id: string) =>
    store.deviceCodes.findByDeviceCodeHash(
      store.db.prepare('SELECT device_code_hash FROM oauth_device_codes WHERE id = ?').pluck().get(id) as string,
    )!

  it('checklist 148: user codes are stored as HMAC-SHA-256 under a random per-database key, not a plain SHA-256; the CLI still finds them', async () => {
    const {userCode, row: created} = newCode()
    const normalized = userCode.replace('-', '')
    const stored = store.db
      .prepare('SELECT user_code_hash FROM oauth_device_codes WHERE id = ?')
      .pluck()
      .get(created.id) as string
    const key = store.db
      .prepare("SELECT value FROM passport_settings WHERE name = 'user_code_key'")
      .pluck()
      .get() as string
    expect(key).toMatch(/^[0-9a-f]{64}$/)
    expect(stored).not.toBe(createHash('sha256').update(normalized).digest('hex'))
    expect(stored).toBe(createHmac('sha256', Buffer.from(key, 'hex')).update(normalized).digest('hex'))
    const other = Store.open(join(ws.dir, 'storage', 'other.sqlite'))
    try {
      expect(
        other.db.prepare("SELECT value FROM passport_settings WHERE name = 'user_code_key'").pluck().get(),
      ).not.toBe(key)
    } finally {
      other.close()
    }
    const out = await ws.ok(['device:approve', userCode, '--user', 'alice'])
    expect(out).toContain(`Approved device code ${userCode}`)
    expect(row(created.id)).toMatchObject({status: 'approved', userId: 'alice'})
  })

  it('approves a pending code as the user', async () => {
    const {userCode, row: created} = newCode()
    const out = await ws.ok(['device:approve', userCode, '--user', 'alice'])
    expect(out).toBe(`Approved device code ${userCode} for TV App (${clientId}) as alice; scopes: read.`)
    expect(row(created.id)).toMatchObject({status: 'approved', userId: 'alice', decidedAt: expect.any(Number)})
  })

  it('matches the code ignoring case, spaces and hyphens; --json', async () => {
    const {userCode, row: created} = newCode()
    const typed = userCode.replace('-', ' ').toLowerCase()
    const json = JSON.parse(await ws.ok(['device:approve', typed, '--user', 'bob', '--json']))
    expect(json).toEqual({
      user_code: userCode,
      approved: true,
      client_id: clientId,
      client_name: 'TV App',
      scopes: ['read'],
      user_id: 'bob',
    })
    expect(row(created.id).status).toBe('approved')
  })

  it('denies with --deny', async () => {
    const {userCode, row: created} = newCode()
    expect(await ws.ok(['device:approve', userCode, '--user', 'alice', '--deny'])).toBe(
      `Denied device code ${userCode} for TV App (${clientId}) as alice; scopes: read.`,
    )
    expect(row(created.id)).toMatchObject({status: 'denied', userId: 'alice'})
  })

  it('refuses a code that was already decided', async () => {
    const {userCode, row: created} = newCode()
    await ws.ok(['device:approve', userCode, '--user', 'alice', '--deny'])
    const again = await ws.run(['device:approve', userCode, '--user', 'alice'])
    expect(again.code).toBe(1)
    expect(again.stdout).toBe('')
    expect(oneError(again)).toBe(`The code ${userCode} was already denied.`)
    expect(row(created.id).status).toBe('denied')
  })

  it('refuses an expired code', async () => {
    const {userCode, row: created} = newCode(60_000, Date.now() - 120_000)
    const result = await ws.run(['device:approve', userCode, '--user', 'alice'])
    expect(result.code).toBe(1)
    expect(oneError(result)).toBe(`The code ${userCode} has expired; start the device sign-in again.`)
    expect(row(created.id).status).toBe('pending')
  })

  it('refuses an unknown code and a malformed one', async () => {
    const unknown = await ws.run(['device:approve', 'BBBB-BBBB', '--user', 'alice'])
    expect(unknown.code).toBe(1)
    expect(oneError(unknown)).toBe('No device authorization has the code BBBB-BBBB.')
    const malformed = await ws.run(['device:approve', 'ABCD-1234', '--user', 'alice'])
    expect(malformed.code).toBe(1)
    expect(oneError(malformed)).toBe(
      '"ABCD-1234" is not a user code: it has 8 letters from BCDFGHJKLMNPQRSTVWXZ, shown as XXXX-XXXX.',
    )
  })

  it('is a usage error without USER_CODE or --user and no terminal', async () => {
    const {userCode} = newCode()
    const noUser = await ws.run(['device:approve', userCode])
    expect(noUser.code).toBe(2)
    expect(oneError(noUser)).toBe(
      'Missing --user: run passport device:approve USER_CODE --user SUB [--deny] (no terminal to ask on).',
    )
    const noCode = await ws.run(['device:approve', '--user', 'alice'])
    expect(noCode.code).toBe(2)
  })
})
