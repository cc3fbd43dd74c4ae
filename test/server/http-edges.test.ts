import {request} from 'node:http'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startServer} from '../../src/api.js'

/** Issue 18 findings 12, 13 (server parts) and the walkthrough's server items. */
const REDIRECT = 'http://localhost:3000/callback'
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'
const log: string[] = []
const logWaiters: Array<() => void> = []
/** Resolves once the access log holds `count` lines (each line is written when its response finishes). */
async function logLines(count: number): Promise<void> {
  while (log.length < count) await new Promise<void>((resolve) => logWaiters.push(resolve))
}
let base: string
let port: number
let close: () => Promise<void>

beforeAll(async () => {
  const running = await startServer({
    config: {
      scopes: {read: 'Read'},
      clients: [
        {
          id: 'web',
          name: 'Web app',
          secret: 'web-secret-123',
          redirectUris: [REDIRECT],
          scopes: ['read'],
          grants: ['authorization_code', 'client_credentials'],
        },
      ],
    },
    log: (line) => {
      log.push(line)
      for (const wake of logWaiters.splice(0)) wake()
    },
  })
  base = running.url()
  port = running.port
  close = () => running.close()
})

afterAll(async () => {
  await close?.()
})

/** A raw request through node:http (fetch forbids HEAD bodies checks and huge headers). */
function raw(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{status: number; headers: Record<string, string | string[] | undefined>; body: string}> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, {method, headers}, (res) => {
      let text = ''
      res.setEncoding('utf8').on('data', (d: string) => (text += d))
      res.on('end', () => resolve({status: res.statusCode!, headers: res.headers, body: text}))
    })
    req.on('error', reject)
    req.end(body)
  })
}

describe('HEAD and oversized headers (issue 18 finding 12)', () => {
  it('checklist 134: HEAD on a GET route answers as GET without a body; on a POST-only route 405 with Allow and no body; over 16 KiB of headers a 431 that has no body for HEAD and a JSON error for GET', async () => {
    const get = await raw('GET', '/.well-known/openid-configuration')
    const head = await raw('HEAD', '/.well-known/openid-configuration')
    expect(head.status).toBe(200)
    expect(head.body).toBe('')
    expect(head.headers['content-type']).toBe(get.headers['content-type'])
    expect(head.headers['content-length']).toBe(get.headers['content-length'])
    expect((await raw('HEAD', '/healthz')).status).toBe(200)

    const notAllowed = await raw('HEAD', '/oauth/token')
    expect([notAllowed.status, notAllowed.headers.allow, notAllowed.body]).toEqual([405, 'POST', ''])
    const getAllowed = await raw('DELETE', '/healthz')
    expect(getAllowed.headers.allow).toBe('GET, HEAD')

    const big = {'x-padding': 'a'.repeat(20 * 1024)}
    const headTooLarge = await raw('HEAD', '/healthz', big)
    expect([headTooLarge.status, headTooLarge.body]).toEqual([431, ''])
    const getTooLarge = await raw('GET', '/healthz', big)
    expect(getTooLarge.status).toBe(431)
    expect(JSON.parse(getTooLarge.body)).toEqual({
      error: 'invalid_request',
      error_description: 'The request line or headers are too large.',
    })
    // The same keep-alive client still works afterwards.
    expect((await raw('HEAD', '/healthz')).status).toBe(200)
  })
})

describe('smaller server items (issue 18 finding 13)', () => {
  it('checklist 135: a JSON body with a repeated key is invalid_request naming the key', async () => {
    const answer = await raw(
      'POST',
      '/oauth/token',
      {'content-type': 'application/json'},
      '{"grant_type":"client_credentials","client_id":"web","client_secret":"web-secret-123","scope":"read","scope":"admin"}',
    )
    expect(answer.status).toBe(400)
    expect(JSON.parse(answer.body)).toEqual({
      error: 'invalid_request',
      error_description: "The 'scope' parameter is repeated in the JSON body; send it once.",
    })
    // Keys inside nested values or strings do not count.
    const nested = await raw(
      'POST',
      '/oauth/token',
      {'content-type': 'application/json'},
      '{"grant_type":"client_credentials","x":{"a":1,"a":2},"y":"\\"scope\\":","client_id":"web","client_secret":"web-secret-123","scope":"read"}',
    )
    expect(nested.status, nested.body).toBe(200)
  })

  it('checklist 136: an authorization request with a request object is refused with request_not_supported, not silently ignored', async () => {
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: 'web',
      redirect_uri: REDIRECT,
      scope: 'read',
      state: 's1',
      code_challenge: CHALLENGE,
      code_challenge_method: 'S256',
      request: 'eyJhbGciOiJub25lIn0.eyJzY29wZSI6ImFkbWluIn0.',
    })
    const answer = await raw('GET', `/oauth/authorize?${query.toString()}`)
    expect(answer.status).toBe(302)
    const location = new URL(String(answer.headers.location))
    expect(location.searchParams.get('error')).toBe('request_not_supported')
    expect(location.searchParams.get('state')).toBe('s1')
  })

  it('checklist 137: the session cookie is named after the port (passport_session_PORT), so servers on other localhost ports do not overwrite it', async () => {
    const answer = await raw(
      'GET',
      `/oauth/authorize?${new URLSearchParams({response_type: 'code', client_id: 'web', redirect_uri: REDIRECT, scope: 'read', code_challenge: CHALLENGE, code_challenge_method: 'S256'}).toString()}`,
      {accept: 'text/html'},
    )
    expect(answer.status).toBe(200)
    expect(String(answer.headers['set-cookie'])).toMatch(
      new RegExp(`^passport_session_${port}=[\\w-]{43}; Path=/; HttpOnly; SameSite=Lax`),
    )
  })
})

describe('the walkthrough, server side (issue 18 finding 14)', () => {
  it('a wrong URL in a browser shows the HTML error page; API clients keep the JSON error', async () => {
    const page = await raw('GET', '/oauth/nothing-here', {accept: 'text/html,application/xhtml+xml'})
    expect(page.status).toBe(404)
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(page.body).toContain('<h1>Page not found</h1>')
    expect(page.body).toContain('There is no page at /oauth/nothing-here on this server.')
    const api = await raw('GET', '/oauth/nothing-here', {accept: 'application/json'})
    expect(JSON.parse(api.body)).toEqual({error: 'not_found', error_description: 'No route /oauth/nothing-here.'})
  })

  it('the dashboard suggests a command that exists (passport token), not token:issue', async () => {
    // A server of its own: the hint shows while no token has been issued.
    const fresh = await startServer()
    try {
      const page = await (await fetch(fresh.url('/'), {headers: {accept: 'text/html'}})).text()
      expect(page).not.toContain('token:issue')
      expect(page).toContain('<code>passport token --user alice</code>')
    } finally {
      await fresh.close()
    }
  })

  it('access-log lines end with the OAuth error code (JSON errors, error pages, error redirects), never its description', async () => {
    log.length = 0
    await raw(
      'POST',
      '/oauth/token',
      {'content-type': 'application/x-www-form-urlencoded'},
      'grant_type=client_credentials&client_id=web&client_secret=wrong-secret',
    )
    await raw('POST', '/oauth/token', {'content-type': 'application/x-www-form-urlencoded'}, 'grant_type=nope')
    await raw(
      'GET',
      `/oauth/authorize?${new URLSearchParams({response_type: 'code', client_id: 'web', redirect_uri: REDIRECT, scope: 'admin', code_challenge: CHALLENGE, code_challenge_method: 'S256'}).toString()}`,
    )
    await raw('GET', '/oauth/authorize?client_id=unknown', {accept: 'text/html'})
    await raw('GET', '/healthz')
    await logLines(5)
    expect(log.map((line) => line.replace(/ \d+\.\d+ms/, ''))).toEqual([
      'POST /oauth/token 401 invalid_client',
      'POST /oauth/token 400 unsupported_grant_type',
      'GET /oauth/authorize 302 invalid_scope',
      'GET /oauth/authorize 400 invalid_client',
      'GET /healthz 200',
    ])
    expect(log.join('\n')).not.toContain('wrong-secret')
  })
})
