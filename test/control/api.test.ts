import {decodeJwt} from 'jose'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {post, read, type Reply} from '../server/harness.js'
import {clientCredentials, openidClientLogin, startHandle, svc, type Handle} from './support.js'

let server: Handle
let token: string
beforeAll(async () => {
  server = await startHandle({control: true})
  token = server.control!.token
})
afterAll(() => server.close())

/** A control call: JSON body, the control token unless told otherwise. */
async function call(
  method: string,
  path: string,
  body?: unknown,
  auth: string | null = `Bearer ${token}`,
): Promise<Reply> {
  const headers: Record<string, string> = {}
  if (auth !== null) headers.authorization = auth
  if (body !== undefined) headers['content-type'] = 'application/json'
  return read(
    await fetch(server.url(`/_passport/${path}`), {
      method,
      headers,
      ...(body === undefined ? {} : {body: typeof body === 'string' ? body : JSON.stringify(body)}),
    }),
  )
}

describe('the control API under /_passport/', () => {
  it('is on with control: true; the handle carries its URL and a random token', () => {
    expect(server.control).toEqual({
      url: `${server.url()}/_passport`,
      token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    })
  })

  it('checklist 93: a missing or wrong token is 401 on every route, and nothing is applied', async () => {
    const before = server.clock.now()
    for (const [method, path, body] of [
      ['POST', 'clock', {advance: '16d'}],
      ['GET', 'clock'],
      ['POST', 'faults', {endpoint: 'token', status: 503}],
      ['DELETE', 'faults'],
      ['PUT', 'users/mallory', {name: 'M'}],
      ['GET', 'requests'],
      ['GET', 'nowhere'],
    ] as const) {
      for (const auth of [null, 'Bearer wrong', `Bearer ${token}x`, `Basic ${token}`, `Bearer ${token.slice(0, -1)}`]) {
        const reply = await call(method, path, body, auth)
        expect([reply.status, reply.json.error], `${method} ${path} ${auth}`).toEqual([401, 'invalid_token'])
        expect(reply.headers.get('www-authenticate')).toBe('Bearer realm="passport-control"')
        expect(reply.text).not.toContain(token)
      }
    }
    expect(server.clock.now() - before).toBeLessThan(60_000)
    expect(server.faults.list()).toEqual([])
    expect((await clientCredentials(server)).status).toBe(200)
  })

  it('POST /clock {"advance"} and {"set"} move the clock and answer {"now"}; GET /clock reads it', async () => {
    const minted = (await clientCredentials(server)).json.access_token as string
    const before = server.clock.now()
    const advanced = await call('POST', 'clock', {advance: '16d'})
    expect(advanced.status).toBe(200)
    expect(Object.keys(advanced.json)).toEqual(['now'])
    expect(Date.parse(advanced.json.now as string) - before).toBeGreaterThanOrEqual(16 * 86_400_000)
    const introspected = await post(server.endpoints.introspection, {token: minted}, {auth: svc})
    expect(introspected.json).toEqual({active: false})

    const set = await call('POST', 'clock', {set: '2027-01-01T00:00:00Z'})
    expect(set.status).toBe(200)
    expect(Math.abs(Date.parse(set.json.now as string) - Date.parse('2027-01-01T00:00:00Z'))).toBeLessThan(60_000)
    const fresh = decodeJwt((await clientCredentials(server)).json.access_token as string)
    expect(Math.abs(fresh.iat! - Date.parse('2027-01-01T00:00:00Z') / 1000)).toBeLessThan(60)
    const read = await call('GET', 'clock')
    expect(Math.abs(Date.parse(read.json.now as string) - server.clock.now())).toBeLessThan(60_000)
    server.clock.set(new Date())
  })

  it('POST /faults arms an HTTP fault or a named protocol fault; GET lists them; DELETE clears them', async () => {
    const armed = await call('POST', 'faults', {
      endpoint: 'token',
      status: 503,
      error: 'temporarily_unavailable',
      times: 1,
    })
    expect([armed.status, armed.json]).toEqual([
      201,
      {fault: {kind: 'http', endpoint: 'token', status: 503, error: 'temporarily_unavailable', remaining: 1}},
    ])
    const failed = await clientCredentials(server)
    expect([failed.status, failed.json.error]).toEqual([503, 'temporarily_unavailable'])
    expect((await clientCredentials(server)).status).toBe(200)

    expect((await call('POST', 'faults', {endpoint: 'token', delayMs: 10, persistent: true})).status).toBe(201)
    expect((await call('POST', 'faults', {endpoint: 'token', drop: true, times: 2})).status).toBe(201)
    expect((await call('POST', 'faults', {fault: 'id-token-wrong-aud', persistent: true})).status).toBe(201)
    expect((await call('POST', 'faults', {fault: 'wrong-iss', endpoint: 'authorize'})).status).toBe(201)
    const listed = await call('GET', 'faults')
    expect(listed.json.faults).toEqual([
      {kind: 'http', endpoint: 'token', delayMs: 10, persistent: true},
      {kind: 'http', endpoint: 'token', drop: true, remaining: 2},
      {kind: 'protocol', name: 'id-token-wrong-aud', endpoint: 'token', persistent: true},
      {kind: 'protocol', name: 'wrong-iss', endpoint: 'authorize', remaining: 1},
    ])
    expect((await call('DELETE', 'faults')).json).toEqual({cleared: 4})
    expect((await call('GET', 'faults')).json).toEqual({faults: []})
    expect((await clientCredentials(server)).status).toBe(200)
  })

  it('PUT /users/{sub} sets a user the next login sees; DELETE removes it; the subject rules apply', async () => {
    const put = await call('PUT', 'users/alice', {
      name: 'Alice Remote',
      email: 'alice@remote.test',
      claims: {role: 'viewer'},
    })
    expect([put.status, put.json]).toEqual([
      200,
      {sub: 'alice', name: 'Alice Remote', email: 'alice@remote.test', claims: {role: 'viewer'}},
    ])
    expect((await openidClientLogin(server)).claims()).toMatchObject({
      sub: 'alice',
      name: 'Alice Remote',
      role: 'viewer',
    })
    const encoded = await call('PUT', `users/${encodeURIComponent('user@example.test')}`, {name: 'Encoded'})
    expect([encoded.status, encoded.json.sub]).toEqual([200, 'user@example.test'])
    expect((await call('DELETE', `users/${encodeURIComponent('user@example.test')}`)).json).toEqual({
      sub: 'user@example.test',
      deleted: true,
    })
    expect((await call('DELETE', 'users/nobody')).status).toBe(404)
    const spaced = await call('PUT', `users/${encodeURIComponent(' alice')}`, {name: 'x'})
    expect([spaced.status, spaced.json.field]).toEqual([400, 'sub'])
  })

  it('GET /requests: the log, newest last, without control calls; DELETE empties it', async () => {
    await clientCredentials(server)
    const log = await call('GET', 'requests')
    const requests = log.json.requests as {path: string; client: string | null; grant: string | null; status: number}[]
    expect(requests.at(-1)).toMatchObject({
      method: 'POST',
      path: '/oauth/token',
      status: 200,
      client: 'svc',
      grant: 'client_credentials',
    })
    expect(requests.some((r) => r.path.startsWith('/_passport/'))).toBe(false)
    expect(log.text).not.toContain('svc-secret')
    expect((await call('DELETE', 'requests')).json).toEqual({cleared: true})
    expect((await call('GET', 'requests')).json).toEqual({requests: []})
  })

  it('unknown routes are 404 and wrong methods 405 with Allow', async () => {
    expect((await call('GET', 'nowhere')).status).toBe(404)
    const wrong = await call('PATCH', 'clock', {advance: '1d'})
    expect([wrong.status, wrong.headers.get('allow')]).toEqual([405, 'GET, POST'])
    expect((await call('GET', 'users/alice')).headers.get('allow')).toBe('PUT, DELETE')
  })

  it('checklist 95: malformed bodies are 400 naming the field, and nothing partial is applied', async () => {
    server.users.set('alice', {name: 'Alice Example'})
    const now = server.clock.now()
    const cases: [string, string, unknown, string, string][] = [
      [
        'POST',
        'clock',
        {advance: '16 days'},
        'advance',
        '"advance" must be milliseconds or a duration like "15m", "1h", "30d"; got "16 days".',
      ],
      [
        'POST',
        'clock',
        {advance: '-1d'},
        'advance',
        '"advance" must be milliseconds or a duration like "15m", "1h", "30d"; got "-1d".',
      ],
      [
        'POST',
        'clock',
        {advance: '16d', set: '2027-01-01T00:00:00Z'},
        'advance',
        'Send exactly one of "advance" (a duration such as "16d") or "set" (an ISO 8601 date-time).',
      ],
      [
        'POST',
        'clock',
        {set: 'next tuesday'},
        'set',
        '"set" must be an ISO 8601 date-time with its zone (e.g. 2027-01-01T00:00:00Z) or Unix seconds; got "next tuesday".',
      ],
      ['POST', 'clock', {speed: 2}, 'speed', '"speed" is not accepted here; send "advance" or "set".'],
      ['POST', 'clock', '{"advance": ', 'body', '"body" is not valid JSON.'],
      ['POST', 'clock', [1], 'body', '"body" must be a JSON object.'],
      ['POST', 'faults', {endpoint: 'tokens', status: 503}, 'endpoint', '"endpoint" must be one of '],
      ['POST', 'faults', {status: 503}, 'endpoint', '"endpoint" is missing; send one of '],
      ['POST', 'faults', {fault: 'wrong-is'}, 'fault', '"fault" must be one of wrong-iss, '],
      [
        'POST',
        'faults',
        {endpoint: 'token', status: 503, times: -1},
        'times',
        '"times" must be a whole number of at least 1; got -1.',
      ],
      [
        'POST',
        'faults',
        {endpoint: 'token', status: 503, times: 0},
        'times',
        '"times" must be a whole number of at least 1; got 0.',
      ],
      [
        'POST',
        'faults',
        {endpoint: 'token', status: 503, times: '2'},
        'times',
        '"times" must be a whole number of at least 1; got "2".',
      ],
      [
        'POST',
        'faults',
        {endpoint: 'token', status: '503'},
        'status',
        '"status" must be an HTTP error status from 400 to 599; got "503".',
      ],
      [
        'POST',
        'faults',
        {endpoint: 'token', delayMs: 1e9},
        'delayMs',
        '"delayMs" must be whole milliseconds from 0 to 60000; got 1000000000.',
      ],
      ['POST', 'faults', {endpoint: 'token', drop: 'yes'}, 'drop', '"drop" must be true or false.'],
      [
        'POST',
        'faults',
        {fault: 'wrong-iss', times: -2},
        'times',
        '"times" must be a whole number of at least 1; got -2.',
      ],
      [
        'PUT',
        'users/alice',
        {name: 'A', claims: {iss: 'x'}},
        'claims.iss',
        '"claims.iss" is not allowed: "iss" is set by passport itself and cannot be configured.',
      ],
      ['PUT', 'users/alice', {name: 'A', email: 7}, 'email', '"email" must be a string.'],
      [
        'PUT',
        'users/alice',
        {name: 'A', nick: 'a'},
        'nick',
        '"nick" is not a user key; use name, email, email_verified, claims.',
      ],
    ]
    for (const [method, path, body, field, description] of cases) {
      const reply = await call(method, path, body)
      expect([reply.status, reply.json.error, reply.json.field], `${method} ${path} ${JSON.stringify(body)}`).toEqual([
        400,
        'invalid_request',
        field,
      ])
      expect(reply.json.error_description as string).toContain(description)
    }
    const plain = await read(
      await fetch(server.url('/_passport/clock'), {
        method: 'POST',
        headers: {authorization: `Bearer ${token}`, 'content-type': 'text/plain'},
        body: 'advance=1d',
      }),
    )
    expect([plain.status, plain.json.field, plain.json.error_description]).toEqual([
      400,
      'body',
      '"body" must be JSON (Content-Type: application/json, not text/plain).',
    ])
    expect(Math.abs(server.clock.now() - now)).toBeLessThan(60_000)
    expect(server.faults.list()).toEqual([])
    expect((await openidClientLogin(server)).claims()).toMatchObject({name: 'Alice Example'})
  })
})

describe('control calls during load', () => {
  it('1,000 token requests with control calls among them: every request and every call succeeds, nothing is lost', async () => {
    const tokens: Promise<Reply>[] = []
    const calls: Promise<Reply>[] = []
    const inFlight = new Set<Promise<Reply>>()
    for (let i = 0; i < 1000; i++) {
      const request = clientCredentials(server)
      tokens.push(request)
      inFlight.add(request)
      void request.finally(() => inFlight.delete(request))
      if (i % 20 === 0) {
        const n = i / 20
        calls.push(call('POST', 'faults', {endpoint: 'introspect', status: 503, error: 'temporarily_unavailable'}))
        calls.push(call('PUT', `users/user-${n}`, {name: `User ${n}`, claims: {n}}))
        calls.push(call('GET', 'requests'))
        calls.push(call('GET', 'clock'))
      }
      if (inFlight.size >= 16) await Promise.race(inFlight)
    }
    const answers = await Promise.all(tokens)
    expect(answers.filter((a) => a.status !== 200).map((a) => a.text)).toEqual([])
    expect(new Set(answers.map((a) => a.json.access_token)).size).toBe(1000)
    const controlAnswers = await Promise.all(calls)
    expect(controlAnswers.filter((a) => a.status !== 200 && a.status !== 201).map((a) => a.text)).toEqual([])

    // 50 one-shot faults armed under load: exactly 50 introspections fail, the 51st is served.
    const faults = (await call('GET', 'faults')).json.faults as unknown[]
    expect(faults).toHaveLength(50)
    const introspections: number[] = []
    for (let i = 0; i < 51; i++)
      introspections.push((await post(server.endpoints.introspection, {token: 'x'}, {auth: svc})).status)
    expect(introspections).toEqual([...Array<number>(50).fill(503), 200])
    // Every user set under load is there: userinfo of a token for each.
    for (let n = 0; n < 50; n++) {
      const minted = await server.mint({user: `user-${n}`, scopes: ['openid', 'profile']})
      const info = await (
        await fetch(server.endpoints.userinfo, {headers: {authorization: `Bearer ${minted.access_token}`}})
      ).json()
      expect(info).toEqual({sub: `user-${n}`, name: `User ${n}`, n})
    }

    const log = ((await call('GET', 'requests')).json.requests as {path: string; status: number}[]).filter(
      (r) => r.path !== '/oauth/userinfo',
    )
    expect(log.length).toBeGreaterThanOrEqual(949)
    expect(log.slice(-51).map((r) => r.status)).toEqual([...Array<number>(50).fill(503), 200])
    expect(log.slice(0, -51).every((r) => r.path === '/oauth/token' && r.status === 200)).toBe(true)
  })
})
