import {createHash} from 'node:crypto'

import {decodeJwt} from 'jose'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {approveDevice, basic, expectNoStore, post, startTestServer, type TestServer} from './harness.js'

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server.close())

const start = (form: Record<string, string> = {client_id: 'tv', scope: 'read'}, auth?: string) =>
  post(`${server.url}/oauth/device/code`, form, auth === undefined ? {} : {auth})
const poll = (deviceCode: string, clientId = 'tv') =>
  post(server.token, {grant_type: DEVICE_GRANT, device_code: deviceCode, client_id: clientId})
const deviceRow = (deviceCode: string) =>
  server.row<{id: string; status: string; interval: number; last_polled_at: number | null}>(
    'SELECT id, status, interval, last_polled_at FROM oauth_device_codes WHERE device_code_hash = ?',
    sha256(deviceCode),
  )!
/** Lets the stored poll interval pass without waiting: moves the last poll into the past. */
const afterInterval = (deviceCode: string) =>
  server.exec(
    'UPDATE oauth_device_codes SET last_polled_at = last_polled_at - interval * 1000 - 1 WHERE id = ?',
    deviceRow(deviceCode).id,
  )

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex')
}

describe('device authorization (RFC 8628)', () => {
  it('checklist 40: POST /device/code → 200 with every field, no-store; only hashes stored', async () => {
    const reply = await start()
    expect(reply.status).toBe(200)
    expectNoStore(reply)
    const body = reply.json
    expect(Object.keys(body).sort()).toEqual([
      'device_code',
      'expires_in',
      'interval',
      'user_code',
      'verification_uri',
      'verification_uri_complete',
    ])
    expect(body.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/)
    expect(body.verification_uri).toBe(`${server.issuer}/oauth/device`)
    expect(body.verification_uri_complete).toBe(`${server.issuer}/oauth/device?user_code=${body.user_code as string}`)
    expect(body).toMatchObject({expires_in: 600, interval: 5})
    expect((body.device_code as string).length).toBeGreaterThanOrEqual(43)
    const row = server.row<Record<string, unknown>>(
      'SELECT * FROM oauth_device_codes WHERE device_code_hash = ?',
      sha256(body.device_code as string),
    )!
    expect(row).toMatchObject({client_id: 'tv', status: 'pending', scopes: '["read"]', interval: 5})
    expect(JSON.stringify(row)).not.toContain(body.device_code as string)
  })

  it('checklist 41: client without the device grant → unauthorized_client; bad credentials → 401 invalid_client; bad scope → invalid_scope', async () => {
    const noGrant = await start({client_id: 'spa'})
    expect([noGrant.status, noGrant.json.error]).toEqual([400, 'unauthorized_client'])
    const badSecret = await start({scope: 'read'}, basic('kiosk', 'wrong'))
    expect([badSecret.status, badSecret.json.error]).toEqual([401, 'invalid_client'])
    expect(badSecret.headers.get('www-authenticate')).toBe('Basic realm="passport"')
    const noSecret = await start({client_id: 'kiosk'})
    expect([noSecret.status, noSecret.json.error]).toEqual([401, 'invalid_client'])
    const goodSecret = await start({scope: 'read'}, basic('kiosk', 'kiosk-secret'))
    expect(goodSecret.status).toBe(200)
    for (const scope of ['write', 'nonsense']) {
      const badScope = await start({client_id: 'tv', scope})
      expect([badScope.status, badScope.json.error]).toEqual([400, 'invalid_scope'])
      expectNoStore(badScope)
    }
  })

  it('checklist 42: before approval → authorization_pending; inside the interval → slow_down, interval +5 s stored and enforced', async () => {
    const {json} = await start()
    const deviceCode = json.device_code as string
    const pending = await poll(deviceCode)
    expect([pending.status, pending.json.error]).toEqual([400, 'authorization_pending'])
    expectNoStore(pending)
    const fast = await poll(deviceCode)
    expect([fast.status, fast.json.error]).toEqual([400, 'slow_down'])
    expect(deviceRow(deviceCode).interval).toBe(10)
    // After 5 s (the old interval) it is still too fast: the new interval holds.
    server.exec(
      'UPDATE oauth_device_codes SET last_polled_at = ? WHERE id = ?',
      Date.now() - 6000,
      deviceRow(deviceCode).id,
    )
    const stillFast = await poll(deviceCode)
    expect(stillFast.json.error).toBe('slow_down')
    expect(deviceRow(deviceCode).interval).toBe(15)
    afterInterval(deviceCode)
    const calm = await poll(deviceCode)
    expect(calm.json.error).toBe('authorization_pending')
    expect(deviceRow(deviceCode).interval).toBe(15)
  })

  it('checklist 43: denied → access_denied; expired → expired_token; later polls never yield tokens', async () => {
    const denied = await start()
    approveDevice(server, denied.json.user_code as string, 'alice', false)
    for (let i = 0; i < 2; i++) {
      const reply = await poll(denied.json.device_code as string)
      expect([reply.status, reply.json.error]).toEqual([400, 'access_denied'])
    }
    const expired = await start()
    approveDevice(server, expired.json.user_code as string)
    server.exec(
      'UPDATE oauth_device_codes SET expires_at = ? WHERE id = ?',
      Date.now() - 1,
      deviceRow(expired.json.device_code as string).id,
    )
    for (let i = 0; i < 2; i++) {
      const reply = await poll(expired.json.device_code as string)
      expect([reply.status, reply.json.error]).toEqual([400, 'expired_token'])
    }
    expect(
      server.row<{n: number}>(
        'SELECT COUNT(*) AS n FROM oauth_access_tokens WHERE family_id IN (?, ?)',
        deviceRow(denied.json.device_code as string).id,
        deviceRow(expired.json.device_code as string).id,
      )!.n,
    ).toBe(0)
  })

  it('checklist 44: approved → 200 exactly once (family = device row); a second poll → invalid_grant', async () => {
    const {json} = await start({client_id: 'tv', scope: 'read openid profile'})
    approveDevice(server, (json.user_code as string).toLowerCase().replace('-', ' '))
    const reply = await poll(json.device_code as string)
    expect(reply.status).toBe(200)
    expectNoStore(reply)
    expect(reply.json).toMatchObject({token_type: 'Bearer', scope: 'read openid profile'})
    expect(typeof reply.json.refresh_token).toBe('string')
    expect(decodeJwt(reply.json.id_token as string)).toMatchObject({sub: 'alice', aud: 'tv', name: 'Alice Example'})
    const row = deviceRow(json.device_code as string)
    expect(row.status).toBe('redeemed')
    expect(server.rows('SELECT id FROM oauth_access_tokens WHERE family_id = ?', row.id)).toHaveLength(1)
    const again = await poll(json.device_code as string)
    expect([again.status, again.json.error]).toEqual([400, 'invalid_grant'])
    expect(server.rows('SELECT id FROM oauth_access_tokens WHERE family_id = ?', row.id)).toHaveLength(1)
  })

  it('checklist 44: 20 parallel polls of an approved code → exactly one 200', async () => {
    const {json} = await start()
    approveDevice(server, json.user_code as string)
    const replies = await Promise.all(Array.from({length: 20}, () => poll(json.device_code as string)))
    expect(replies.filter((r) => r.status === 200)).toHaveLength(1)
    expect(replies.filter((r) => r.json.error === 'invalid_grant')).toHaveLength(19)
  })

  it('checklist 45: a device_code polled by another client, or unknown → invalid_grant', async () => {
    const {json} = await start()
    approveDevice(server, json.user_code as string)
    const other = await poll(json.device_code as string, 'tv2')
    expect([other.status, other.json.error]).toEqual([400, 'invalid_grant'])
    const unknown = await poll('no-such-device-code')
    expect([unknown.status, unknown.json.error]).toEqual([400, 'invalid_grant'])
    expect(deviceRow(json.device_code as string).status).toBe('approved')
    expect((await poll(json.device_code as string)).status).toBe(200)
  })

  it('device_code missing → invalid_request; a client without the grant polling → unauthorized_client', async () => {
    const missing = await post(server.token, {grant_type: DEVICE_GRANT, client_id: 'tv'})
    expect([missing.status, missing.json.error]).toEqual([400, 'invalid_request'])
    const notAllowed = await post(server.token, {grant_type: DEVICE_GRANT, client_id: 'spa', device_code: 'x'})
    expect([notAllowed.status, notAllowed.json.error]).toEqual([400, 'unauthorized_client'])
  })
})
