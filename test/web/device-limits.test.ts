import {afterEach, describe, expect, test} from 'vitest'

import {createDeviceAuthorization} from '../../src/core/device.js'
import {Store} from '../../src/store/index.js'
import {Browser, CONFIG, field, startTestServer, type TestServer} from './harness.js'

/**
 * Issue 18 finding 4: guessing device user codes (RFC 8628 §5.1–5.2). Wrong codes are limited
 * per subject and server-wide, so neither a new session nor another subject resets them; and the
 * number of device authorizations waiting at once is capped per client and in all.
 */
let server: TestServer | undefined

afterEach(async () => {
  await server?.close()
  server = undefined
})

async function signedIn(s: TestServer, subject: string): Promise<Browser> {
  const browser = new Browser(s.url)
  const html = await (await browser.get(`${s.prefix}/device`)).text()
  const login = await browser.post(`${s.prefix}/login`, {
    csrf: field(html, 'csrf'),
    return_to: field(html, 'return_to'),
    subject,
  })
  expect(login.status).toBe(303)
  return browser
}

async function enter(
  browser: Browser,
  s: TestServer,
  code: string,
): Promise<{status: number; retryAfter: string | null; json: {error?: string; error_description?: string}}> {
  const res = await browser.get(`${s.prefix}/device?user_code=${encodeURIComponent(code)}`, {
    Accept: 'application/json',
  })
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    json: (await res.json()) as {error?: string; error_description?: string},
  }
}

function deviceCode(s: TestServer, clientId: string): Promise<Response> {
  return fetch(`${s.url}${s.prefix}/device/code`, {
    method: 'POST',
    headers: {'content-type': 'application/x-www-form-urlencoded'},
    body: new URLSearchParams({client_id: clientId, scope: 'read'}).toString(),
  })
}

describe('device user-code guessing (issue 18 finding 4)', () => {
  test('checklist 108: wrong user codes lock the subject across new sessions, and 30 wrong codes within a minute lock every subject on the server, the right code included', async () => {
    server = await startTestServer()
    const s = server
    const {userCode, id} = s.deviceAuthorization('tv', ['read'])

    // A fresh browser session per guess does not reset the subject's count.
    for (let i = 1; i <= 4; i++)
      expect((await enter(await signedIn(s, 'mallory'), s, 'BBBB-BBBB')).json.error_description).toContain(
        `${5 - i} attempt`,
      )
    const fifth = await enter(await signedIn(s, 'mallory'), s, 'BBBB-BBBB')
    expect([fifth.status, fifth.json.error, fifth.retryAfter]).toEqual([429, 'too_many_attempts', '300'])
    expect((await enter(await signedIn(s, 'mallory'), s, userCode)).status).toBe(429)

    // Other subjects, 4 wrong codes each: the server-wide limit (30 a minute) is reached at the 30th.
    const answers = []
    for (let n = 0; n < 7; n++) {
      const browser = await signedIn(s, `guesser-${n}`)
      for (let i = 0; i < 4; i++) answers.push(await enter(browser, s, 'CCCC-CCCC'))
    }
    // mallory's 5 + 24 = 29 wrong codes pass as 400; the 30th locks the server.
    expect(answers.slice(0, 24).map((a) => a.status)).toEqual(Array(24).fill(400))
    expect(answers[24]!.status).toBe(429)
    expect(answers[24]!.json.error_description).toContain('Too many wrong codes on this server (30 within 60 seconds')
    const seconds = Number(answers[24]!.retryAfter)
    expect(seconds).toBeGreaterThan(0)
    expect(seconds).toBeLessThanOrEqual(60)

    // Now even a new subject with the right code is refused, and nothing was decided.
    const honest = await enter(await signedIn(s, 'honest'), s, userCode)
    expect([honest.status, honest.json.error]).toEqual([429, 'too_many_attempts'])
    expect(s.deviceRow(id)).toEqual({status: 'pending', user_id: null})
  })

  test('checklist 109: at most 100 device authorizations wait per client and 1,000 in all; beyond, POST /device/code answers 429 temporarily_unavailable with Retry-After and stores nothing', async () => {
    server = await startTestServer({
      config: {
        ...CONFIG,
        clients: [...CONFIG.clients, {id: 'tv2', name: 'Bedroom TV', grants: ['device_code'], scopes: ['read']}],
      },
    })
    const s = server
    for (let i = 0; i < 100; i++) expect((await deviceCode(s, 'tv')).status).toBe(200)
    const refused = await deviceCode(s, 'tv')
    expect(refused.status).toBe(429)
    expect(refused.headers.get('cache-control')).toBe('no-store')
    const retry = Number(refused.headers.get('retry-after'))
    expect(retry).toBeGreaterThan(500)
    expect(retry).toBeLessThanOrEqual(600)
    expect(await refused.json()).toEqual({
      error: 'temporarily_unavailable',
      error_description:
        'Client tv already has 100 device authorizations waiting for a user (the limit is 100); let them expire or complete first.',
    })
    const count = () =>
      s
        .db()
        .prepare("SELECT COUNT(*) FROM oauth_device_codes WHERE status = 'pending' AND expires_at > ?")
        .pluck()
        .get(Date.now()) as number
    expect(count()).toBe(100)

    // Expired codes do not count (another client here, the same rule).
    const store = Store.open(s.dbPath)
    try {
      for (let i = 0; i < 50; i++) createDeviceAuthorization(store, {id: 'spa'}, [], 1, Date.now() - 10_000)
      for (let i = 0; i < 900; i++) createDeviceAuthorization(store, {id: 'web'}, [], 600_000)
    } finally {
      store.close()
    }
    // 1,000 waiting in all: a client under its own limit is refused too.
    const full = await deviceCode(s, 'tv2')
    expect(full.status).toBe(429)
    expect(((await full.json()) as {error_description: string}).error_description).toBe(
      'This server already has 1000 device authorizations waiting for a user (the limit is 1000); let them expire or complete first.',
    )
    expect(count()).toBe(1000)
  })
})
