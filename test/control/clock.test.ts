import {join} from 'node:path'

import {decodeJwt} from 'jose'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {OffsetClock, parseInstant} from '../../src/core/clock.js'
import {generateKeys} from '../../src/core/keys.js'
import {startServer} from '../../src/api.js'
import {runCli, tempDir} from '../helpers.js'
import {basic, CHALLENGE, post, REDIRECT, VERIFIER, type Reply} from '../server/harness.js'

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'
const DAY = 86_400_000

const CONFIG = {
  scopes: {read: 'Read access'},
  users: {alice: {name: 'Alice Example'}},
  clients: [
    {
      id: 'web',
      name: 'Web app',
      secret: 'web-secret',
      redirectUris: [REDIRECT],
      grants: ['authorization_code', 'refresh_token'],
      autoApprove: true,
    },
    {id: 'svc', name: 'Service', secret: 'svc-secret', grants: ['client_credentials'], scopes: ['read']},
    {id: 'tv', name: 'Television', grants: ['device_code']},
  ],
}

type Server = Awaited<ReturnType<typeof startServer>>

/** A server on its own database file and key directory, so that the CLI can work on the same ones. */
async function startClockServer(): Promise<{
  server: Server
  dir: string
  database: string
  keyPath: string
  cleanup: () => Promise<void>
}> {
  const {dir, cleanup} = tempDir('passport-clock-')
  const keyPath = join(dir, 'keys')
  await generateKeys(keyPath)
  const database = join(dir, 'passport.sqlite')
  const server = await startServer({database, keyPath, config: CONFIG, loginAs: 'alice'})
  return {
    server,
    dir,
    database,
    keyPath,
    async cleanup() {
      await server.close()
      cleanup()
    },
  }
}

const web = basic('web', 'web-secret')
const svc = basic('svc', 'svc-secret')

function clientCredentials(server: Server): Promise<Reply> {
  return post(`${server.url()}/oauth/token`, {grant_type: 'client_credentials', scope: 'read'}, {auth: svc})
}

function introspect(server: Server, token: string, auth = web): Promise<Reply> {
  return post(`${server.url()}/oauth/introspect`, {token}, {auth})
}

/** A code from GET /authorize (signed in by --login-as, approved by the client's autoApprove). */
async function authorize(server: Server): Promise<string> {
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: 'web',
    redirect_uri: REDIRECT,
    scope: 'openid read',
    state: 's',
    nonce: 'n',
    code_challenge: CHALLENGE,
    code_challenge_method: 'S256',
  })
  const response = await fetch(`${server.url()}/oauth/authorize?${query.toString()}`, {redirect: 'manual'})
  expect(response.status).toBe(302)
  const code = new URL(response.headers.get('location')!).searchParams.get('code')
  expect(code).toBeTruthy()
  return code!
}

function redeem(server: Server, code: string): Promise<Reply> {
  return post(
    `${server.url()}/oauth/token`,
    {grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: VERIFIER},
    {auth: web},
  )
}

function refresh(server: Server, token: string): Promise<Reply> {
  return post(`${server.url()}/oauth/token`, {grant_type: 'refresh_token', refresh_token: token}, {auth: web})
}

describe('one clock: the authority reads its clock for every expiry and timestamp', () => {
  let s: Awaited<ReturnType<typeof startClockServer>>
  beforeAll(async () => {
    s = await startClockServer()
  })
  afterAll(() => s.cleanup())

  it('after advance("16d") access tokens introspect inactive, codes and device codes have expired, refresh tokens still work, new tokens carry the moved iat', async () => {
    const {server} = s
    const access = (await clientCredentials(server)).json.access_token as string
    expect((await introspect(server, access, svc)).json.active).toBe(true)
    const code = await authorize(server)
    const first = await redeem(server, await authorize(server))
    expect(first.status).toBe(200)
    const device = await post(`${server.url()}/oauth/device/code`, {client_id: 'tv'})
    expect(device.status).toBe(200)

    const before = server.clock.now()
    const moved = server.clock.advance('16d')
    expect(moved - before).toBeGreaterThanOrEqual(16 * DAY)
    expect(moved - before).toBeLessThan(16 * DAY + 60_000)

    expect((await introspect(server, access, svc)).json).toEqual({active: false})
    expect((await introspect(server, first.json.access_token as string)).json).toEqual({active: false})
    const expiredCode = await redeem(server, code)
    expect([expiredCode.status, expiredCode.json.error, expiredCode.json.error_description]).toEqual([
      400,
      'invalid_grant',
      'The authorization code has expired; start the authorization again.',
    ])
    const expiredDevice = await post(`${server.url()}/oauth/token`, {
      grant_type: DEVICE_GRANT,
      device_code: device.json.device_code as string,
      client_id: 'tv',
    })
    expect([expiredDevice.status, expiredDevice.json.error]).toEqual([400, 'expired_token'])
    const bearer = await fetch(`${server.url()}/oauth/userinfo`, {
      headers: {authorization: `Bearer ${first.json.access_token as string}`},
    })
    expect(bearer.status).toBe(401)
    expect(bearer.headers.get('www-authenticate')).toContain('The token has expired.')

    // The refresh token lives 30 days: 16 days on, it still works, and the new tokens are dated now.
    const low = Math.floor(server.clock.now() / 1000)
    const refreshed = await refresh(server, first.json.refresh_token as string)
    const high = Math.floor(server.clock.now() / 1000)
    expect(refreshed.status).toBe(200)
    const claims = decodeJwt(refreshed.json.access_token as string)
    expect(claims.iat).toBeGreaterThanOrEqual(low)
    expect(claims.iat).toBeLessThanOrEqual(high)
    expect(claims.exp! - claims.iat!).toBe(15 * 86_400)
    const idToken = decodeJwt(refreshed.json.id_token as string)
    expect(idToken.iat).toBeGreaterThanOrEqual(low)
    expect((await introspect(server, refreshed.json.access_token as string)).json.active).toBe(true)

    const fresh = decodeJwt((await clientCredentials(server)).json.access_token as string)
    expect(fresh.iat).toBeGreaterThanOrEqual(low)
    // A code issued now carries auth_time from the moved clock (--login-as signs in now).
    const later = await redeem(server, await authorize(server))
    const laterId = decodeJwt(later.json.id_token as string)
    expect(laterId.auth_time).toBeGreaterThanOrEqual(low)
    expect(laterId.iat).toBeGreaterThanOrEqual(low)
  })

  it('refresh tokens expire at their own lifetime (30 days) on the clock', async () => {
    const {server} = s
    const tokens = await redeem(server, await authorize(server))
    server.clock.advance('29d')
    const other = await redeem(server, await authorize(server))
    server.clock.advance('2d')
    const expired = await refresh(server, tokens.json.refresh_token as string)
    expect([expired.status, expired.json.error, expired.json.error_description]).toEqual([
      400,
      'invalid_grant',
      'The refresh token has expired; sign in again.',
    ])
    expect((await introspect(server, tokens.json.refresh_token as string)).json).toEqual({active: false})
    expect((await refresh(server, other.json.refresh_token as string)).status).toBe(200)
  })
})

describe('the CLI agrees with a moved clock (--now, PASSPORT_NOW)', () => {
  let s: Awaited<ReturnType<typeof startClockServer>>
  beforeAll(async () => {
    s = await startClockServer()
  })
  afterAll(() => s.cleanup())

  it('token:verify --now and PASSPORT_NOW see the token expired; purge with PASSPORT_NOW removes what has expired on that clock', async () => {
    const {server, dir, database, keyPath} = s
    const access = (await clientCredentials(server)).json.access_token as string
    await authorize(server) // a code that will expire, never redeemed
    expect((await post(`${server.url()}/oauth/device/code`, {client_id: 'tv'})).status).toBe(200)
    const global = ['--database', database, '--key-path', keyPath]

    const valid = await runCli(['token:verify', access, '--issuer', server.issuer, ...global, '--json'], {cwd: dir})
    expect(valid.code).toBe(0)
    server.clock.advance('16d')
    const now = new Date(server.clock.now()).toISOString()

    const withFlag = await runCli(['token:verify', access, '--issuer', server.issuer, '--now', now, ...global], {
      cwd: dir,
    })
    expect([withFlag.code, withFlag.stderr.trim()]).toEqual([1, 'Error: The token has expired.'])
    const withEnv = await runCli(['token:verify', access, '--issuer', server.issuer, ...global], {
      cwd: dir,
      env: {PASSPORT_NOW: String(Math.floor(server.clock.now() / 1000))},
    })
    expect([withEnv.code, withEnv.stderr.trim()]).toEqual([1, 'Error: The token has expired.'])
    const badNow = await runCli(['token:verify', access, '--issuer', server.issuer, '--now', 'tomorrow', ...global], {
      cwd: dir,
    })
    expect(badNow.code).toBe(1)
    expect(badNow.stderr).toContain(
      '--now (or PASSPORT_NOW) must be an ISO 8601 date-time with its zone (e.g. 2027-01-01T00:00:00Z) or Unix seconds; got "tomorrow".',
    )

    // On real time nothing has expired yet; on the moved clock the token, the code and the device code have.
    const realTime = await runCli(['purge', '--expired', '--json', ...global], {cwd: dir})
    expect(JSON.parse(realTime.stdout)).toEqual({
      oauth_refresh_tokens: 0,
      oauth_access_tokens: 0,
      oauth_auth_codes: 0,
      oauth_device_codes: 0,
    })
    const moved = await runCli(['purge', '--expired', '--json', ...global], {cwd: dir, env: {PASSPORT_NOW: now}})
    expect(JSON.parse(moved.stdout)).toEqual({
      oauth_refresh_tokens: 0,
      oauth_access_tokens: 1,
      oauth_auth_codes: 1,
      oauth_device_codes: 1,
    })
    expect((await introspect(server, access, svc)).json).toEqual({active: false})
  })
})

describe('OffsetClock and parseInstant', () => {
  it('set() and advance() move the clock; bad values are refused with the reason', () => {
    const clock = new OffsetClock('2027-01-01T00:00:00Z')
    expect(Math.abs(clock.now() - Date.parse('2027-01-01T00:00:00Z'))).toBeLessThan(60_000)
    const set = clock.set(new Date('2030-06-01T12:00:00Z'))
    expect(Math.abs(set - Date.parse('2030-06-01T12:00:00Z'))).toBeLessThan(60_000)
    expect(clock.advance('1h') - set).toBeGreaterThanOrEqual(3_600_000)
    expect(parseInstant('1798761600')).toBe(1_798_761_600_000)
    expect(parseInstant('2027-01-01')).toBe(Date.parse('2027-01-01T00:00:00Z'))
    expect(parseInstant('2027-01-01T01:00:00+01:00')).toBe(Date.parse('2027-01-01T00:00:00Z'))
    expect(() => parseInstant('2027-01-01T00:00:00')).toThrow('must be an ISO 8601 date-time with its zone')
    expect(() => clock.advance('-1d')).toThrow(
      'The clock advance must be milliseconds or a duration like "15m", "1h", "30d"; got "-1d".',
    )
    expect(() => clock.advance(0)).toThrow('The clock advance must be a positive whole number of milliseconds')
  })
})
