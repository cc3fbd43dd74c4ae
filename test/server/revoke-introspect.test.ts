import {decodeJwt} from 'jose'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {
  WEB_SECRET,
  basic,
  expectNoStore,
  introspect,
  issueCode,
  post,
  redeem,
  startTestServer,
  type TestServer,
} from './harness.js'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server.close())

const revoke = (form: Record<string, string>, auth: string | null = basic('web', WEB_SECRET)) =>
  post(`${server.url}/oauth/revoke`, form, auth === null ? {} : {auth})

async function codeTokens(
  clientId = 'web',
  auth = basic('web', WEB_SECRET),
): Promise<{access: string; refresh: string; familyId: string}> {
  const {code, id} = issueCode(server, {clientId, scopes: ['read']})
  const reply = await redeem(server, code, {}, auth)
  expect(reply.status).toBe(200)
  return {access: reply.json.access_token as string, refresh: reply.json.refresh_token as string, familyId: id}
}

const bearer = (token: string) => fetch(`${server.url}/oauth/userinfo`, {headers: {authorization: `Bearer ${token}`}})

describe('revocation (RFC 7009)', () => {
  it("checklist 48: revoking a refresh token → 200 empty; it and its family's access tokens become inactive", async () => {
    const tokens = await codeTokens()
    const reply = await revoke({token: tokens.refresh, token_type_hint: 'refresh_token'})
    expect(reply.status).toBe(200)
    expect(reply.text).toBe('')
    expectNoStore(reply)
    expect(
      server.rows('SELECT id FROM oauth_refresh_tokens WHERE family_id = ? AND revoked_at IS NULL', tokens.familyId),
    ).toEqual([])
    expect(
      server.rows('SELECT id FROM oauth_access_tokens WHERE family_id = ? AND revoked_at IS NULL', tokens.familyId),
    ).toEqual([])
    expect((await introspect(server, tokens.access)).json).toEqual({active: false})
    expect((await introspect(server, tokens.refresh)).json).toEqual({active: false})
  })

  it('checklist 49: revoking a JWT access token → 200; its jti then introspects inactive and is refused as a bearer', async () => {
    const {code} = issueCode(server, {scopes: ['openid']})
    const access = (await redeem(server, code)).json.access_token as string
    expect((await bearer(access)).status).toBe(200)
    const reply = await revoke({token: access, token_type_hint: 'access_token'})
    expect([reply.status, reply.text]).toEqual([200, ''])
    expect(
      server.row(
        'SELECT revoked_at IS NOT NULL AS revoked FROM oauth_access_tokens WHERE id = ?',
        decodeJwt(access).jti,
      ),
    ).toEqual({revoked: 1})
    expect((await introspect(server, access)).json).toEqual({active: false})
    const refused = await bearer(access)
    expect(refused.status).toBe(401)
    expect(refused.headers.get('www-authenticate')).toMatch(
      /^Bearer realm="passport", error="invalid_token", error_description="[^"]*revoked/,
    )
  })

  it('checklist 50: unknown, garbage or already revoked → 200; a wrong token_type_hint still finds the token', async () => {
    for (const token of ['unknown-token', 'a.b.c', 'x'.repeat(5000), '%00\u0000']) {
      const reply = await revoke({token})
      expect([reply.status, reply.text]).toEqual([200, ''])
    }
    const tokens = await codeTokens()
    expect((await revoke({token: tokens.refresh, token_type_hint: 'access_token'})).status).toBe(200)
    expect(
      server.rows('SELECT id FROM oauth_refresh_tokens WHERE family_id = ? AND revoked_at IS NULL', tokens.familyId),
    ).toEqual([])
    expect((await revoke({token: tokens.refresh})).status).toBe(200)
    const other = await codeTokens()
    expect((await revoke({token: other.access, token_type_hint: 'refresh_token'})).status).toBe(200)
    expect((await introspect(server, other.access)).json).toEqual({active: false})
    const unknownHint = await revoke({token: 'whatever', token_type_hint: 'bogus'})
    expect(unknownHint.status).toBe(200)
  })

  it("checklist 51: another client's token is never revoked; bad credentials → 401; missing token → 400 invalid_request", async () => {
    const tokens = await codeTokens()
    const foreign = await revoke({token: tokens.refresh}, basic('other', 'other-secret'))
    expect([foreign.status, foreign.text]).toEqual([200, ''])
    const foreignAccess = await revoke({token: tokens.access}, basic('other', 'other-secret'))
    expect(foreignAccess.status).toBe(200)
    expect(
      server.rows(
        'SELECT id FROM oauth_refresh_tokens WHERE family_id = ? AND revoked_at IS NOT NULL',
        tokens.familyId,
      ),
    ).toEqual([])
    expect(
      server.rows('SELECT id FROM oauth_access_tokens WHERE family_id = ? AND revoked_at IS NOT NULL', tokens.familyId),
    ).toEqual([])
    expect((await introspect(server, tokens.access)).json.active).toBe(true)
    const badSecret = await revoke({token: tokens.refresh}, basic('web', 'wrong'))
    expect([badSecret.status, badSecret.json.error]).toEqual([401, 'invalid_client'])
    expect(badSecret.headers.get('www-authenticate')).toBe('Basic realm="passport"')
    const noAuth = await revoke({token: tokens.refresh}, null)
    expect([noAuth.status, noAuth.json.error]).toEqual([401, 'invalid_client'])
    const missing = await revoke({})
    expect([missing.status, missing.json.error]).toEqual([400, 'invalid_request'])
    expect((await introspect(server, tokens.refresh)).json.active).toBe(true)
  })

  it('public clients revoke their own tokens with client_id only', async () => {
    const {code} = issueCode(server, {clientId: 'spa'})
    const reply = await post(server.token, {
      grant_type: 'authorization_code',
      code,
      client_id: 'spa',
      redirect_uri: 'http://localhost:3000/callback',
      code_verifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-extra-chars',
    })
    expect(reply.json.error_description ?? '').toBe('')
    expect(reply.status).toBe(200)
    expect((await revoke({token: reply.json.refresh_token as string, client_id: 'spa'}, null)).status).toBe(200)
    expect(
      server.row(
        'SELECT revoked_at IS NOT NULL AS revoked FROM oauth_access_tokens WHERE id = ?',
        decodeJwt(reply.json.access_token as string).jti,
      ),
    ).toEqual({revoked: 1})
  })
})

describe('introspection (RFC 7662)', () => {
  it('checklist 53: no client authentication → 401 and no token data; public clients → 401', async () => {
    const tokens = await codeTokens()
    const none = await post(`${server.url}/oauth/introspect`, {token: tokens.access})
    expect([none.status, none.json.error]).toEqual([401, 'invalid_client'])
    expect(none.json.active).toBeUndefined()
    expect(none.text).not.toContain('alice')
    const wrong = await introspect(server, tokens.access, basic('web', 'wrong'))
    expect([wrong.status, wrong.json.error]).toEqual([401, 'invalid_client'])
    const publicClient = await post(`${server.url}/oauth/introspect`, {token: tokens.access, client_id: 'spa'})
    expect([publicClient.status, publicClient.json.error]).toEqual([401, 'invalid_client'])
    const missing = await introspect(server, '')
    expect([missing.status, missing.json.error]).toEqual([400, 'invalid_request'])
  })

  it('checklist 54: active → {active, scope, client_id, sub, exp, iat, iss, token_type}, no-store', async () => {
    const tokens = await codeTokens()
    const reply = await introspect(server, tokens.access)
    expect(reply.status).toBe(200)
    expectNoStore(reply)
    const claims = decodeJwt(tokens.access)
    expect(reply.json).toMatchObject({
      active: true,
      scope: 'read',
      client_id: 'web',
      sub: 'alice',
      username: 'alice',
      exp: claims.exp,
      iat: claims.iat,
      iss: server.issuer,
      token_type: 'Bearer',
    })
    const refresh = await introspect(server, tokens.refresh)
    expect(refresh.json).toMatchObject({
      active: true,
      scope: 'read',
      client_id: 'web',
      sub: 'alice',
      iss: server.issuer,
      token_type: 'refresh_token',
    })
    expect(typeof refresh.json.exp).toBe('number')
  })

  it('checklist 55: expired, revoked, unknown or another client\'s → exactly {"active": false}', async () => {
    const mine = await codeTokens()
    const theirs = await post(
      server.token,
      {grant_type: 'client_credentials', scope: 'read'},
      {auth: basic('svc', 'svc-secret')},
    )
    const expired = await codeTokens()
    server.exec('UPDATE oauth_access_tokens SET expires_at = ? WHERE family_id = ?', Date.now() - 1, expired.familyId)
    server.exec('UPDATE oauth_refresh_tokens SET expires_at = ? WHERE family_id = ?', Date.now() - 1, expired.familyId)
    const revoked = await codeTokens()
    await revoke({token: revoked.refresh})
    for (const token of [
      theirs.json.access_token as string,
      expired.access,
      expired.refresh,
      revoked.access,
      revoked.refresh,
      'unknown',
      'a.b.c',
    ]) {
      const reply = await introspect(server, token)
      expect(reply.status).toBe(200)
      expect(reply.text).toBe('{"active":false}')
      expectNoStore(reply)
    }
    // Another client does not see mine either.
    expect((await introspect(server, mine.access, basic('other', 'other-secret'))).text).toBe('{"active":false}')
    expect((await introspect(server, mine.refresh, basic('other', 'other-secret'))).text).toBe('{"active":false}')
  })

  it('checklist 52: a storage failure on revocation → 503, never 200', async () => {
    // A separate server whose database refuses the revocation's update.
    const broken = await startTestServer()
    try {
      const {code} = issueCode(broken)
      const tokens = await redeem(broken, code)
      expect(tokens.status).toBe(200)
      broken.exec(
        "CREATE TRIGGER fail_revoke BEFORE UPDATE ON oauth_refresh_tokens BEGIN SELECT RAISE(ABORT, 'disk on fire'); END",
      )
      const reply = await post(
        `${broken.url}/oauth/revoke`,
        {token: tokens.json.refresh_token as string},
        {auth: basic('web', WEB_SECRET)},
      )
      expect(reply.status).toBe(503)
      expect(reply.json.error).toBe('temporarily_unavailable')
      expect(reply.text).not.toContain('disk on fire')
    } finally {
      await broken.close()
    }
  })
})
