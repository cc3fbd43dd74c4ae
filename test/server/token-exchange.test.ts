import {spawn} from 'node:child_process'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import Database from 'better-sqlite3'
import * as oauth from 'oauth4webapi'
import * as client from 'openid-client'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startServer} from '../../src/api.js'
import {post as postForm} from '../fixtures/http.js'
import {basic, claims, pkce} from '../fixtures/oauth.js'
import {startFileServer} from '../fixtures/server.js'
import {BIN, cleanEnv, freePort, ROOT, tempDir} from '../helpers.js'

/**
 * Token exchange (RFC 8693, SPEC §10.10) against the in-process server: oauth4webapi's
 * genericTokenEndpointRequest and openid-client's genericGrantRequest as the clients, raw requests
 * for every refusal, and the database and introspection for what was issued.
 */

const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange'
const ACCESS = 'urn:ietf:params:oauth:token-type:access_token'
const REDIRECT = 'http://localhost:3000/callback'
const insecure = {[oauth.allowInsecureRequests]: true} as const

const CONFIG = {
  scopes: {read: 'Read', write: 'Write', admin: 'Admin'},
  users: {alice: {name: 'Alice Example'}},
  resources: {
    'https://api.example.test/v1': {name: 'API'},
    'https://reports.example.test/': {name: 'Reports', scopes: ['read']},
  },
  clients: [
    // No "grants": a confidential client's defaults include token exchange.
    {id: 'web', name: 'Web app', secret: 'web-secret-123', redirectUris: [REDIRECT]},
    {id: 'gateway', name: 'API gateway', secret: 'gateway-secret-123'},
    {id: 'limited', name: 'Read-only gateway', secret: 'limited-secret-123', scopes: ['read']},
    {id: 'api', name: 'Downstream API', secret: 'api-secret-123', grants: ['client_credentials']},
    {
      id: 'svc',
      name: 'Service',
      secret: 'svc-secret-123',
      grants: ['client_credentials', 'token_exchange'],
      scopes: ['read'],
    },
    // An explicit grants list is exact: no token exchange here.
    {id: 'cron', name: 'Cron job', secret: 'cron-secret-123', grants: ['client_credentials']},
    // A client whose id equals a user's subject (GHSA-349c-2h2f-mxf6).
    {id: 'alice', name: 'Alice the service', secret: 'alice-secret-123'},
  ],
}

let url: string
let issuer: string
let db: Database.Database
let clock: {advance(duration: string): number; set(date: number): number}
let close: () => Promise<void>

beforeAll(async () => {
  const server = await startFileServer({config: CONFIG, loginAs: 'alice', autoApprove: true}, 'passport-exchange-')
  url = server.handle.url()
  issuer = server.handle.issuer
  clock = server.handle.clock
  db = new Database(server.dbPath)
  close = async () => {
    db.close()
    await server.close()
  }
})
afterAll(() => close())

const GATEWAY = basic('gateway', 'gateway-secret-123')

function post(path: string, body: Record<string, string | string[]>, auth?: string) {
  return postForm(`${url}/oauth/${path}`, body, auth ? {auth} : {})
}

/** A user (alice) token pair of client web, through the headless authorization code flow. */
async function userTokens(
  scope = 'read write',
): Promise<{access_token: string; refresh_token: string; id_token?: string}> {
  const {verifier, challenge} = pkce('v'.repeat(43))
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: 'web',
    redirect_uri: REDIRECT,
    scope,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  })
  const answer = await fetch(`${url}/oauth/authorize?${query.toString()}`, {redirect: 'manual'})
  const code = new URL(answer.headers.get('location')!).searchParams.get('code')!
  const reply = await post(
    'token',
    {grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier},
    basic('web', 'web-secret-123'),
  )
  expect(reply.status).toBe(200)
  return reply.json as never
}

async function clientToken(id: string, secret: string, scope = 'read'): Promise<string> {
  const reply = await post('token', {grant_type: 'client_credentials', scope}, basic(id, secret))
  expect(reply.status).toBe(200)
  return reply.json.access_token as string
}

function exchange(subject: string, extra: Record<string, string> = {}, auth = GATEWAY) {
  return post('token', {grant_type: GRANT, subject_token: subject, subject_token_type: ACCESS, ...extra}, auth)
}

const exchanged = () =>
  (db.prepare('SELECT COUNT(*) AS n FROM oauth_access_tokens WHERE grant_type = ?').get(GRANT) as {n: number}).n
const row = (jti: string) =>
  db.prepare('SELECT * FROM oauth_access_tokens WHERE id = ?').get(jti) as {
    client_id: string
    user_id: string | null
    audience: string
    grant_type: string
    family_id: string | null
    scopes: string
    expires_at: number
  }

describe('token exchange with real clients', () => {
  it('discovery lists the grant in grant_types_supported', async () => {
    const meta = (await (await fetch(`${url}/.well-known/oauth-authorization-server`)).json()) as {
      grant_types_supported: string[]
    }
    expect(meta.grant_types_supported).toContain(GRANT)
  })

  it("checklist 101: oauth4webapi genericTokenEndpointRequest: a gateway exchanges alice's token for the api: sub kept, client_id the gateway, aud the api, no refresh token, recorded", async () => {
    const as = await oauth.processDiscoveryResponse(
      new URL(issuer),
      await oauth.discoveryRequest(new URL(issuer), {algorithm: 'oauth2', ...insecure}),
    )
    const gateway: oauth.Client = {client_id: 'gateway'}
    const subject = await userTokens('read write')
    const response = await oauth.genericTokenEndpointRequest(
      as,
      gateway,
      oauth.ClientSecretBasic('gateway-secret-123'),
      GRANT,
      {subject_token: subject.access_token, subject_token_type: ACCESS, audience: 'api', scope: 'read'},
      insecure,
    )
    expect(response.headers.get('cache-control')).toBe('no-store')
    const tokens = await oauth.processGenericTokenEndpointResponse(as, gateway, response)
    expect(tokens).toMatchObject({token_type: 'bearer', scope: 'read', issued_token_type: ACCESS})
    expect(tokens.refresh_token).toBeUndefined()

    const issued = claims(tokens.access_token)
    const original = claims(subject.access_token)
    // The exchanged token ends when the subject token does (15 days after it was issued);
    // expires_in is exp − iat of the exchanged token, whichever second the exchange fell in.
    expect(tokens.expires_in).toBe((issued.exp as number) - (issued.iat as number))
    expect((original.exp as number) - (original.iat as number)).toBe(15 * 86400)
    expect(issued).toMatchObject({
      iss: issuer,
      sub: 'alice',
      client_id: 'gateway',
      aud: 'api',
      scope: 'read',
      scopes: ['read'],
    })
    expect(issued).not.toHaveProperty('act')
    expect(issued.exp).toBe(original.exp)
    const record = row(issued.jti as string)
    expect(record).toMatchObject({
      client_id: 'gateway',
      user_id: 'alice',
      audience: 'api',
      grant_type: GRANT,
      family_id: null,
    })

    // Introspection sees it: for the gateway (issued to it) and for the api (its audience).
    for (const [id, secret] of [
      ['gateway', 'gateway-secret-123'],
      ['api', 'api-secret-123'],
    ] as const) {
      const answer = await post('introspect', {token: tokens.access_token}, basic(id, secret))
      expect(answer.json).toMatchObject({active: true, sub: 'alice', client_id: 'gateway', aud: 'api', scope: 'read'})
    }
    // And the subject token's own client does not.
    expect((await post('introspect', {token: tokens.access_token}, basic('web', 'web-secret-123'))).json).toEqual({
      active: false,
    })
  })

  it('checklist 101: openid-client genericGrantRequest with an actor token: act = {sub} of the actor, seen by introspection; resource sets aud', async () => {
    const config = await client.discovery(
      new URL(issuer),
      'gateway',
      'gateway-secret-123',
      client.ClientSecretBasic('gateway-secret-123'),
      {execute: [client.allowInsecureRequests]},
    )
    const subject = await userTokens('read')
    const actor = await clientToken('svc', 'svc-secret-123')
    const tokens = await client.genericGrantRequest(config, GRANT, {
      subject_token: subject.access_token,
      subject_token_type: ACCESS,
      actor_token: actor,
      actor_token_type: ACCESS,
      resource: 'https://api.example.test/v1',
    })
    expect(tokens.issued_token_type).toBe(ACCESS)
    expect(tokens.refresh_token).toBeUndefined()
    expect(claims(tokens.access_token)).toMatchObject({
      sub: 'alice',
      client_id: 'gateway',
      aud: 'https://api.example.test/v1',
      act: {sub: 'svc'},
      scope: 'read',
    })
    const answer = await post('introspect', {token: tokens.access_token}, GATEWAY)
    expect(answer.json).toMatchObject({active: true, sub: 'alice', act: {sub: 'svc'}})

    // Exchanging the exchanged token again with another actor nests the earlier act.
    const again = await exchange(tokens.access_token, {
      actor_token: await clientToken('api', 'api-secret-123', ''),
      actor_token_type: ACCESS,
    })
    expect(again.status).toBe(200)
    expect(claims(again.json.access_token as string).act).toEqual({sub: 'api', act: {sub: 'svc'}})
  })
})

describe('what an exchanged token is', () => {
  it("checklist 100: without scope: the subject's scopes the client may hold; never longer-lived than the subject token", async () => {
    const subject = await userTokens('read write')
    try {
      clock.advance('1d')
      const reply = await exchange(subject.access_token, {}, basic('limited', 'limited-secret-123'))
      expect(reply.status).toBe(200)
      expect(reply.json.scope).toBe('read')
      const issued = claims(reply.json.access_token)
      expect(issued.exp).toBe(claims(subject.access_token).exp)
      // The server's clock follows real time from its offset, so a second may tick between the two
      // requests: the exchanged token lives exactly to the subject's exp, 14 days from its iat
      // less the part of a second that passed.
      expect(reply.json.expires_in).toBe((issued.exp as number) - (issued.iat as number))
      expect(14 * 86400 - (reply.json.expires_in as number)).toBeOneOf([0, 1])
      expect(issued.aud).toBe('limited')
    } finally {
      clock.set(Date.now())
    }
  })

  it("checklist 101: the gateway revokes its exchanged token alone, never the subject's grant; a revoked subject cannot be exchanged", async () => {
    const subject = await userTokens('read')
    const first = await exchange(subject.access_token)
    const second = await exchange(subject.access_token)
    expect((await post('revoke', {token: first.json.access_token as string}, GATEWAY)).status).toBe(200)
    expect((await post('introspect', {token: first.json.access_token as string}, GATEWAY)).json).toEqual({
      active: false,
    })
    expect((await post('introspect', {token: second.json.access_token as string}, GATEWAY)).json.active).toBe(true)
    const web = basic('web', 'web-secret-123')
    expect((await post('introspect', {token: subject.access_token}, web)).json.active).toBe(true)
    expect((await post('introspect', {token: subject.refresh_token}, web)).json.active).toBe(true)

    expect((await post('revoke', {token: subject.refresh_token}, web)).status).toBe(200)
    const refused = await exchange(subject.access_token)
    expect([refused.status, refused.json.error, refused.json.error_description]).toEqual([
      400,
      'invalid_request',
      'The subject_token is not acceptable: The token has been revoked.',
    ])
  })

  it("checklist 101: resource and audience together, repeated: aud is every one of them; a resource's scopes narrow the default", async () => {
    const subject = await userTokens('read write')
    const form = {
      grant_type: GRANT,
      subject_token: subject.access_token,
      subject_token_type: ACCESS,
      resource: 'https://reports.example.test/',
      audience: ['api', 'https://api.example.test/v1'],
    }
    const reply = await post('token', form, GATEWAY)
    expect(reply.status).toBe(200)
    expect(reply.json.scope).toBe('read')
    expect(claims(reply.json.access_token as string).aud).toEqual([
      'https://reports.example.test/',
      'api',
      'https://api.example.test/v1',
    ])
    expect(
      (await post('introspect', {token: reply.json.access_token as string}, basic('api', 'api-secret-123'))).json,
    ).toMatchObject({active: true, client_id: 'gateway'})
  })

  it('a client may exchange its own client-credentials token (sub stays the client id)', async () => {
    const own = await clientToken('svc', 'svc-secret-123')
    const reply = await exchange(own, {audience: 'api'}, basic('svc', 'svc-secret-123'))
    expect(reply.status).toBe(200)
    expect(claims(reply.json.access_token as string)).toMatchObject({sub: 'svc', client_id: 'svc', aud: 'api'})
    expect(row(claims(reply.json.access_token as string).jti as string).user_id).toBeNull()
  })
})

describe('every refusal, with its RFC error and nothing issued', () => {
  type Case = [string, () => Promise<{status: number; json: Record<string, unknown>}>, number, string, RegExp]
  const cases: Case[] = [
    [
      'no client authentication',
      async () => post('token', {grant_type: GRANT, subject_token: 'x', subject_token_type: ACCESS}),
      401,
      'invalid_client',
      /No client authentication/,
    ],
    [
      'a client whose explicit grants list lacks it',
      async () => exchange((await userTokens()).access_token, {}, basic('cron', 'cron-secret-123')),
      400,
      'unauthorized_client',
      /may not use the urn:ietf:params:oauth:grant-type:token-exchange grant/,
    ],
    [
      'subject_token missing',
      async () => post('token', {grant_type: GRANT, subject_token_type: ACCESS}, GATEWAY),
      400,
      'invalid_request',
      /'subject_token' parameter is missing/,
    ],
    [
      'subject_token_type missing',
      async () => post('token', {grant_type: GRANT, subject_token: 'x'}, GATEWAY),
      400,
      'invalid_request',
      /subject_token_type parameter is missing; send subject_token_type=urn:ietf:params:oauth:token-type:access_token/,
    ],
    [
      'subject_token_type refresh_token',
      async () => exchange('x', {subject_token_type: 'urn:ietf:params:oauth:token-type:refresh_token'}),
      400,
      'invalid_request',
      /subject_token_type urn:ietf:params:oauth:token-type:refresh_token is not supported/,
    ],
    [
      'subject_token_type jwt',
      async () => exchange('x', {subject_token_type: 'urn:ietf:params:oauth:token-type:jwt'}),
      400,
      'invalid_request',
      /is not supported: the subject_token must be an access token issued by this authority/,
    ],
    [
      'actor_token_type without actor_token',
      async () => exchange((await userTokens()).access_token, {actor_token_type: ACCESS}),
      400,
      'invalid_request',
      /actor_token_type was sent without actor_token/,
    ],
    [
      'actor_token without actor_token_type',
      async () => exchange((await userTokens()).access_token, {actor_token: 'x'}),
      400,
      'invalid_request',
      /actor_token_type parameter is missing/,
    ],
    [
      'requested_token_type refresh_token',
      async () => exchange('x', {requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token'}),
      400,
      'invalid_request',
      /cannot be issued/,
    ],
    [
      'a garbage subject_token',
      async () => exchange('not-a-jwt'),
      400,
      'invalid_request',
      /^The subject_token is not acceptable: The token is not a well-formed JWT\.$/,
    ],
    [
      'a tampered subject_token',
      async () => exchange(tamper((await userTokens()).access_token)),
      400,
      'invalid_request',
      /^The subject_token is not acceptable: The token signature does not verify\.$/,
    ],
    [
      'an id token as subject_token',
      async () => exchange((await userTokens('openid read')).id_token!),
      400,
      'invalid_request',
      /^The subject_token is not acceptable: The token is not an access token/,
    ],
    [
      'an expired subject_token',
      async () => expiredExchange(),
      400,
      'invalid_request',
      /^The subject_token is not acceptable: The token has expired\.$/,
    ],
    [
      'an invalid actor_token',
      async () => exchange((await userTokens()).access_token, {actor_token: 'garbage', actor_token_type: ACCESS}),
      400,
      'invalid_request',
      /^The actor_token is not acceptable: The token is not a well-formed JWT\.$/,
    ],
    [
      "another client's client-credentials token",
      async () => exchange(await clientToken('svc', 'svc-secret-123')),
      400,
      'invalid_request',
      /client-credentials token of client svc: no user stands behind it, so only svc itself may exchange it/,
    ],
    [
      "a user token exchanged by a client with that user's id",
      async () => exchange((await userTokens()).access_token, {}, basic('alice', 'alice-secret-123')),
      400,
      'invalid_request',
      /user 'alice' has the id of client alice/,
    ],
    [
      'a scope the subject token lacks',
      async () => exchange((await userTokens('read')).access_token, {scope: 'read write'}),
      400,
      'invalid_scope',
      /was not granted write; an exchanged token may only keep or narrow its scope \(granted: read\)/,
    ],
    [
      'a scope the client may not hold',
      async () =>
        exchange(
          (await userTokens('read write')).access_token,
          {scope: 'write'},
          basic('limited', 'limited-secret-123'),
        ),
      400,
      'invalid_scope',
      /write/,
    ],
    [
      'an audience that is neither a client nor a URI',
      async () => exchange((await userTokens()).access_token, {audience: 'nobody'}),
      400,
      'invalid_target',
      /audience nobody is neither a client id of this authority nor a registered resource/,
    ],
    [
      'an internal client as audience',
      async () => exchange((await userTokens()).access_token, {audience: '__cli__'}),
      400,
      'invalid_target',
      /audience __cli__ is neither/,
    ],
    [
      'a resource with a fragment',
      async () => exchange((await userTokens()).access_token, {resource: 'https://api.example.test/v1#x'}),
      400,
      'invalid_target',
      /must not contain a fragment/,
    ],
    [
      'an unregistered resource',
      async () => exchange((await userTokens()).access_token, {resource: 'https://elsewhere.example.test/'}),
      400,
      'invalid_target',
      /resource https:\/\/elsewhere.example.test\/ is not registered with this authority/,
    ],
    [
      'an unregistered URI as audience',
      async () => exchange((await userTokens()).access_token, {audience: 'https://elsewhere.example.test/'}),
      400,
      'invalid_target',
      /audience https:\/\/elsewhere.example.test\/ is neither a client id of this authority nor a registered resource/,
    ],
    [
      'a scope a registered resource does not allow',
      async () =>
        exchange((await userTokens()).access_token, {resource: 'https://reports.example.test/', scope: 'write'}),
      400,
      'invalid_scope',
      /write may not be granted for resource https:\/\/reports.example.test\//,
    ],
    [
      'a repeated subject_token',
      async () => post('token', {grant_type: GRANT, subject_token: ['a', 'b'], subject_token_type: ACCESS}, GATEWAY),
      400,
      'invalid_request',
      /'subject_token' parameter is repeated/,
    ],
  ]
  const refused = (request: Case[1], status: number, error: string, description: RegExp) => async () => {
    const before = exchanged()
    const reply = await request()
    expect([reply.status, reply.json.error]).toEqual([status, error])
    expect(String(reply.json.error_description)).toMatch(description)
    expect(reply).not.toHaveProperty('json.access_token')
    expect(exchanged()).toBe(before)
  }
  const of = (line: number) => cases.filter((c) => lineOf(c) === line)
  for (const [what, request, status, error, description] of of(97))
    it(`checklist 97: ${what} → ${status} ${error}`, refused(request, status, error, description))
  for (const [what, request, status, error, description] of of(98))
    it(`checklist 98: ${what} → ${status} ${error}`, refused(request, status, error, description))
  for (const [what, request, status, error, description] of of(99))
    it(`checklist 99: ${what} → ${status} ${error}`, refused(request, status, error, description))
  for (const [what, request, status, error, description] of of(100))
    it(`checklist 100: ${what} → ${status} ${error}`, refused(request, status, error, description))

  it('checklist 97: a public client listing token exchange in the configuration is refused at start-up, naming the client', async () => {
    await expect(
      startServer({
        config: {
          clients: [
            {id: 'spa', name: 'SPA', redirectUris: [REDIRECT], grants: ['authorization_code', 'token-exchange']},
          ],
        },
      }),
    ).rejects.toThrow(/clients\[0\]: token exchange needs a confidential client; give it a "secret"/)
  })
})

/** The docs/security.md line a refusal belongs to. */
function lineOf([what, , , error]: [string, unknown, number, string, RegExp]): number {
  if (error === 'invalid_client' || error === 'unauthorized_client') return 97
  if (/client-credentials|that user/.test(what)) return 99
  if (error === 'invalid_request') return 98
  return 100
}

function tamper(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string]
  const changed = {...(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as object), scope: 'admin'}
  return `${header}.${Buffer.from(JSON.stringify(changed)).toString('base64url')}.${signature}`
}

async function expiredExchange() {
  const subject = await userTokens()
  try {
    clock.advance('15d')
    return await exchange(subject.access_token)
  } finally {
    clock.set(Date.now())
  }
}

describe('README recipe "Exchange a user\'s token at a gateway"', () => {
  it('runs as written (bash, the built CLI as npx passport, curl), on a free port instead of 9000', async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    const section = readme.slice(readme.indexOf("### Exchange a user's token at a gateway"))
    const script = /```sh\n([\s\S]*?)```/.exec(section)![1]!
    const port = await freePort()
    const {dir, cleanup} = tempDir('passport-recipe-')
    // npx passport → the built CLI (exec'd, so `$!` is the server itself); the issuer follows the
    // port, for `passport token` as for `serve`.
    mkdirSync(join(dir, 'bin'))
    writeFileSync(
      join(dir, 'bin', 'npx'),
      `#!/bin/sh\nshift\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"\n`,
      {mode: 0o755},
    )
    const child = spawn('bash', ['-c', `set -euo pipefail\n${script.replaceAll('9000', String(port))}`], {
      cwd: dir,
      env: cleanEnv({
        PASSPORT_ISSUER: `http://127.0.0.1:${port}`,
        PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}`,
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    try {
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
      expect(code, stderr).toBe(0)
      const answer = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>
      expect(answer).toMatchObject({token_type: 'Bearer', scope: 'read', issued_token_type: ACCESS})
      expect(answer).not.toHaveProperty('refresh_token')
      expect(claims(answer.access_token as string)).toMatchObject({
        iss: `http://127.0.0.1:${port}`,
        sub: 'alice',
        client_id: 'gateway',
        aud: 'orders',
        scope: 'read',
      })
    } finally {
      try {
        process.kill(-child.pid!, 'SIGTERM')
      } catch {
        // Already gone: the recipe stops its server itself.
      }
      cleanup()
    }
  }, 60_000)
})
