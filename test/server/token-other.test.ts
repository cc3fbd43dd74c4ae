import {request} from 'node:http'

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

const cc = (form: Record<string, string>, auth = basic('svc', 'svc-secret')) =>
  post(server.token, {grant_type: 'client_credentials', ...form}, {auth})
const refresh = (token: string, extra: Record<string, string> = {}, auth = basic('web', WEB_SECRET)) =>
  post(server.token, {grant_type: 'refresh_token', refresh_token: token, ...extra}, {auth})

async function codeTokens(scopes = ['read', 'write']): Promise<{access: string; refresh: string; familyId: string}> {
  const {code, id} = issueCode(server, {scopes})
  const reply = await redeem(server, code)
  expect(reply.status).toBe(200)
  return {access: reply.json.access_token as string, refresh: reply.json.refresh_token as string, familyId: id}
}

describe('/token client_credentials', () => {
  it('checklist 31: confidential client → 200 with no refresh_token; sub = client id; row has no user', async () => {
    const reply = await cc({scope: 'read'})
    expect(reply.status).toBe(200)
    expectNoStore(reply)
    expect(reply.json).toMatchObject({token_type: 'Bearer', scope: 'read', expires_in: 15 * 86400})
    expect(reply.json.refresh_token).toBeUndefined()
    expect(reply.json.id_token).toBeUndefined()
    const claims = decodeJwt(reply.json.access_token as string)
    expect(claims).toMatchObject({sub: 'svc', client_id: 'svc', aud: 'svc'})
    expect(
      server.row('SELECT user_id, grant_type, family_id FROM oauth_access_tokens WHERE id = ?', claims.jti),
    ).toEqual({user_id: null, grant_type: 'client_credentials', family_id: null})
    expect(
      server.row<{n: number}>('SELECT COUNT(*) AS n FROM oauth_refresh_tokens WHERE client_id = ?', 'svc')!.n,
    ).toBe(0)
  })

  it('checklist 31: a public client → unauthorized_client (no grant) or invalid_client (secret presented)', async () => {
    const publicClient = await post(server.token, {grant_type: 'client_credentials', client_id: 'spa'})
    expect([publicClient.status, publicClient.json.error]).toEqual([400, 'unauthorized_client'])
    const withSecret = await post(server.token, {
      grant_type: 'client_credentials',
      client_id: 'spa',
      client_secret: 'anything',
    })
    expect([withSecret.status, withSecret.json.error]).toEqual([401, 'invalid_client'])
  })

  it('no scope requested → a token with no scopes (nothing is granted implicitly)', async () => {
    const reply = await cc({})
    expect(reply.status).toBe(200)
    expect(reply.json.scope).toBe('')
    expect(decodeJwt(reply.json.access_token as string).scopes).toEqual([])
  })

  it("checklist 32: a scope beyond the client's allowed scopes, unknown scopes and openid → invalid_scope", async () => {
    for (const scope of ['write', 'read write', 'nonsense', 'openid']) {
      const reply = await cc({scope})
      expect([reply.status, reply.json.error]).toEqual([400, 'invalid_scope'])
      expectNoStore(reply)
    }
    expect(
      server.row<{n: number}>(
        "SELECT COUNT(*) AS n FROM oauth_access_tokens WHERE client_id = 'svc' AND scopes LIKE '%write%'",
      )!.n,
    ).toBe(0)
  })

  it('checklist 33: a client-credentials token whose sub equals a user id is never read as that user', async () => {
    const reply = await cc({scope: 'read'}, basic('alice', 'alice-secret'))
    expect(reply.status).toBe(200)
    const token = reply.json.access_token as string
    expect(decodeJwt(token).sub).toBe('alice')
    const userinfo = await fetch(`${server.url}/oauth/userinfo`, {headers: {authorization: `Bearer ${token}`}})
    expect(userinfo.status).toBe(403)
    expect(userinfo.headers.get('www-authenticate')).toMatch(/error="insufficient_scope"/)
    const body = (await userinfo.json()) as Record<string, unknown>
    expect(body.name).toBeUndefined()
    expect(body.email).toBeUndefined()
    // Introspection does not present it as a user's token either.
    const active = await introspect(server, token, basic('alice', 'alice-secret'))
    expect(active.json).toMatchObject({active: true, sub: 'alice', client_id: 'alice'})
    expect(active.json.username).toBeUndefined()
  })
})

describe('/token refresh_token', () => {
  it('checklist 34: refresh → new pair, no-store; the old refresh token then gets invalid_grant', async () => {
    const first = await codeTokens()
    const reply = await refresh(first.refresh)
    expect(reply.status).toBe(200)
    expectNoStore(reply)
    expect(reply.json.refresh_token).not.toBe(first.refresh)
    expect(reply.json.access_token).not.toBe(first.access)
    expect(reply.json.scope).toBe('read write')
    // Same family; old pair revoked, old refresh token marked rotated.
    const newJti = decodeJwt(reply.json.access_token as string).jti
    expect(server.row('SELECT family_id FROM oauth_access_tokens WHERE id = ?', newJti)).toEqual({
      family_id: first.familyId,
    })
    expect(
      server.row(
        'SELECT revoked_at IS NOT NULL AS revoked FROM oauth_access_tokens WHERE id = ?',
        decodeJwt(first.access).jti,
      ),
    ).toEqual({revoked: 1})
    expect(
      server.rows(
        'SELECT rotated_at IS NOT NULL AS rotated, revoked_at IS NOT NULL AS revoked FROM oauth_refresh_tokens WHERE family_id = ? ORDER BY id',
        first.familyId,
      ),
    ).toEqual([
      {rotated: 1, revoked: 1},
      {rotated: 0, revoked: 0},
    ])
    expect((await introspect(server, first.access)).json).toEqual({active: false})
  })

  it('checklist 35: replaying a rotated refresh token → invalid_grant and the whole family becomes inactive', async () => {
    const first = await codeTokens()
    const second = await refresh(first.refresh)
    expect(second.status).toBe(200)
    const replay = await refresh(first.refresh)
    expect([replay.status, replay.json.error]).toEqual([400, 'invalid_grant'])
    expect(replay.json.error_description).toMatch(/already used/)
    expect(
      server.rows(
        'SELECT revoked_at FROM oauth_refresh_tokens WHERE family_id = ? AND revoked_at IS NULL',
        first.familyId,
      ),
    ).toEqual([])
    expect(
      server.rows(
        'SELECT revoked_at FROM oauth_access_tokens WHERE family_id = ? AND revoked_at IS NULL',
        first.familyId,
      ),
    ).toEqual([])
    expect((await introspect(server, second.json.access_token as string)).json).toEqual({active: false})
    expect((await introspect(server, second.json.refresh_token as string)).json).toEqual({active: false})
    expect((await refresh(second.json.refresh_token as string)).json.error).toBe('invalid_grant')
  })

  it("checklist 36: client A's refresh token used by client B → invalid_grant (nothing revoked); no authentication → 401 invalid_client", async () => {
    const first = await codeTokens()
    const stolen = await refresh(first.refresh, {}, basic('other', 'other-secret'))
    expect([stolen.status, stolen.json.error]).toEqual([400, 'invalid_grant'])
    const anonymous = await post(server.token, {
      grant_type: 'refresh_token',
      refresh_token: first.refresh,
      client_id: 'web',
    })
    expect([anonymous.status, anonymous.json.error]).toEqual([401, 'invalid_client'])
    expect(anonymous.headers.get('www-authenticate')).toBe('Basic realm="passport"')
    const none = await post(server.token, {grant_type: 'refresh_token', refresh_token: first.refresh})
    expect([none.status, none.json.error]).toEqual([401, 'invalid_client'])
    expect(
      server.rows('SELECT id FROM oauth_refresh_tokens WHERE family_id = ? AND revoked_at IS NOT NULL', first.familyId),
    ).toEqual([])
    expect((await refresh(first.refresh)).status).toBe(200)
  })

  it('checklist 37: wider scope → invalid_scope; narrower → 200 and the rotated refresh token keeps the original scope', async () => {
    const first = await codeTokens(['read', 'write'])
    const wider = await refresh(first.refresh, {scope: 'read write admin'})
    expect([wider.status, wider.json.error]).toEqual([400, 'invalid_scope'])
    const narrower = await refresh(first.refresh, {scope: 'read'})
    expect(narrower.status).toBe(200)
    expect(narrower.json.scope).toBe('read')
    expect(decodeJwt(narrower.json.access_token as string).scopes).toEqual(['read'])
    expect((await introspect(server, narrower.json.refresh_token as string)).json).toMatchObject({
      active: true,
      scope: 'read write',
      token_type: 'refresh_token',
    })
    const again = await refresh(narrower.json.refresh_token as string)
    expect(again.json.scope).toBe('read write')
  })

  it('checklist 38: an expired or a revoked refresh token → invalid_grant', async () => {
    const expired = await codeTokens()
    server.exec(
      'UPDATE oauth_refresh_tokens SET expires_at = ? WHERE family_id = ?',
      Date.now() - 1000,
      expired.familyId,
    )
    const e = await refresh(expired.refresh)
    expect([e.status, e.json.error]).toEqual([400, 'invalid_grant'])
    expect(e.json.error_description).toMatch(/expired/)
    const revoked = await codeTokens()
    expect(
      (await post(`${server.url}/oauth/revoke`, {token: revoked.refresh}, {auth: basic('web', WEB_SECRET)})).status,
    ).toBe(200)
    const r = await refresh(revoked.refresh)
    expect([r.status, r.json.error]).toEqual([400, 'invalid_grant'])
    const unknown = await refresh('not-a-refresh-token')
    expect([unknown.status, unknown.json.error]).toEqual([400, 'invalid_grant'])
  })

  it('checklist 39: 50 parallel refreshes of one token → exactly one 200 and no second live chain', async () => {
    const first = await codeTokens()
    const replies = await Promise.all(Array.from({length: 50}, () => refresh(first.refresh)))
    expect(replies.filter((r) => r.status === 200)).toHaveLength(1)
    expect(replies.filter((r) => r.status === 400 && r.json.error === 'invalid_grant')).toHaveLength(49)
    // One successor only (the original + one), and no refresh token of the family is still live
    // beyond at most that one successor.
    expect(server.rows('SELECT id FROM oauth_refresh_tokens WHERE family_id = ?', first.familyId)).toHaveLength(2)
    expect(
      server.rows('SELECT id FROM oauth_refresh_tokens WHERE family_id = ? AND revoked_at IS NULL', first.familyId)
        .length,
    ).toBeLessThanOrEqual(1)
  })

  it('OpenID Connect: a refresh of an openid grant carries a new id token for the same user', async () => {
    const {code} = issueCode(server, {scopes: ['openid', 'profile'], nonce: 'abc'})
    const first = await redeem(server, code)
    const reply = await refresh(first.json.refresh_token as string)
    expect(reply.status).toBe(200)
    const claims = decodeJwt(reply.json.id_token as string)
    expect(claims).toMatchObject({sub: 'alice', aud: 'web', name: 'Alice Example'})
    expect(claims.auth_time).toBe(decodeJwt(first.json.id_token as string).auth_time)
  })
})

describe('client authentication', () => {
  it('checklist 64: a wrong Basic secret → 401 invalid_client with WWW-Authenticate: Basic realm', async () => {
    const count = () =>
      server.row<{n: number}>("SELECT COUNT(*) AS n FROM oauth_access_tokens WHERE client_id = 'svc'")!.n
    const before = count()
    const reply = await cc({scope: 'read'}, basic('svc', 'wrong-secret'))
    expect([reply.status, reply.json.error]).toEqual([401, 'invalid_client'])
    expect(reply.headers.get('www-authenticate')).toBe('Basic realm="passport"')
    expectNoStore(reply)
    expect(count()).toBe(before)
  })

  it('checklist 65: Basic and body credentials in one request → 400 invalid_request', async () => {
    const reply = await post(
      server.token,
      {grant_type: 'client_credentials', client_id: 'svc', client_secret: 'svc-secret'},
      {auth: basic('svc', 'svc-secret')},
    )
    expect([reply.status, reply.json.error]).toEqual([400, 'invalid_request'])
    const mismatch = await post(
      server.token,
      {grant_type: 'client_credentials', client_id: 'other'},
      {auth: basic('svc', 'svc-secret')},
    )
    expect([mismatch.status, mismatch.json.error]).toEqual([400, 'invalid_request'])
    const same = await post(
      server.token,
      {grant_type: 'client_credentials', client_id: 'svc'},
      {auth: basic('svc', 'svc-secret')},
    )
    expect(same.status).toBe(200)
  })

  it('checklist 66: Basic credentials are form-decoded after base64 (secrets with ":", "%" and "+")', async () => {
    const {code} = issueCode(server)
    expect((await redeem(server, code, {}, basic('web', WEB_SECRET))).status).toBe(200)
    // Sent raw (not form-encoded), the same secret does not decode to itself.
    const raw = `Basic ${Buffer.from(`web:${WEB_SECRET}`).toString('base64')}`
    const rawReply = await redeem(server, issueCode(server).code, {}, raw)
    expect([rawReply.status, rawReply.json.error]).toEqual([401, 'invalid_client'])
    const badEscape = `Basic ${Buffer.from('web:%zz').toString('base64')}`
    expect((await redeem(server, issueCode(server).code, {}, badEscape)).status).toBe(401)
    // client_secret_post takes the secret as is.
    const postReply = await post(server.token, {
      grant_type: 'client_credentials',
      scope: 'read',
      client_id: 'svc',
      client_secret: 'svc-secret',
    })
    expect(postReply.status).toBe(200)
  })

  it('checklist 67: an unknown client and a wrong secret give the same error', async () => {
    const unknown = await cc({scope: 'read'}, basic('no-such-client', 'svc-secret'))
    const wrong = await cc({scope: 'read'}, basic('svc', 'not-it'))
    expect(unknown.status).toBe(401)
    expect(unknown.json).toEqual(wrong.json)
    expect(unknown.headers.get('www-authenticate')).toBe(wrong.headers.get('www-authenticate'))
    const unknownPost = await post(server.token, {
      grant_type: 'client_credentials',
      client_id: 'no-such-client',
      client_secret: 'x',
    })
    const wrongPost = await post(server.token, {grant_type: 'client_credentials', client_id: 'svc', client_secret: 'x'})
    expect(unknownPost.json).toEqual(wrongPost.json)
    expect(unknownPost.status).toBe(401)
  })

  it('a confidential client without credentials, an unknown public client and another Authorization scheme → 401 invalid_client', async () => {
    for (const reply of [
      await post(server.token, {grant_type: 'client_credentials', client_id: 'svc'}),
      await post(server.token, {grant_type: 'authorization_code', client_id: 'nobody', code: 'x'}),
      await post(server.token, {grant_type: 'client_credentials'}, {auth: 'Bearer abc'}),
      await post(server.token, {grant_type: 'client_credentials'}),
    ]) {
      expect([reply.status, reply.json.error]).toEqual([401, 'invalid_client'])
      expect(reply.headers.get('www-authenticate')).toBe('Basic realm="passport"')
    }
  })
})

describe('request targets', () => {
  /** Sends `target` as written (fetch would normalise it) and returns status and JSON body. */
  function rawPost(target: string): Promise<{status: number; json: Record<string, unknown>}> {
    const {hostname, port} = new URL(server.url)
    const body = 'grant_type=client_credentials'
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: hostname,
          port,
          method: 'POST',
          path: target,
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'content-length': Buffer.byteLength(body),
            authorization: basic('svc', 'svc-secret'),
          },
        },
        (res) => {
          let text = ''
          res
            .setEncoding('utf8')
            .on('data', (chunk: string) => (text += chunk))
            .on('end', () => resolve({status: res.statusCode!, json: JSON.parse(text) as Record<string, unknown>}))
        },
      )
      req.on('error', reject)
      req.end(body)
    })
  }

  it('are routed by the path URL parsing gives, whether or not it had to be parsed', async () => {
    for (const target of ['/oauth/token', '/oauth/token?unused=1', '/oauth/./token', '/oauth/x/../token']) {
      const reply = await rawPost(target)
      expect([target, reply.status]).toEqual([target, 200])
    }
    // A leading "//" starts an authority: the path of "//oauth/token" is "/token".
    expect(await rawPost('//oauth/token')).toEqual({
      status: 404,
      json: {error: 'not_found', error_description: 'No route /token.'},
    })
    expect(await rawPost('/oauth//token')).toEqual({
      status: 404,
      json: {error: 'not_found', error_description: 'No route /oauth//token.'},
    })
    expect(await rawPost('/oauth/%74oken')).toEqual({
      status: 404,
      json: {error: 'not_found', error_description: 'No route /oauth/%74oken.'},
    })
    expect(await rawPost('/oauth/token/')).toEqual({
      status: 404,
      json: {error: 'not_found', error_description: 'No route /oauth/token/.'},
    })
  })
})
