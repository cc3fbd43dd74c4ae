import {type ChildProcess, spawn} from 'node:child_process'
import {join} from 'node:path'

import Database from 'better-sqlite3'
import {decodeJwt} from 'jose'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {s256, sha256} from '../../src/core/crypto.js'
import {generateKeys} from '../../src/core/keys.js'
import {BIN, cleanEnv, tempDir, writeJson} from '../helpers.js'
import {basic, prng, seedFromEnv} from './support.js'

/**
 * Checklist 71: `passport serve` is killed with SIGKILL at random moments while it issues
 * tokens, redeems codes and rotates refresh tokens, and restarted, again and again. The default
 * run does a few cycles; `npm run test:crash` (PASSPORT_CRASH_CYCLES=100) does at least 100.
 * CRASH_SEED reproduces the kill timings and choices (the seed is printed).
 */
const CYCLES = Number(process.env.PASSPORT_CRASH_CYCLES ?? 5)
const SEED = seedFromEnv('CRASH_SEED')
const WORKERS = 4
const REDIRECT = 'http://localhost:3000/callback'
const VERIFIER = 'crash-verifier-0123456789-0123456789-0123456789'
const CONFIG = {
  users: {alice: {name: 'Alice'}},
  scopes: {read: 'Read'},
  clients: [
    {
      id: 'web',
      name: 'Web',
      secret: 'web-secret',
      redirectUris: [REDIRECT],
      grants: ['authorization_code', 'refresh_token'],
      scopes: ['read'],
      autoApprove: true,
    },
    {id: 'svc', name: 'Service', secret: 'svc-secret', grants: ['client_credentials'], scopes: ['read']},
  ],
}

let dir: string
let cleanup: () => void
let dbPath: string
const random = prng(SEED)
const pick = <T>(list: T[]): T | undefined => (list.length ? list[Math.floor(random() * list.length)] : undefined)

/** Every code and refresh token seen, with how many 200s each earned; every jti received. */
const codeWins = new Map<string, number>()
const refreshWins = new Map<string, number>()
const jtis: string[] = []
const stats = {requests: 0, ok: 0, transportErrors: 0, serverErrors: 0, kills: 0}
const serverErrors: string[] = []

beforeAll(async () => {
  console.log(`crash seed: ${SEED} (reproduce with CRASH_SEED=${SEED}); cycles: ${CYCLES}`)
  ;({dir, cleanup} = tempDir('passport-crash-'))
  dbPath = join(dir, 'passport.sqlite')
  writeJson(join(dir, 'passport.config.json'), CONFIG)
  await generateKeys(join(dir, 'storage'))
})

afterAll(() => {
  console.log(
    `crash: ${stats.kills} kills, ${stats.requests} requests, ${stats.ok} ok, ${stats.transportErrors} cut off, ${stats.serverErrors} 5xx`,
  )
  cleanup?.()
})

function serve(): Promise<{child: ChildProcess; url: string; exited: Promise<unknown>}> {
  const child = spawn(
    process.execPath,
    [BIN, 'serve', '--port', '0', '--json', '--quiet', '--login-as', 'alice', '--database', dbPath],
    {cwd: dir, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe']},
  )
  const exited = new Promise((resolve) => child.on('exit', resolve))
  let stdout = ''
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  return new Promise((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d
      const line = stdout.split('\n')[0]
      if (stdout.includes('\n')) resolve({child, url: (JSON.parse(line!) as {url: string}).url, exited})
    })
    child.on('exit', (code) => reject(new Error(`serve exited with ${code} before listening: ${stderr}`)))
  })
}

async function call(
  url: string,
  init: RequestInit,
): Promise<{status: number; json: Record<string, unknown>; location: string | null} | undefined> {
  stats.requests++
  try {
    const response = await fetch(url, {...init, redirect: 'manual', signal: AbortSignal.timeout(10_000)})
    const text = await response.text()
    if (response.status >= 500) {
      stats.serverErrors++
      serverErrors.push(`${init.method ?? 'GET'} ${new URL(url).pathname} → ${response.status} ${text}`)
    }
    return {
      status: response.status,
      json: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : {},
      location: response.headers.get('location'),
    }
  } catch {
    stats.transportErrors++ // the server was killed mid-request
    return undefined
  }
}

function tokenRequest(url: string, body: Record<string, string>, auth: string) {
  return call(`${url}/oauth/token`, {
    method: 'POST',
    headers: {'content-type': 'application/x-www-form-urlencoded', authorization: auth},
    body: new URLSearchParams(body).toString(),
  })
}

function received(answer: {status: number; json: Record<string, unknown>} | undefined): boolean {
  if (answer?.status !== 200) return false
  stats.ok++
  jtis.push(decodeJwt(answer.json.access_token as string).jti!)
  if (typeof answer.json.refresh_token === 'string')
    refreshWins.set(answer.json.refresh_token, refreshWins.get(answer.json.refresh_token) ?? 0)
  return true
}

async function redeem(url: string, code: string): Promise<void> {
  const answer = await tokenRequest(
    url,
    {grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: VERIFIER},
    basic('web', 'web-secret'),
  )
  if (received(answer)) codeWins.set(code, codeWins.get(code)! + 1)
}

async function refresh(url: string, token: string): Promise<void> {
  const answer = await tokenRequest(
    url,
    {grant_type: 'refresh_token', refresh_token: token},
    basic('web', 'web-secret'),
  )
  if (received(answer)) refreshWins.set(token, refreshWins.get(token)! + 1)
}

/** One worker: authorize → redeem (sometimes twice at once) → refresh (sometimes twice at once), client credentials, replays. */
async function worker(url: string, alive: () => boolean): Promise<void> {
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: 'web',
    redirect_uri: REDIRECT,
    code_challenge: s256(VERIFIER),
    code_challenge_method: 'S256',
    scope: 'read',
  })
  while (alive()) {
    const roll = random()
    if (roll < 0.35) {
      const answer = await call(`${url}/oauth/authorize?${query}`, {})
      const code = answer?.location ? new URL(answer.location).searchParams.get('code') : null
      if (!code) continue
      codeWins.set(code, 0)
      if (random() < 0.3) await Promise.all([redeem(url, code), redeem(url, code)])
      else await redeem(url, code)
    } else if (roll < 0.7) {
      const token = pick([...refreshWins.keys()].slice(-20))
      if (!token) continue
      if (random() < 0.3) await Promise.all([refresh(url, token), refresh(url, token)])
      else await refresh(url, token)
    } else if (roll < 0.9) {
      received(await tokenRequest(url, {grant_type: 'client_credentials', scope: 'read'}, basic('svc', 'svc-secret')))
    } else {
      // A replay of anything seen before, possibly from before a crash.
      const code = pick([...codeWins.keys()])
      if (code) await redeem(url, code)
    }
  }
}

describe('crash safety (checklist 71)', () => {
  it(
    `checklist 71: ${CYCLES} SIGKILLs of passport serve under load → integrity ok, no code or refresh token honoured twice, every received token in the database`,
    async () => {
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        const {child, url, exited} = await serve()
        let alive = true
        const workers = Array.from({length: WORKERS}, () => worker(url, () => alive))
        // Kill after a random moment of load (50–450 ms).
        await new Promise((resolve) => setTimeout(resolve, 50 + Math.floor(random() * 400)))
        child.kill('SIGKILL')
        stats.kills++
        await exited
        alive = false
        await Promise.all(workers)
      }

      // One more start: the server comes up on the crashed database and serves.
      const {child, url, exited} = await serve()
      const health = await call(`${url}/healthz`, {})
      expect(health?.status).toBe(200)
      // A replayed code is refused after all the crashes.
      const used = [...codeWins].find(([, wins]) => wins === 1)?.[0]
      if (used)
        expect(
          (
            await tokenRequest(
              url,
              {grant_type: 'authorization_code', code: used, redirect_uri: REDIRECT, code_verifier: VERIFIER},
              basic('web', 'web-secret'),
            )
          )?.json.error,
        ).toBe('invalid_grant')
      child.kill('SIGTERM')
      await exited

      expect(serverErrors).toEqual([])
      expect(stats.ok).toBeGreaterThan(0)
      const db = new Database(dbPath, {readonly: true})
      try {
        expect(db.pragma('integrity_check', {simple: true})).toBe('ok')
        // No code and no refresh token was honoured twice.
        expect([...codeWins.values()].filter((wins) => wins > 1)).toEqual([])
        expect([...refreshWins.values()].filter((wins) => wins > 1)).toEqual([])
        // A code that was honoured is recorded as redeemed (consumed and issued go together).
        const codeRow = db.prepare('SELECT redeemed_at FROM oauth_auth_codes WHERE code_hash = ?').pluck()
        for (const [code, wins] of codeWins) {
          if (wins === 1) expect(codeRow.get(sha256(code)), 'a redeemed code').not.toBeNull()
        }
        const refreshRow = db.prepare('SELECT rotated_at FROM oauth_refresh_tokens WHERE token_hash = ?').pluck()
        for (const [token, wins] of refreshWins) {
          expect(refreshRow.get(sha256(token)), 'every refresh token received is stored').not.toBeUndefined()
          if (wins === 1) expect(refreshRow.get(sha256(token)), 'a used refresh token is rotated').not.toBeNull()
        }
        // Every access token a client received is in the database, and none twice.
        expect(new Set(jtis).size).toBe(jtis.length)
        const known = db.prepare('SELECT 1 FROM oauth_access_tokens WHERE id = ?').pluck()
        expect(jtis.filter((jti) => known.get(jti) === undefined)).toEqual([])
        // Nothing issued twice: one access-token row per jti, at most one unrotated refresh token per code family.
        expect(
          db
            .prepare(
              'SELECT COUNT(*) FROM (SELECT family_id FROM oauth_refresh_tokens WHERE rotated_at IS NULL AND revoked_at IS NULL GROUP BY family_id HAVING COUNT(*) > 1)',
            )
            .pluck()
            .get(),
        ).toBe(0)
      } finally {
        db.close()
      }
    },
    Math.max(120_000, CYCLES * 5_000),
  )
})
