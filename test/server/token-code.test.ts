import {decodeJwt, decodeProtectedHeader} from 'jose'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {
  REDIRECT,
  VERIFIER,
  WEB_SECRET,
  basic,
  expectNoStore,
  introspect,
  issueCode,
  post,
  read,
  redeem,
  startTestServer,
  type TestServer,
} from './harness.js'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server.close())

const codeRow = (id: string) =>
  server.row<{redeemed_at: number | null; revoked_at: number | null}>(
    'SELECT redeemed_at, revoked_at FROM oauth_auth_codes WHERE id = ?',
    id,
  )!
const familyAccess = (familyId: string) =>
  server.rows<{id: string; revoked_at: number | null}>(
    'SELECT id, revoked_at FROM oauth_access_tokens WHERE family_id = ?',
    familyId,
  )
const familyRefresh = (familyId: string) =>
  server.rows<{id: string; revoked_at: number | null}>(
    'SELECT id, revoked_at FROM oauth_refresh_tokens WHERE family_id = ?',
    familyId,
  )

describe('/token authorization_code', () => {
  it('checklist 20: success → 200 JSON, no-store, Bearer, expires_in, tokens recorded under the code family', async () => {
    const {code, id} = issueCode(server, {scopes: ['read', 'write']})
    const reply = await redeem(server, code)
    expect(reply.status).toBe(200)
    expect(reply.headers.get('content-type')).toMatch(/^application\/json/)
    expectNoStore(reply)
    expect(reply.json).toMatchObject({token_type: 'Bearer', scope: 'read write'})
    expect(reply.json.expires_in).toBe(15 * 86400)
    expect(typeof reply.json.refresh_token).toBe('string')
    expect(reply.json.id_token).toBeUndefined()
    const access = reply.json.access_token as string
    expect(decodeProtectedHeader(access)).toMatchObject({alg: 'RS256', typ: 'at+jwt'})
    const claims = decodeJwt(access)
    expect(claims).toMatchObject({
      iss: server.issuer,
      sub: 'alice',
      aud: 'web',
      client_id: 'web',
      scope: 'read write',
      scopes: ['read', 'write'],
    })
    expect(codeRow(id).redeemed_at).not.toBeNull()
    expect(familyAccess(id)).toEqual([{id: claims.jti, revoked_at: null}])
    expect(familyRefresh(id)).toHaveLength(1)
  })

  it("checklist 20: JSON bodies (the seed's examples) and client_secret_post work too", async () => {
    const {code} = issueCode(server)
    const reply = await post(
      server.token,
      {
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT,
        code_verifier: VERIFIER,
        client_id: 'web',
        client_secret: WEB_SECRET,
      },
      {json: true},
    )
    expect(reply.status).toBe(200)
    expectNoStore(reply)
  })

  it('refresh tokens only for clients with the refresh_token grant', async () => {
    const {code} = issueCode(server, {clientId: 'norefresh'})
    const reply = await redeem(server, code, {}, basic('norefresh', 'norefresh-secret'))
    expect(reply.status).toBe(200)
    expect(reply.json.refresh_token).toBeUndefined()
  })

  it('checklist 21: GET /token → 405; a body that is neither form nor JSON → 400 invalid_request', async () => {
    const get = await fetch(server.token)
    expect(get.status).toBe(405)
    expect(get.headers.get('allow')).toBe('POST')
    const text = await read(
      await fetch(server.token, {
        method: 'POST',
        headers: {'content-type': 'text/plain'},
        body: 'grant_type=client_credentials',
      }),
    )
    expect(text.status).toBe(400)
    expect(text.json.error).toBe('invalid_request')
    const badJson = await post(server.token, {}, {headers: {'content-type': 'application/json'}, json: false})
    expect(badJson.status).toBe(400)
    const broken = await read(
      await fetch(server.token, {
        method: 'POST',
        headers: {'content-type': 'application/json'},
        body: '{"grant_type":',
      }),
    )
    expect(broken.status).toBe(400)
    expect(broken.json.error).toBe('invalid_request')
  })

  it('checklist 22: grant_type missing → invalid_request; unknown → unsupported_grant_type; not allowed → unauthorized_client', async () => {
    const auth = basic('web', WEB_SECRET)
    const missing = await post(server.token, {code: 'x'}, {auth})
    expect([missing.status, missing.json.error]).toEqual([400, 'invalid_request'])
    expectNoStore(missing)
    const unknown = await post(server.token, {grant_type: 'password', username: 'a', password: 'b'}, {auth})
    expect([unknown.status, unknown.json.error]).toEqual([400, 'unsupported_grant_type'])
    const notAllowed = await post(server.token, {grant_type: 'client_credentials'}, {auth})
    expect([notAllowed.status, notAllowed.json.error]).toEqual([400, 'unauthorized_client'])
    expect(notAllowed.json.error_description).toMatch(/client_credentials/)
    const repeated = await read(
      await fetch(server.token, {
        method: 'POST',
        headers: {'content-type': 'application/x-www-form-urlencoded', authorization: auth},
        body: 'grant_type=authorization_code&grant_type=client_credentials',
      }),
    )
    expect([repeated.status, repeated.json.error]).toEqual([400, 'invalid_request'])
  })

  it("checklist 23: a reused code → invalid_grant and the first redemption's tokens are revoked", async () => {
    const {code, id} = issueCode(server)
    const first = await redeem(server, code)
    expect(first.status).toBe(200)
    expect((await introspect(server, first.json.access_token as string)).json.active).toBe(true)
    const second = await redeem(server, code)
    expect([second.status, second.json.error]).toEqual([400, 'invalid_grant'])
    expect(second.json.error_description).toMatch(/already used/)
    expectNoStore(second)
    expect(familyAccess(id).every((t) => t.revoked_at !== null)).toBe(true)
    expect(familyRefresh(id).every((t) => t.revoked_at !== null)).toBe(true)
    expect(codeRow(id).revoked_at).not.toBeNull()
    expect(await introspect(server, first.json.access_token as string)).toMatchObject({
      status: 200,
      json: {active: false},
    })
    const refresh = await post(
      server.token,
      {grant_type: 'refresh_token', refresh_token: first.json.refresh_token as string},
      {auth: basic('web', WEB_SECRET)},
    )
    expect(refresh.json.error).toBe('invalid_grant')
  })

  it('checklist 24: a replay with a wrong verifier or wrong client credentials is rejected and revokes nothing', async () => {
    const {code, id} = issueCode(server)
    const first = await redeem(server, code)
    expect(first.status).toBe(200)
    const wrongVerifier = await redeem(server, code, {code_verifier: 'A'.repeat(43)})
    expect([wrongVerifier.status, wrongVerifier.json.error]).toEqual([400, 'invalid_grant'])
    const wrongSecret = await redeem(server, code, {}, basic('web', 'not-the-secret'))
    expect([wrongSecret.status, wrongSecret.json.error]).toEqual([401, 'invalid_client'])
    const otherClient = await redeem(server, code, {}, basic('other', 'other-secret'))
    expect([otherClient.status, otherClient.json.error]).toEqual([400, 'invalid_grant'])
    const noVerifier = await redeem(server, code, {code_verifier: ''})
    expect(noVerifier.json.error).toBe('invalid_grant')
    expect(familyAccess(id).every((t) => t.revoked_at === null)).toBe(true)
    expect(familyRefresh(id).every((t) => t.revoked_at === null)).toBe(true)
    expect(codeRow(id).revoked_at).toBeNull()
    expect((await introspect(server, first.json.access_token as string)).json.active).toBe(true)
  })

  it('checklist 25: 50 parallel redemptions of one code → exactly one 200 and 49 invalid_grant', async () => {
    const {code, id} = issueCode(server)
    const replies = await Promise.all(Array.from({length: 50}, () => redeem(server, code)))
    const ok = replies.filter((r) => r.status === 200)
    expect(ok).toHaveLength(1)
    expect(replies.filter((r) => r.status === 400 && r.json.error === 'invalid_grant')).toHaveLength(49)
    // Exactly one token pair was ever issued for the code.
    expect(familyAccess(id)).toHaveLength(1)
    expect(familyRefresh(id)).toHaveLength(1)
  })

  it('checklist 26: an expired code → invalid_grant, nothing issued', async () => {
    const {code, id} = issueCode(server, {ttl: 60_000, now: Date.now() - 120_000})
    const reply = await redeem(server, code)
    expect([reply.status, reply.json.error]).toEqual([400, 'invalid_grant'])
    expect(reply.json.error_description).toMatch(/expired/)
    expect(codeRow(id).redeemed_at).toBeNull()
    expect(familyAccess(id)).toHaveLength(0)
  })

  it("checklist 27: client A's code redeemed by client B → invalid_grant; A can still redeem it", async () => {
    const {code, id} = issueCode(server)
    const stolen = await redeem(server, code, {}, basic('other', 'other-secret'))
    expect([stolen.status, stolen.json.error]).toEqual([400, 'invalid_grant'])
    expect(stolen.json.error_description).toMatch(/another client/)
    expect(codeRow(id).redeemed_at).toBeNull()
    expect((await redeem(server, code)).status).toBe(200)
  })

  it('checklist 28: verifier missing or wrong → invalid_grant; malformed → invalid_request; verifier without challenge → invalid_grant', async () => {
    const {code, id} = issueCode(server)
    const missing = await post(
      server.token,
      {grant_type: 'authorization_code', code, redirect_uri: REDIRECT},
      {auth: basic('web', WEB_SECRET)},
    )
    expect([missing.status, missing.json.error]).toEqual([400, 'invalid_grant'])
    const wrong = await redeem(server, code, {code_verifier: 'B'.repeat(43)})
    expect(wrong.json.error).toBe('invalid_grant')
    for (const bad of ['short', 'C'.repeat(42), 'C'.repeat(129), `${'C'.repeat(43)}!`, `${'C'.repeat(43)}%20`]) {
      const malformed = await redeem(server, code, {code_verifier: bad})
      expect([malformed.status, malformed.json.error]).toEqual([400, 'invalid_request'])
    }
    expect(codeRow(id).redeemed_at).toBeNull()
    const plain = issueCode(server, {challenge: null})
    const downgrade = await redeem(server, plain.code)
    expect([downgrade.status, downgrade.json.error]).toEqual([400, 'invalid_grant'])
    expect(downgrade.json.error_description).toMatch(/no code_challenge/)
    expect(codeRow(plain.id).redeemed_at).toBeNull()
    const withoutVerifier = await post(
      server.token,
      {grant_type: 'authorization_code', code: plain.code, redirect_uri: REDIRECT},
      {auth: basic('web', WEB_SECRET)},
    )
    expect(withoutVerifier.status).toBe(200)
  })

  it("checklist 29: redirect_uri differing from the authorization request's → invalid_grant", async () => {
    const {code, id} = issueCode(server)
    for (const uri of [`${REDIRECT}/`, REDIRECT.toUpperCase(), `${REDIRECT}?x=1`, 'http://localhost:3000/other']) {
      const reply = await redeem(server, code, {redirect_uri: uri})
      expect([reply.status, reply.json.error]).toEqual([400, 'invalid_grant'])
    }
    const omitted = await post(
      server.token,
      {grant_type: 'authorization_code', code, code_verifier: VERIFIER},
      {auth: basic('web', WEB_SECRET)},
    )
    expect(omitted.json.error).toBe('invalid_grant')
    expect(codeRow(id).redeemed_at).toBeNull()
    // A code issued without redirect_uri: omitting it is fine with exactly one registered URI …
    const single = issueCode(server, {redirectUri: null})
    expect(
      (
        await post(
          server.token,
          {grant_type: 'authorization_code', code: single.code, code_verifier: VERIFIER},
          {auth: basic('web', WEB_SECRET)},
        )
      ).status,
    ).toBe(200)
    // … and sending another one is not.
    const multi = issueCode(server, {clientId: 'multi', redirectUri: null})
    const mismatch = await redeem(
      server,
      multi.code,
      {redirect_uri: 'http://localhost:3000/other'},
      basic('multi', 'multi-secret'),
    )
    expect(mismatch.json.error).toBe('invalid_grant')
  })

  it('checklist 30: error codes use the RFC character set; descriptions have no CR, LF, TAB, quote or non-ASCII', async () => {
    const replies = [
      await post(server.token, {grant_type: 'x"\r\n\tüber'}, {auth: basic('web', WEB_SECRET)}),
      await redeem(server, 'nope'),
      await redeem(server, issueCode(server).code, {code_verifier: 'bad'}),
      await post(server.token, {grant_type: 'authorization_code'}, {auth: basic('web', 'wrong')}),
    ]
    for (const reply of replies) {
      expect(reply.json.error).toMatch(/^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/)
      expect(reply.json.error_description).toMatch(/^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/)
    }
  })

  it('OpenID Connect: openid adds an id token (RS256, typ JWT, aud, nonce, at_hash, claims by scope) that is refused as a bearer', async () => {
    const {code} = issueCode(server, {scopes: ['openid', 'profile', 'email'], nonce: 'n-0S6_WzA2Mj'})
    const reply = await redeem(server, code)
    expect(reply.status).toBe(200)
    const idToken = reply.json.id_token as string
    expect(decodeProtectedHeader(idToken)).toMatchObject({alg: 'RS256', typ: 'JWT'})
    expect(decodeProtectedHeader(idToken).kid).toBe(decodeProtectedHeader(reply.json.access_token as string).kid)
    const claims = decodeJwt(idToken)
    expect(claims).toMatchObject({
      iss: server.issuer,
      sub: 'alice',
      aud: 'web',
      nonce: 'n-0S6_WzA2Mj',
      name: 'Alice Example',
      given_name: 'Alice',
      email: 'alice@example.test',
      email_verified: true,
      role: 'admin',
    })
    expect(typeof claims.at_hash).toBe('string')
    expect(typeof claims.auth_time).toBe('number')
    expect(claims.exp! - claims.iat!).toBe(3600)
    const asBearer = await fetch(`${server.url}/oauth/userinfo`, {headers: {authorization: `Bearer ${idToken}`}})
    expect(asBearer.status).toBe(401)
    expect(asBearer.headers.get('www-authenticate')).toMatch(/error="invalid_token"/)
    // Without profile/email, no such claims.
    const narrow = await redeem(server, issueCode(server, {scopes: ['openid']}).code)
    const narrowClaims = decodeJwt(narrow.json.id_token as string)
    expect(narrowClaims.name).toBeUndefined()
    expect(narrowClaims.email).toBeUndefined()
    expect(narrowClaims.nonce).toBeUndefined()
  })
})
