import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import Database from 'better-sqlite3'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {s256} from '../../src/core/crypto.js'
import {generateKeys} from '../../src/core/keys.js'
import {startServer} from '../../src/api.js'
import {type CliResult, runCli, tempDir, writeJson} from '../helpers.js'
import {type Answer, basic, expectNoLeaks, LeakScanner, send} from './support.js'

/**
 * Checklists 69 and 70 over one file that runs every flow: authorization code (+ reuse), refresh
 * (+ replay), client credentials, device (pending, approve, poll, re-poll), revocation,
 * introspection, userinfo, and the CLI (client, client:secret, token, token:verify,
 * token:revoke, device:approve), with failures on purpose. Every credential is
 * collected; afterwards the database must hold none of them in plain text (69), and no log line,
 * CLI stderr or error answer may contain any of them (70).
 */
const REDIRECT = 'http://localhost:3000/callback'
const VERIFIER = 'leak-verifier-0123456789-0123456789-0123456789'
const DEVICE = 'urn:ietf:params:oauth:grant-type:device_code'
const SECRETS = {web: 'web-secret-Leak-1', svc: 'svc-secret-Leak-2', kiosk: 'kiosk-secret-Leak-3'}

const scan = new LeakScanner()
let dir: string
let cleanup: () => void
let dbPath: string
let url: string
let close: () => Promise<void>
let configPath: string

beforeAll(async () => {
  ;({dir, cleanup} = tempDir('passport-leaks-'))
  dbPath = join(dir, 'passport.sqlite')
  configPath = join(dir, 'passport.config.json')
  writeJson(configPath, {
    database: dbPath,
    keyPath: join(dir, 'keys'),
    // One issuer for the server and the CLI (token:verify checks it).
    issuer: 'http://passport.test',
    users: {alice: {name: 'Alice', email: 'alice@example.test'}},
    scopes: {read: 'Read', write: 'Write'},
    clients: [
      {
        id: 'web',
        name: 'Web',
        secret: SECRETS.web,
        redirectUris: [REDIRECT],
        grants: ['authorization_code', 'refresh_token'],
        scopes: ['read', 'write', 'openid'],
        autoApprove: true,
      },
      {id: 'svc', name: 'Service', secret: SECRETS.svc, grants: ['client_credentials'], scopes: ['read']},
      {id: 'tv', name: 'TV', grants: ['device_code', 'refresh_token'], scopes: ['read']},
      {id: 'kiosk', name: 'Kiosk', secret: SECRETS.kiosk, grants: ['device_code']},
    ],
  })
  for (const [id, secret] of Object.entries(SECRETS)) scan.secret(`${id} client secret`, secret)
  await generateKeys(join(dir, 'keys'))
  scan.secret('private key PEM', readFileSync(join(dir, 'keys', 'oauth-private.key'), 'utf8'))
  const running = await startServer({
    config: configPath,
    database: dbPath,
    keyPath: join(dir, 'keys'),
    loginAs: 'alice',
    log: (line) => scan.output('access log', line),
  })
  url = running.url()
  close = () => running.close()
})

afterAll(async () => {
  await close?.()
  cleanup?.()
})

async function form(path: string, body: Record<string, string>, auth?: string): Promise<Answer> {
  const answer = await send(`${url}${path}`, {
    method: 'POST',
    headers: {'content-type': 'application/x-www-form-urlencoded', ...(auth ? {authorization: auth} : {})},
    body: new URLSearchParams(body).toString(),
  })
  return scan.answer(`POST ${path}`, withHeaders(answer))
}

/** Error answers are scanned together with their headers (WWW-Authenticate, Location). */
function withHeaders(answer: Answer): Answer {
  return {...answer, text: `${[...answer.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n\n${answer.text}`}
}

/**
 * User codes are only for the dump (69): a person reads them off a device and types them in,
 * and the approval page and `device:approve` name the code they were given (e.g. "already
 * approved") — they are not credentials on their own (approving needs a signed-in user).
 */
const userCodes: string[] = []

function collect(label: string, json: Record<string, unknown>): void {
  for (const key of ['access_token', 'refresh_token', 'id_token', 'device_code', 'client_secret'])
    scan.secret(`${label} ${key}`, json[key] as string | undefined)
  if (typeof json.user_code === 'string') userCodes.push(json.user_code)
}

async function cli(args: string[]): Promise<CliResult> {
  const result = await runCli([...args, '--config', configPath], {cwd: dir})
  scan.output(`stderr of passport ${args[0]}`, result.stderr)
  return result
}

const webAuth = () => basic('web', SECRETS.web)

describe('secrets in storage and output (checklists 69, 70)', () => {
  let codeTokens: Record<string, unknown> = {}

  it('flows: authorization code (wrong verifier, success, reuse), refresh (success, replay), misplaced credentials', async () => {
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: 'web',
      redirect_uri: REDIRECT,
      code_challenge: s256(VERIFIER),
      code_challenge_method: 'S256',
      scope: 'openid read',
      state: 'st',
    })
    const authorize = await send(`${url}/oauth/authorize?${query}`)
    expect(authorize.status).toBe(302)
    const code = new URL(authorize.headers.get('location')!).searchParams.get('code')!
    scan.secret('authorization code', code)

    expect(
      (
        await form(
          '/oauth/token',
          {grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: `${VERIFIER}x`},
          webAuth(),
        )
      ).json.error,
    ).toBe('invalid_grant')
    const redeemed = await form(
      '/oauth/token',
      {grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: VERIFIER},
      webAuth(),
    )
    expect(redeemed.status).toBe(200)
    collect('code', redeemed.json)
    expect(
      (
        await form(
          '/oauth/token',
          {grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: VERIFIER},
          webAuth(),
        )
      ).json.error,
    ).toBe('invalid_grant')

    // A second chain to refresh and replay.
    const again = await send(`${url}/oauth/authorize?${query}`)
    const code2 = new URL(again.headers.get('location')!).searchParams.get('code')!
    scan.secret('authorization code 2', code2)
    const pair = await form(
      '/oauth/token',
      {grant_type: 'authorization_code', code: code2, redirect_uri: REDIRECT, code_verifier: VERIFIER},
      webAuth(),
    )
    collect('code 2', pair.json)
    const rotated = await form(
      '/oauth/token',
      {grant_type: 'refresh_token', refresh_token: pair.json.refresh_token as string},
      webAuth(),
    )
    expect(rotated.status).toBe(200)
    collect('refresh', rotated.json)
    expect(
      (
        await form(
          '/oauth/token',
          {grant_type: 'refresh_token', refresh_token: pair.json.refresh_token as string},
          webAuth(),
        )
      ).json.error,
    ).toBe('invalid_grant')

    // Credentials in the wrong place, wrong secrets: the errors never echo them.
    await form(
      '/oauth/token',
      {
        grant_type: 'authorization_code',
        code: rotated.json.refresh_token as string,
        redirect_uri: REDIRECT,
        code_verifier: VERIFIER,
      },
      webAuth(),
    )
    await form('/oauth/token', {grant_type: 'refresh_token', refresh_token: code}, webAuth())
    await form(
      '/oauth/token',
      {grant_type: 'refresh_token', refresh_token: rotated.json.access_token as string},
      webAuth(),
    )
    await form('/oauth/token', {grant_type: 'client_credentials', client_id: 'svc', client_secret: SECRETS.web})
    await form('/oauth/token', {grant_type: 'client_credentials'}, basic('svc', SECRETS.kiosk))
    await form(
      '/oauth/token',
      {grant_type: 'client_credentials', client_id: 'svc', client_secret: SECRETS.svc},
      basic('svc', SECRETS.svc),
    )
    // A third chain stays live for introspection, userinfo and revocation.
    const third = await send(`${url}/oauth/authorize?${query}`)
    const code3 = new URL(third.headers.get('location')!).searchParams.get('code')!
    scan.secret('authorization code 3', code3)
    codeTokens = (
      await form(
        '/oauth/token',
        {grant_type: 'authorization_code', code: code3, redirect_uri: REDIRECT, code_verifier: VERIFIER},
        webAuth(),
      )
    ).json
    collect('code 3', codeTokens)
    const cc = await form('/oauth/token', {grant_type: 'client_credentials', scope: 'read'}, basic('svc', SECRETS.svc))
    expect(cc.status).toBe(200)
    collect('client credentials', cc.json)
  })

  it('flows: device (pending, wrong client, approve, poll, re-poll), revocation, introspection, userinfo', async () => {
    const started = await form('/oauth/device/code', {client_id: 'tv', scope: 'read'})
    collect('device', started.json)
    const deviceCode = started.json.device_code as string
    // Pending polls on a second code (polling the first now would start its interval clock).
    const pending = await form('/oauth/device/code', {client_id: 'tv', scope: 'read'})
    collect('device pending', pending.json)
    expect(
      (
        await form('/oauth/token', {
          grant_type: DEVICE,
          device_code: pending.json.device_code as string,
          client_id: 'tv',
        })
      ).json.error,
    ).toBe('authorization_pending')
    expect(
      (
        await form('/oauth/token', {
          grant_type: DEVICE,
          device_code: pending.json.device_code as string,
          client_id: 'tv',
        })
      ).json.error,
    ).toBe('slow_down')
    await form('/oauth/token', {grant_type: DEVICE, device_code: deviceCode}, basic('kiosk', SECRETS.kiosk))
    await form('/oauth/token', {grant_type: DEVICE, device_code: started.json.user_code as string, client_id: 'tv'})
    // Approve through the JSON API of the device page (signed in by --login-as).
    const page = await fetch(`${url}/oauth/device?user_code=${encodeURIComponent(started.json.user_code as string)}`, {
      headers: {accept: 'application/json'},
    })
    const cookie = page.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ')
    const {csrf_token: csrf} = (await page.json()) as {csrf_token: string}
    const approve = (userCode: string) =>
      send(`${url}/oauth/device/approve`, {
        method: 'POST',
        headers: {'content-type': 'application/json', accept: 'application/json', cookie, 'x-csrf-token': csrf},
        body: JSON.stringify({user_code: userCode, approved: true}),
      })
    expect((await approve(started.json.user_code as string)).status).toBe(200)
    scan.answer('POST /oauth/device/approve (again)', withHeaders(await approve(started.json.user_code as string)))
    const polled = await form('/oauth/token', {grant_type: DEVICE, device_code: deviceCode, client_id: 'tv'})
    expect(polled.status).toBe(200)
    collect('device tokens', polled.json)
    expect((await form('/oauth/token', {grant_type: DEVICE, device_code: deviceCode, client_id: 'tv'})).status).toBe(
      400,
    )

    // Introspection, revocation, userinfo with good and bad tokens.
    const access = codeTokens.access_token as string
    expect((await form('/oauth/introspect', {token: access}, webAuth())).json.active).toBe(true)
    await form('/oauth/introspect', {token: access})
    await form('/oauth/introspect', {token: access}, basic('web', SECRETS.svc))
    const info = await send(`${url}/oauth/userinfo`, {headers: {authorization: `Bearer ${access}`}})
    expect(info.status).toBe(200)
    expect((await form('/oauth/revoke', {token: codeTokens.refresh_token as string}, webAuth())).status).toBe(200)
    await form('/oauth/revoke', {token: access}, basic('svc', SECRETS.svc))
    await form('/oauth/revoke', {token: access}, basic('web', 'nope'))
    const revoked = scan.answer(
      'GET /oauth/userinfo (revoked)',
      withHeaders(await send(`${url}/oauth/userinfo`, {headers: {authorization: `Bearer ${access}`}})),
    )
    expect(revoked.status).toBe(401)
    const tampered = scan.answer(
      'GET /oauth/userinfo (tampered)',
      withHeaders(await send(`${url}/oauth/userinfo`, {headers: {authorization: `Bearer ${access.slice(0, -4)}AAAA`}})),
    )
    expect(tampered.status).toBe(401)
    scan.answer(
      'POST /oauth/userinfo (twice)',
      withHeaders(
        await send(`${url}/oauth/userinfo`, {
          method: 'POST',
          headers: {authorization: `Bearer ${access}`, 'content-type': 'application/x-www-form-urlencoded'},
          body: `access_token=${access}`,
        }),
      ),
    )
    // The sign-in page and a bad authorization request as HTML.
    scan.answer(
      'GET /oauth/authorize (bad)',
      withHeaders(
        await send(`${url}/oauth/authorize?client_id=web&redirect_uri=${encodeURIComponent(`${REDIRECT}/`)}`),
      ),
    )
  })

  it('flows: the CLI — client, client:secret, token, token:verify, token:revoke, device:approve, with failures', async () => {
    const device = await form('/oauth/device/code', {client_id: 'tv', scope: 'read'})
    collect('device (cli)', device.json)
    const [created, minted, approved] = await Promise.all([
      cli(['client', 'CLI app', '--id', 'cli-app', '--client-credentials', '--json']),
      cli(['token', '--user', 'alice', '--scope', 'read', '--json']),
      cli(['device:approve', device.json.user_code as string, '--user', 'alice']),
    ])
    for (const run of [created, minted, approved]) expect(run.code, run.stderr).toBe(0)
    collect('cli client', JSON.parse(created.stdout) as Record<string, unknown>)
    collect('cli token', JSON.parse(minted.stdout) as Record<string, unknown>)
    const cliToken = (JSON.parse(minted.stdout) as {access_token: string}).access_token

    // Failures that carry a credential on the command line name the problem, never the value.
    const [secret, revokedCli, verifyRevoked, approveAgain] = await Promise.all([
      cli(['client:secret', 'cli-app', '--json']),
      cli(['token:revoke', cliToken]),
      cli(['token:verify', codeTokens.access_token as string]),
      cli(['device:approve', device.json.user_code as string, '--user', 'alice']),
    ])
    expect(secret.code, secret.stderr).toBe(0)
    collect('cli regenerated secret', JSON.parse(secret.stdout) as Record<string, unknown>)
    expect(revokedCli.code, revokedCli.stderr).toBe(0)
    expect(verifyRevoked.code).toBe(1)
    expect(verifyRevoked.stderr).toMatch(/revoked/i)
    expect(approveAgain.code).toBe(1)
  }, 60_000)

  it('checklist 69: a dump of the database (file, WAL, every row) holds no secret, code, refresh token, device code, user code, access token or private key in plain text', () => {
    const db = new Database(dbPath, {readonly: true})
    let rows = ''
    let image = ''
    try {
      for (const {name} of db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{
        name: string
      }>) {
        rows += `${name}\n${JSON.stringify(db.prepare(`SELECT * FROM "${name}"`).all())}\n`
      }
      // The whole database image as SQLite serializes it.
      image = db.serialize().toString('latin1')
    } finally {
      db.close()
    }
    const files = readdirSync(dir)
      .filter((f) => f.startsWith('passport.sqlite'))
      .map((f) => readFileSync(join(dir, f)).toString('latin1'))
    expect(files.length).toBeGreaterThanOrEqual(1)
    expect(rows).toMatch(/oauth_refresh_tokens/)
    const dump = new LeakScanner()
    for (const text of [rows, image, ...files]) dump.output('database dump', text)
    // Every credential the flows created, the client secrets included.
    for (const [value, label] of scan.entries()) dump.secret(label, value)
    // User codes are stored hashed too; the dump must not show them, with or without the hyphen.
    for (const code of userCodes) {
      dump.secret('user code', code)
      dump.secret('user code (normalized)', code.replace('-', ''))
    }
    expect(dump.secretCount).toBeGreaterThan(20)
    expectNoLeaks(dump)
  })

  it('checklist 70: no secret, token, code or private key appears in the access log, any CLI stderr or any error answer', () => {
    console.log(`leak scan: ${scan.secretCount} secrets against ${scan.outputCount} outputs`)
    expectNoLeaks(scan)
  })
})
