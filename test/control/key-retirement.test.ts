import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {decodeProtectedHeader} from 'jose'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'

import {startServer} from '../../src/api.js'
import {generateKeys, RETIRED_KEYS_FILE} from '../../src/core/keys.js'
import {publishedKeysWindow} from '../../src/core/keys/rotation.js'
import {runCli, tempDir, writeJson} from '../helpers.js'
import {post} from '../server/harness.js'
import {CONFIG, serve, stopServed, svc} from './support.js'

const DAY = 86_400_000

/** A key directory, a database file and the test config in one temporary directory. */
async function keyDirectory(): Promise<{
  dir: string
  keyPath: string
  database: string
  firstKid: string
  cleanup: () => void
}> {
  const {dir, cleanup} = tempDir('passport-key-retirement-')
  writeJson(join(dir, 'passport.config.json'), CONFIG)
  const keyPath = join(dir, 'keys')
  const {kid} = await generateKeys(keyPath)
  return {dir, keyPath, database: join(dir, 'passport.sqlite'), firstKid: kid, cleanup}
}

async function cli(dir: string, args: string[], env: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const result = await runCli([...args, '--json'], {cwd: dir, env})
  expect(result.stderr).toBe('')
  expect(result.code).toBe(0)
  return JSON.parse(result.stdout) as Record<string, unknown>
}

async function jwksKids(url: string): Promise<string[]> {
  const response = await fetch(url)
  expect(response.status).toBe(200)
  return ((await response.json()) as {keys: Array<{kid: string}>}).keys.map((k) => k.kid)
}

const seconds = (ms: number): string => String(Math.floor(ms / 1000))

describe('publishedKeysWindow: when the published set changes as the clock moves', () => {
  it('spans from the latest retirement passed to the next one; a key is published while now < publishUntil', () => {
    expect(publishedKeysWindow([], 500)).toEqual({from: Number.NEGATIVE_INFINITY, until: Number.POSITIVE_INFINITY})
    expect(publishedKeysWindow([100, 300, 900, 700], 500)).toEqual({from: 300, until: 700})
    expect(publishedKeysWindow([500], 500)).toEqual({from: 500, until: Number.POSITIVE_INFINITY})
    expect(publishedKeysWindow([501], 500)).toEqual({from: Number.NEGATIVE_INFINITY, until: 501})
  })
})

describe('key retirement on the one clock: serve --control and the CLI', () => {
  let k: Awaited<ReturnType<typeof keyDirectory>>
  let retiredKid: string
  let publishUntil: number
  beforeAll(async () => {
    k = await keyDirectory()
    // No token in the database: the old key stays published as long as an id token lives (1 hour).
    const rotated = await cli(k.dir, ['keys:rotate', '--key-path', k.keyPath, '--database', k.database])
    retiredKid = rotated.retired_kid as string
    expect(retiredKid).toBe(k.firstKid)
    publishUntil = Date.parse(rotated.retired_published_until as string)
    expect(publishUntil - Date.now()).toBeGreaterThan(59 * 60_000)
    expect(publishUntil - Date.now()).toBeLessThanOrEqual(60 * 60_000)
  })
  afterEach(() => stopServed())
  afterAll(() => k.cleanup())

  it('POST /_passport/clock past the retirement takes the old key out of the JWKS; setting it back publishes it again', async () => {
    const served = await serve(['--control', '--key-path', k.keyPath])
    const control = `${served.line.url}/_passport/clock`
    const headers = {authorization: `Bearer ${served.line.control_token as string}`, 'content-type': 'application/json'}
    const jwks = `${served.line.url}/.well-known/jwks.json`
    const [active] = await jwksKids(jwks)
    expect(await jwksKids(jwks)).toEqual([active, retiredKid])

    const setClock = async (at: number): Promise<void> => {
      const moved = await fetch(control, {
        method: 'POST',
        headers,
        body: JSON.stringify({set: new Date(at).toISOString()}),
      })
      expect(moved.status).toBe(200)
      expect(Date.parse(((await moved.json()) as {now: string}).now)).toBeGreaterThanOrEqual(at)
    }
    await setClock(publishUntil - 60_000)
    expect(await jwksKids(jwks)).toEqual([active, retiredKid])
    await setClock(publishUntil)
    expect(await jwksKids(jwks)).toEqual([active])
    // Discovery follows the same set (one algorithm, the active key's).
    const discovery = (await (await fetch(`${served.line.url}/.well-known/openid-configuration`)).json()) as {
      id_token_signing_alg_values_supported: string[]
    }
    expect(discovery.id_token_signing_alg_values_supported).toEqual(['RS256'])
    await setClock(publishUntil - 60_000)
    expect(await jwksKids(jwks)).toEqual([active, retiredKid])
    // The retired-key file itself is untouched: only keys:prune removes entries.
    expect(readFileSync(join(k.keyPath, RETIRED_KEYS_FILE), 'utf8')).toContain(retiredKid)
  })

  it('keys:jwks and keys:prune read the CLI clock (--now or PASSPORT_NOW), not real time', async () => {
    const jwks = async (env: Record<string, string> = {}, args: string[] = []) =>
      ((await cli(k.dir, ['keys:jwks', '--key-path', k.keyPath, ...args], env)).keys as Array<{kid: string}>).map(
        (key) => key.kid,
      )
    const [active] = await jwks()
    expect(await jwks()).toEqual([active, retiredKid])
    expect(await jwks({PASSPORT_NOW: seconds(publishUntil - 60_000)})).toEqual([active, retiredKid])
    expect(await jwks({PASSPORT_NOW: seconds(publishUntil + 1000)})).toEqual([active])
    expect(await jwks({}, ['--now', new Date(publishUntil + 1000).toISOString()])).toEqual([active])

    // Real time: the key is still needed, so keys:prune keeps it.
    expect(await cli(k.dir, ['keys:prune', '--key-path', k.keyPath, '--database', k.database])).toEqual({
      removed: [],
      live_tokens_invalidated: 0,
    })
    expect(
      await cli(k.dir, ['keys:prune', '--key-path', k.keyPath, '--database', k.database], {
        PASSPORT_NOW: seconds(publishUntil - 60_000),
      }),
    ).toEqual({removed: [], live_tokens_invalidated: 0})
    // Past the retirement on the CLI's clock, it goes.
    expect(
      await cli(k.dir, ['keys:prune', '--key-path', k.keyPath, '--database', k.database], {
        PASSPORT_NOW: seconds(publishUntil + 1000),
      }),
    ).toEqual({removed: [retiredKid], live_tokens_invalidated: 0})
    expect(await jwks()).toEqual([active])
    expect(JSON.parse(readFileSync(join(k.keyPath, RETIRED_KEYS_FILE), 'utf8'))).toEqual({keys: []})

    const badNow = await runCli(['keys:prune', '--key-path', k.keyPath, '--now', 'tomorrow'], {cwd: k.dir})
    expect(badNow.code).toBe(1)
    expect(badNow.stderr).toBe(
      'Error: --now (or PASSPORT_NOW) must be an ISO 8601 date-time with its zone (e.g. 2027-01-01T00:00:00Z) or Unix seconds; got "tomorrow".\n',
    )
  }, 180_000)
})

describe('key retirement on the one clock: startServer().clock', () => {
  it('a key retired while a 15-day token lives stays published (and verifies it) until that token expires on the clock', async () => {
    const k = await keyDirectory()
    try {
      // A token from the first key, then a rotation: the old key must outlive that token.
      const token = await cli(k.dir, [
        'token',
        '--client',
        'svc',
        '--scope',
        'read',
        '--key-path',
        k.keyPath,
        '--database',
        k.database,
      ])
      const accessToken = token.access_token as string
      expect(decodeProtectedHeader(accessToken).kid).toBe(k.firstKid)
      const rotated = await cli(k.dir, ['keys:rotate', '--key-path', k.keyPath, '--database', k.database])
      const publishUntil = Date.parse(rotated.retired_published_until as string)
      expect(publishUntil - Date.now()).toBeGreaterThan(15 * DAY - 60_000)

      // The issuer the CLI signed with (its default), so that the server accepts the CLI's token.
      const server = await startServer({
        config: CONFIG,
        database: k.database,
        keyPath: k.keyPath,
        issuer: 'http://127.0.0.1:9000',
      })
      try {
        const introspect = async () =>
          (await post(server.url('/oauth/introspect'), {token: accessToken}, {auth: svc})).json
        expect(await jwksKids(server.url('/.well-known/jwks.json'))).toEqual([rotated.kid, k.firstKid])
        expect(await introspect()).toMatchObject({active: true, client_id: 'svc'})

        server.clock.advance('14d')
        expect(await jwksKids(server.url('/.well-known/jwks.json'))).toEqual([rotated.kid, k.firstKid])
        expect(await introspect()).toMatchObject({active: true})

        server.clock.set(publishUntil)
        expect(await jwksKids(server.url('/.well-known/jwks.json'))).toEqual([rotated.kid])
        expect(await introspect()).toEqual({active: false})
      } finally {
        await server.close()
      }
    } finally {
      k.cleanup()
    }
  }, 60_000)
})
