import {decodeJwt} from 'jose'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {post} from '../server/harness.js'
import {clientCredentials, openidClientLogin, REDIRECT, startHandle, svc, web, type Handle} from './support.js'

let server: Handle
beforeAll(async () => {
  server = await startHandle()
})
afterAll(() => server.close())

describe('the handle startServer() returns', () => {
  it('issuer, url(path), port and the endpoint URLs as discovery gives them', async () => {
    expect(server.issuer).toBe(`http://127.0.0.1:${server.port}`)
    expect(server.url()).toBe(server.issuer)
    expect(server.url('/healthz')).toBe(`${server.issuer}/healthz`)
    expect(server.url.toString()).toBe(server.issuer)
    expect((await fetch(server.url('/healthz'))).status).toBe(200)
    const meta = (await (await fetch(server.endpoints.discovery)).json()) as Record<string, unknown>
    expect(server.endpoints).toEqual({
      discovery: `${server.issuer}/.well-known/openid-configuration`,
      authorizationServerMetadata: `${server.issuer}/.well-known/oauth-authorization-server`,
      jwks: meta.jwks_uri,
      authorization: meta.authorization_endpoint,
      token: meta.token_endpoint,
      introspection: meta.introspection_endpoint,
      revocation: meta.revocation_endpoint,
      userinfo: meta.userinfo_endpoint,
      deviceAuthorization: meta.device_authorization_endpoint,
      endSession: meta.end_session_endpoint,
    })
  })

  it('mint(options) issues a recorded token the server introspects as active', async () => {
    const minted = await server.mint({client: 'svc', user: 'alice', scopes: ['read'], claims: {tenant: 'acme'}})
    expect(minted).toMatchObject({token_type: 'Bearer', scope: 'read', expires_in: 15 * 86_400})
    expect(decodeJwt(minted.access_token)).toMatchObject({iss: server.issuer, sub: 'alice', tenant: 'acme'})
    const answer = await post(server.endpoints.introspection, {token: minted.access_token}, {auth: svc})
    expect(answer.json).toMatchObject({active: true, sub: 'alice', scope: 'read'})
    await expect(server.mint({claims: {sub: 'x'}})).rejects.toThrow(
      'Claim "sub" is set by passport itself and cannot be overridden.',
    )
  })

  it('users.set(sub, user) changes the id token and userinfo of the next login; bad users are refused, nothing changed', async () => {
    server.users.set('alice', {name: 'Alice Changed', email: 'alice@new.test', claims: {role: 'auditor', team: 'blue'}})
    const tokens = await openidClientLogin(server)
    expect(tokens.claims()).toMatchObject({sub: 'alice', name: 'Alice Changed', role: 'auditor', team: 'blue'})
    const info = (await (
      await fetch(server.endpoints.userinfo, {headers: {authorization: `Bearer ${tokens.access_token}`}})
    ).json()) as Record<string, unknown>
    expect(info).toEqual({sub: 'alice', name: 'Alice Changed', role: 'auditor', team: 'blue'})

    expect(() => server.users.set('alice', {claims: {sub: 'bob'}})).toThrow(
      '"claims.sub" is not allowed: "sub" is set by passport itself and cannot be configured.',
    )
    expect(() => server.users.set(' alice', {})).toThrow(
      '"sub" is not a usable subject: A subject must not start or end with spaces.',
    )
    expect(() => server.users.set('alice', {name: 42} as never)).toThrow('"name" must be a string.')
    expect(() => server.users.set('alice', {nickname: 'x'} as never)).toThrow(
      '"nickname" is not a user key; use name, email, email_verified, claims.',
    )
    expect((await openidClientLogin(server)).claims()).toMatchObject({name: 'Alice Changed', role: 'auditor'})
    expect(server.users.delete('alice')).toBe(true)
    expect(server.users.delete('alice')).toBe(false)
    expect(userPart((await openidClientLogin(server)).claims()!)).toEqual({sub: 'alice'})
  })

  it('checklist 94: requests: method, path without query, status, client, grant, duration; never a secret, token, code or query string', async () => {
    const issued = await clientCredentials(server)
    await post(server.endpoints.introspection, {token: issued.json.access_token as string}, {auth: svc})
    await post(server.endpoints.token, {grant_type: 'client_credentials'}, {auth: web})
    const tokens = await openidClientLogin(server)
    await post(server.endpoints.token, {grant_type: 'refresh_token', refresh_token: tokens.refresh_token!}, {auth: web})
    const log = server.requests
    const oauthRequests = log.filter((r) => r.path.startsWith('/oauth/'))
    const [cc, introspection, refused] = oauthRequests.slice(-6, -3)
    expect(cc).toMatchObject({
      method: 'POST',
      path: '/oauth/token',
      status: 200,
      client: 'svc',
      grant: 'client_credentials',
    })
    expect(cc!.duration).toBeGreaterThan(0)
    expect(Date.parse(cc!.at)).toBeGreaterThan(0)
    expect(introspection).toMatchObject({
      method: 'POST',
      path: '/oauth/introspect',
      status: 200,
      client: 'svc',
      grant: null,
    })
    expect(refused).toMatchObject({path: '/oauth/token', status: 400, client: 'web', grant: 'client_credentials'})
    expect(oauthRequests.slice(-3).map((r) => [r.method, r.path, r.status, r.client, r.grant])).toEqual([
      ['GET', '/oauth/authorize', 302, 'web', null],
      ['POST', '/oauth/token', 200, 'web', 'authorization_code'],
      ['POST', '/oauth/token', 200, 'web', 'refresh_token'],
    ])
    const text = JSON.stringify(log)
    for (const secret of [
      'svc-secret',
      'web-secret',
      issued.json.access_token as string,
      tokens.access_token,
      tokens.refresh_token!,
      tokens.id_token!,
      '?',
      'code=',
      encodeURIComponent(REDIRECT),
    ]) {
      expect(text).not.toContain(secret)
    }
    expect(Object.keys(cc!).sort()).toEqual(['at', 'client', 'duration', 'grant', 'method', 'path', 'status'])
  })

  it('requests keeps the last 1,000, newest last', async () => {
    for (let i = 0; i < 1010; i++) await fetch(server.url(`/healthz?n=${i}`))
    const log = server.requests
    expect(log).toHaveLength(1000)
    expect(log.every((r) => r.path === '/healthz' && r.status === 200)).toBe(true)
    // A copy: changing it changes nothing.
    log.length = 0
    expect(server.requests).toHaveLength(1000)
  })
})

/** The claims beyond the id token's protocol claims. */
function userPart(claims: Record<string, unknown>): Record<string, unknown> {
  const {
    iss: _iss,
    aud: _aud,
    exp: _exp,
    iat: _iat,
    auth_time: _authTime,
    nonce: _nonce,
    at_hash: _atHash,
    azp: _azp,
    sid: _sid,
    ...rest
  } = claims
  return rest
}
