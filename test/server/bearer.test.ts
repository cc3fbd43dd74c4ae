import {createPrivateKey, generateKeyPairSync, randomUUID} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'

import {SignJWT, base64url, decodeJwt, decodeProtectedHeader} from 'jose'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {requireBearer} from '../../src/index.js'
import {basic} from '../fixtures/oauth.js'
import {issueCode, post, read, redeem, startTestServer, type TestServer} from './harness.js'

let server: TestServer
let userinfo: string
let kid: string
let privateKey: ReturnType<typeof createPrivateKey>

beforeAll(async () => {
  server = await startTestServer({withKeys: true})
  userinfo = `${server.url}/oauth/userinfo`
  privateKey = createPrivateKey(readFileSync(join(server.keyPath!, 'oauth-private.key')))
  const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as {keys: Array<{kid: string}>}
  kid = jwks.keys[0]!.kid
})
afterAll(() => server.close())

async function userToken(scopes = ['openid', 'profile', 'email']): Promise<string> {
  const reply = await redeem(server, issueCode(server, {scopes}).code)
  expect(reply.status).toBe(200)
  return reply.json.access_token as string
}

const get = (token?: string, scheme = 'Bearer') =>
  fetch(userinfo, token === undefined ? {} : {headers: {authorization: `${scheme} ${token}`}}).then(read)

/** A token like the server's, signed by `key` with overrides: for forgery tests. */
function forge(
  options: {
    header?: Record<string, unknown>
    claims?: Record<string, unknown>
    key?: ReturnType<typeof createPrivateKey> | Uint8Array
    alg?: string
  } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({client_id: 'web', scope: 'openid', scopes: ['openid'], ...options.claims})
    .setProtectedHeader({alg: options.alg ?? 'RS256', typ: 'at+jwt', kid, ...options.header})
    .setIssuer((options.claims?.iss as string | undefined) ?? server.issuer)
    .setSubject('alice')
    .setAudience('web')
    .setJti(randomUUID())
    .setIssuedAt(now)
    .setExpirationTime((options.claims?.exp as number | undefined) ?? now + 600)
    .sign(options.key ?? privateKey)
}

function expectInvalidToken(reply: Awaited<ReturnType<typeof get>>): void {
  expect(reply.status).toBe(401)
  expect(reply.headers.get('www-authenticate')).toMatch(
    /^Bearer realm="passport", error="invalid_token", error_description="[\x20\x21\x23-\x5b\x5d-\x7e]+"$/,
  )
  expect(reply.json.error).toBe('invalid_token')
}

describe('bearer-protected userinfo', () => {
  it('userinfo returns the claims the scopes release, no-store', async () => {
    const reply = await get(await userToken())
    expect(reply.status).toBe(200)
    expect(reply.headers.get('cache-control')).toBe('no-store')
    expect(reply.json).toEqual({
      sub: 'alice',
      name: 'Alice Example',
      given_name: 'Alice',
      email: 'alice@example.test',
      email_verified: true,
      role: 'admin',
    })
    const openidOnly = await get(await userToken(['openid']))
    // Custom claims are released with profile unless the configuration maps them elsewhere.
    expect(openidOnly.json).toEqual({sub: 'alice'})
  })

  it('checklist 56: no credentials → 401 with WWW-Authenticate: Bearer realm and no error', async () => {
    for (const reply of [await get(), await get('dXNlcjpwYXNz', 'Basic')]) {
      expect(reply.status).toBe(401)
      expect(reply.headers.get('www-authenticate')).toBe('Bearer realm="passport"')
      expect(reply.text).not.toContain('error')
    }
  })

  it('checklist 57: expired, revoked or tampered → 401 invalid_token', async () => {
    const expired = await userToken()
    server.exec('UPDATE oauth_access_tokens SET expires_at = ? WHERE id = ?', Date.now() - 1, decodeJwt(expired).jti)
    expectInvalidToken(await get(expired))
    const revoked = await userToken()
    server.exec('UPDATE oauth_access_tokens SET revoked_at = ? WHERE id = ?', Date.now(), decodeJwt(revoked).jti)
    expectInvalidToken(await get(revoked))
    const valid = await userToken()
    const [h, p, s] = valid.split('.') as [string, string, string]
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>
    const tampered = `${h}.${base64url.encode(JSON.stringify({...payload, sub: 'bob'}))}.${s}`
    expectInvalidToken(await get(tampered))
    expectInvalidToken(await get(`${h}.${p}.${s.slice(0, -4)}AAAA`))
    expectInvalidToken(await get('not-a-jwt'))
    expect((await get(valid)).status).toBe(200)
  })

  it('checklist 58: a valid token without the needed scope → 403 insufficient_scope with scope="openid"', async () => {
    const reply = await get(await userToken(['read']))
    expect(reply.status).toBe(403)
    expect(reply.headers.get('www-authenticate')).toMatch(
      /^Bearer realm="passport", error="insufficient_scope", error_description="[^"]+", scope="openid"$/,
    )
    expect(reply.json.error).toBe('insufficient_scope')
  })

  it('checklist 59: header and body at once → 400 invalid_request; ?access_token= is ignored; the scheme is case-insensitive', async () => {
    const token = await userToken()
    const both = await post(userinfo, {access_token: token}, {auth: `Bearer ${token}`})
    expect([both.status, both.json.error]).toEqual([400, 'invalid_request'])
    expect(both.headers.get('www-authenticate')).toMatch(/error="invalid_request"/)
    const bodyOnly = await post(userinfo, {access_token: token})
    expect([bodyOnly.status, bodyOnly.json.sub]).toEqual([200, 'alice'])
    const query = await read(await fetch(`${userinfo}?access_token=${token}`))
    expect(query.status).toBe(401)
    expect(query.headers.get('www-authenticate')).toBe('Bearer realm="passport"')
    for (const scheme of ['bearer', 'BEARER', 'bEaReR']) expect((await get(token, scheme)).status).toBe(200)
  })

  it('checklist 60: alg none, HS256 with the public key, unknown kid, an id token (typ JWT), wrong iss, past exp → invalid_token', async () => {
    const now = Math.floor(Date.now() / 1000)
    const header = base64url.encode(JSON.stringify({alg: 'none', typ: 'at+jwt', kid}))
    const body = base64url.encode(
      JSON.stringify({
        iss: server.issuer,
        sub: 'alice',
        aud: 'web',
        client_id: 'web',
        scope: 'openid',
        scopes: ['openid'],
        jti: randomUUID(),
        iat: now,
        exp: now + 600,
      }),
    )
    expectInvalidToken(await get(`${header}.${body}.`))

    const publicPem = readFileSync(join(server.keyPath!, 'oauth-public.key'))
    expectInvalidToken(await get(await forge({alg: 'HS256', key: new Uint8Array(publicPem)})))

    const stranger = generateKeyPairSync('rsa', {modulusLength: 2048}).privateKey
    expectInvalidToken(await get(await forge({key: stranger, header: {kid: 'unknown-kid'}})))
    expectInvalidToken(await get(await forge({key: stranger})))

    const {code} = issueCode(server, {scopes: ['openid']})
    const idToken = (await redeem(server, code)).json.id_token as string
    expect(decodeProtectedHeader(idToken).typ).toBe('JWT')
    const idReply = await get(idToken)
    expectInvalidToken(idReply)
    expect(idReply.json.error_description).toMatch(/at\+jwt/)

    const wrongIss = await get(await forge({claims: {iss: 'http://evil.test'}}))
    expectInvalidToken(wrongIss)
    expect(wrongIss.json.error_description).toMatch(/issuer/)
    const past = await get(await forge({claims: {exp: now - 10}}))
    expectInvalidToken(past)
    expect(past.json.error_description).toMatch(/expired/)
    // Correctly signed but never issued by this authority.
    expectInvalidToken(await get(await forge()))
  })
})

describe('requireBearer (the library guard) against the published JWKS', () => {
  let api: Server
  let apiUrl: string
  beforeAll(async () => {
    const guard = requireBearer({
      issuer: server.issuer,
      jwks: `${server.url}/.well-known/jwks.json`,
      scopes: ['read'],
      audience: 'web',
    })
    api = createServer((req, res) => {
      void guard(req, res, () => {
        res.writeHead(200, {'content-type': 'application/json'})
        res.end(JSON.stringify({sub: (req as {auth?: {claims: {sub: string}}}).auth!.claims.sub}))
      })
    })
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve))
    apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}/`
  })
  afterAll(() => new Promise<void>((resolve) => api.close(() => resolve())))

  const call = (token?: string) =>
    fetch(apiUrl, token === undefined ? {} : {headers: {authorization: `Bearer ${token}`}}).then(read)

  it('passes a valid token and sets req.auth', async () => {
    const reply = await call(await userToken(['read']))
    expect(reply).toMatchObject({status: 200, json: {sub: 'alice'}})
  })

  it('checklist 56-58, 60 on the guard: no token 401, wrong aud / alg none 401 invalid_token, missing scope 403', async () => {
    expect((await call()).headers.get('www-authenticate')).toBe('Bearer realm="passport"')
    const {code} = issueCode(server, {clientId: 'other', scopes: ['read']})
    const otherToken = (await redeem(server, code, {}, basic('other', 'other-secret'))).json.access_token as string
    const wrongAud = await call(otherToken)
    expect(wrongAud.status).toBe(401)
    expect(wrongAud.headers.get('www-authenticate')).toMatch(/error="invalid_token"/)
    expect(wrongAud.json.error_description).toMatch(/audience/)
    const header = base64url.encode(JSON.stringify({alg: 'none', typ: 'at+jwt'}))
    const noneReply = await call(
      `${header}.${base64url.encode(JSON.stringify({iss: server.issuer, sub: 'a', aud: 'web', client_id: 'web', jti: 'x', iat: 1, exp: 9999999999}))}.`,
    )
    expect(noneReply.status).toBe(401)
    const noScope = await call(await userToken(['write']))
    expect(noScope.status).toBe(403)
    expect(noScope.headers.get('www-authenticate')).toMatch(
      /error="insufficient_scope", error_description="[^"]+", scope="read"$/,
    )
  })
})
