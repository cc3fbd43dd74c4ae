import {join} from 'node:path'

import Database from 'better-sqlite3'
import {decodeJwt} from 'jose'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {sha256} from '../../src/core/crypto.js'
import {startServer} from '../../src/api.js'
import {runCli, tempDir, writeJson} from '../helpers.js'
import {CONFIG} from '../server/harness.js'
import {basic, form, send, type Answer} from './support.js'

/**
 * Races: checklist 44 (device approvals and polls) with 50 concurrent requests, and checklist 72
 * (the CLI and a running server on one database). Codes and refresh tokens race in
 * test/server/token-code.test.ts (checklist 25) and test/server/token-other.test.ts (checklist 39).
 */
const DEVICE = 'urn:ietf:params:oauth:grant-type:device_code'
const CLI_RUNS = Number(process.env.PASSPORT_RACE_CLI_RUNS ?? 4)

let dir: string
let cleanup: () => void
let dbPath: string
let url: string
let close: () => Promise<void>
let db: Database.Database
let cookie: string
let csrf: string

beforeAll(async () => {
  ;({dir, cleanup} = tempDir('passport-races-'))
  dbPath = join(dir, 'passport.sqlite')
  writeJson(join(dir, 'passport.config.json'), {...CONFIG, database: dbPath, keyPath: join(dir, 'keys')})
  // Keys on disk, shared by the server and the CLI.
  const keys = await runCli(['keys', '--key-path', join(dir, 'keys')], {cwd: dir})
  expect(keys.code, keys.stderr).toBe(0)
  const running = await startServer({
    database: dbPath,
    config: join(dir, 'passport.config.json'),
    keyPath: join(dir, 'keys'),
    loginAs: 'alice',
  })
  url = running.url()
  close = () => running.close()
  db = new Database(dbPath, {readonly: true})
  db.pragma('busy_timeout = 10000')
  const page = await fetch(`${url}/oauth/device`, {headers: {accept: 'application/json'}})
  cookie = page.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ')
  csrf = ((await page.json()) as {csrf_token: string}).csrf_token
})

afterAll(async () => {
  db?.close()
  await close?.()
  cleanup?.()
})

async function deviceCode(): Promise<{device_code: string; user_code: string}> {
  const answer = await form(`${url}/oauth/device/code`, {client_id: 'tv', scope: 'read'})
  expect(answer.status).toBe(200)
  return answer.json as {device_code: string; user_code: string}
}

function approve(userCode: string): Promise<Answer> {
  return send(`${url}/oauth/device/approve`, {
    method: 'POST',
    headers: {'content-type': 'application/json', accept: 'application/json', cookie, 'x-csrf-token': csrf},
    body: JSON.stringify({user_code: userCode, approved: true}),
  })
}

function poll(deviceCode: string): Promise<Answer> {
  return form(`${url}/oauth/token`, {grant_type: DEVICE, device_code: deviceCode, client_id: 'tv'})
}

function deviceRow(deviceCode: string): {
  status: string
  user_id: string | null
  decided_at: number | null
  redeemed_at: number | null
  id: string
} {
  return db
    .prepare('SELECT id, status, user_id, decided_at, redeemed_at FROM oauth_device_codes WHERE device_code_hash = ?')
    .get(sha256(deviceCode)) as never
}

describe('device races (checklist 44)', () => {
  it('checklist 44: 50 concurrent approvals of one user code → exactly one 200, 49 invalid_grant; the row is approved once', async () => {
    const code = await deviceCode()
    const answers = await Promise.all(Array.from({length: 50}, () => approve(code.user_code)))
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1)
    expect(answers.filter((a) => a.status === 400 && a.json.error === 'invalid_grant')).toHaveLength(49)
    const row = deviceRow(code.device_code)
    expect([row.status, row.user_id]).toEqual(['approved', 'alice'])
    expect(row.decided_at).not.toBeNull()
  })

  it('checklist 44: 50 concurrent polls of an approved device code → exactly one 200; one access and one refresh token row for it', async () => {
    const code = await deviceCode()
    expect((await approve(code.user_code)).status).toBe(200)
    const answers = await Promise.all(Array.from({length: 50}, () => poll(code.device_code)))
    const ok = answers.filter((a) => a.status === 200)
    expect(ok).toHaveLength(1)
    expect(answers.filter((a) => a.status === 400 && a.json.error === 'invalid_grant')).toHaveLength(49)
    const row = deviceRow(code.device_code)
    expect(row.status).toBe('redeemed')
    // The device row is the family: exactly one access token and one refresh token descend from it.
    expect(db.prepare('SELECT COUNT(*) FROM oauth_access_tokens WHERE family_id = ?').pluck().get(row.id)).toBe(1)
    expect(db.prepare('SELECT COUNT(*) FROM oauth_refresh_tokens WHERE family_id = ?').pluck().get(row.id)).toBe(1)
    expect(
      db
        .prepare('SELECT family_id FROM oauth_access_tokens WHERE id = ?')
        .pluck()
        .get(decodeJwt(ok[0]!.json.access_token as string).jti),
    ).toBe(row.id)
  })
})

describe('the CLI and a running server on one database (checklist 72)', () => {
  it(`checklist 72: ${CLI_RUNS} CLI runs (token, client, purge, device:approve) while the server takes concurrent load → no 5xx, no SQLITE_BUSY, every row there`, async () => {
    const codes = await Promise.all(Array.from({length: CLI_RUNS}, () => deviceCode()))
    const config = join(dir, 'passport.config.json')
    const commands: string[][] = []
    for (let i = 0; i < CLI_RUNS; i++) {
      const kind = i % 4
      if (kind === 0) commands.push(['token', '--user', `cli-user-${i}`, '--scope', 'read', '--json'])
      if (kind === 1) commands.push(['client', `Race ${i}`, '--client-credentials', '--id', `race-${i}`, '--json'])
      if (kind === 2) commands.push(['purge', '--json'])
      if (kind === 3) commands.push(['device:approve', codes[i]!.user_code, '--user', 'alice', '--json'])
    }

    let cliDone = false
    const statuses: number[] = []
    const issued: string[] = []
    const load = async () => {
      let n = 0
      while (!cliDone) {
        const step = n++ % 3
        let answer: Answer
        if (step === 0) {
          answer = await form(
            `${url}/oauth/token`,
            {grant_type: 'client_credentials', scope: 'read'},
            {authorization: basic('svc', 'svc-secret')},
          )
          if (answer.status === 200) issued.push(decodeJwt(answer.json.access_token as string).jti!)
        } else if (step === 1) {
          answer = await form(`${url}/oauth/device/code`, {client_id: 'tv', scope: 'read'})
          // Past the cap on waiting device authorizations (RFC 8628 §5.1–5.2) the answer is 429.
          if (answer.status === 429 && answer.json.error === 'temporarily_unavailable') continue
        } else {
          answer = await send(`${url}/healthz`)
        }
        statuses.push(answer.status)
      }
    }
    const cli = async () => {
      const results = []
      // Two CLI processes at a time, each a separate connection to the same file.
      for (let i = 0; i < commands.length; i += 2) {
        results.push(
          ...(await Promise.all(
            commands
              .slice(i, i + 2)
              .map((args) => runCli([...args, '--config', config], {cwd: dir, timeoutMs: 60_000, spawn: true})),
          )),
        )
      }
      cliDone = true
      return results
    }
    const [results] = await Promise.all([cli(), load(), load(), load(), load()])

    for (const [i, run] of results.entries()) {
      expect(run.stderr, commands[i]!.join(' ')).not.toMatch(/SQLITE_BUSY|database is locked/i)
      expect(run.code, `${commands[i]!.join(' ')}: ${run.stderr}`).toBe(0)
    }
    expect(statuses.length).toBeGreaterThan(0)
    expect(statuses.filter((s) => s >= 500)).toEqual([])
    expect(statuses.every((s) => s === 200)).toBe(true)

    // The database agrees with both writers.
    for (const [i, run] of results.entries()) {
      const kind = i % 4
      const out = JSON.parse(run.stdout) as Record<string, unknown>
      if (kind === 0)
        expect(
          db
            .prepare('SELECT user_id FROM oauth_access_tokens WHERE id = ?')
            .pluck()
            .get(decodeJwt(out.access_token as string).jti),
        ).toBe(`cli-user-${i}`)
      if (kind === 1)
        expect(db.prepare('SELECT COUNT(*) FROM oauth_clients WHERE id = ?').pluck().get(`race-${i}`)).toBe(1)
      if (kind === 3) expect(deviceRow(codes[i]!.device_code).status).toBe('approved')
    }
    const stored = db
      .prepare(`SELECT COUNT(*) FROM oauth_access_tokens WHERE id IN (${issued.map(() => '?').join(',')})`)
      .pluck()
      .get(...issued)
    expect(stored).toBe(issued.length)
    expect(db.pragma('integrity_check', {simple: true})).toBe('ok')
  }, 120_000)
})
