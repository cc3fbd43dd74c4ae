import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {MCP, basic, postForm, read, startMcpServer, type McpServer} from './support.js'

// SPEC §10.5: CORS on the endpoints browser-based clients fetch, errors and preflight included.

let server: McpServer
beforeAll(async () => {
  server = await startMcpServer()
})
afterAll(() => server.close())

const ORIGIN = 'http://localhost:6274'

function expectCors(headers: Headers): void {
  expect(headers.get('access-control-allow-origin')).toBe('*')
  expect(headers.get('access-control-allow-credentials')).toBeNull()
  expect(headers.get('access-control-expose-headers')).toBe('WWW-Authenticate, DPoP-Nonce')
}

function expectNoCors(headers: Headers): void {
  for (const name of [
    'access-control-allow-origin',
    'access-control-allow-credentials',
    'access-control-expose-headers',
    'access-control-allow-methods',
    'access-control-allow-headers',
  ]) {
    expect(headers.get(name), name).toBeNull()
  }
}

const get = async (path: string, headers: Record<string, string> = {}) =>
  read(await fetch(`${server.url}${path}`, {headers: {origin: ORIGIN, ...headers}, redirect: 'manual'}))
const form = (path: string, body: Record<string, string>, headers: Record<string, string> = {}) =>
  postForm(`${server.url}${path}`, body, {origin: ORIGIN, ...headers})

/** Every CORS endpoint with one request that succeeds and one that fails. */
const ENDPOINTS: {
  path: string
  method: 'GET' | 'POST'
  ok: () => Promise<{status: number; headers: Headers}>
  error: () => Promise<{status: number; headers: Headers; json: Record<string, unknown>}>
}[] = [
  {
    path: '/.well-known/oauth-authorization-server',
    method: 'GET',
    ok: () => get('/.well-known/oauth-authorization-server'),
    error: async () => ({
      ...(await read(
        await fetch(`${server.url}/.well-known/oauth-authorization-server`, {
          method: 'POST',
          headers: {origin: ORIGIN},
        }),
      )),
      json: {},
    }),
  },
  {
    path: '/.well-known/openid-configuration',
    method: 'GET',
    ok: () => get('/.well-known/openid-configuration'),
    error: async () =>
      read(await fetch(`${server.url}/.well-known/openid-configuration`, {method: 'POST', headers: {origin: ORIGIN}})),
  },
  {
    path: '/.well-known/jwks.json',
    method: 'GET',
    ok: () => get('/.well-known/jwks.json'),
    error: async () =>
      read(await fetch(`${server.url}/.well-known/jwks.json`, {method: 'DELETE', headers: {origin: ORIGIN}})),
  },
  {
    path: '/oauth/token',
    method: 'POST',
    ok: () => form('/oauth/token', {grant_type: 'client_credentials'}, {authorization: basic('svc', 'svc-secret-123')}),
    error: () => form('/oauth/token', {grant_type: 'client_credentials'}, {authorization: basic('svc', 'wrong')}),
  },
  {
    path: '/oauth/register',
    method: 'POST',
    ok: async () =>
      read(
        await fetch(`${server.url}/oauth/register`, {
          method: 'POST',
          headers: {origin: ORIGIN, 'content-type': 'application/json'},
          body: JSON.stringify({redirect_uris: ['http://localhost:6274/cb'], token_endpoint_auth_method: 'none'}),
        }),
      ),
    error: async () =>
      read(
        await fetch(`${server.url}/oauth/register`, {
          method: 'POST',
          headers: {origin: ORIGIN, 'content-type': 'application/json'},
          body: '{}',
        }),
      ),
  },
  {
    path: '/oauth/revoke',
    method: 'POST',
    ok: () => form('/oauth/revoke', {token: 'unknown'}, {authorization: basic('svc', 'svc-secret-123')}),
    error: () => form('/oauth/revoke', {token: 'x'}),
  },
  {
    path: '/oauth/introspect',
    method: 'POST',
    ok: () => form('/oauth/introspect', {token: 'unknown'}, {authorization: basic('svc', 'svc-secret-123')}),
    error: () => form('/oauth/introspect', {token: 'x'}, {authorization: basic('svc', 'wrong')}),
  },
  {
    path: '/oauth/userinfo',
    method: 'GET',
    ok: async () => {
      const token = await form(
        '/oauth/token',
        {grant_type: 'client_credentials'},
        {authorization: basic('svc', 'svc-secret-123')},
      )
      // A client-credentials token has no user: userinfo refuses it, with CORS; the 200 comes from a user token below.
      return get('/oauth/userinfo', {authorization: `Bearer ${token.json.access_token as string}`})
    },
    error: () => get('/oauth/userinfo'),
  },
  {
    path: '/oauth/device/code',
    method: 'POST',
    ok: () => form('/oauth/device/code', {client_id: 'tv'}),
    error: () => form('/oauth/device/code', {client_id: 'tv', resource: 'http://localhost:9/nope'}),
  },
  {
    path: '/oauth/par',
    method: 'POST',
    ok: () =>
      form(
        '/oauth/par',
        {
          response_type: 'code',
          redirect_uri: 'http://localhost:3000/callback',
          code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
          code_challenge_method: 'S256',
          resource: MCP,
          scope: 'read',
        },
        {authorization: basic('web', 'web-secret-123')},
      ),
    error: () => form('/oauth/par', {response_type: 'code'}, {authorization: basic('web', 'wrong')}),
  },
]

const CASES = ENDPOINTS.map((e) => [e.path, e] as const)

describe('CORS endpoints', () => {
  it.each(CASES)(
    'checklist 124: preflight OPTIONS %s → 204 allowing Authorization, Content-Type, DPoP, MCP-Protocol-Version, never credentials',
    async (_path, endpoint) => {
      const response = await fetch(`${server.url}${endpoint.path}`, {
        method: 'OPTIONS',
        headers: {
          origin: ORIGIN,
          'access-control-request-method': endpoint.method,
          'access-control-request-headers': 'authorization, content-type, dpop, mcp-protocol-version',
        },
      })
      expect(response.status).toBe(204)
      expect(await response.text()).toBe('')
      expect(response.headers.get('access-control-allow-origin')).toBe('*')
      expect(response.headers.get('access-control-allow-credentials')).toBeNull()
      expect(response.headers.get('access-control-allow-methods')!.split(', ')).toContain(endpoint.method)
      expect(response.headers.get('access-control-allow-headers')).toBe(
        'Authorization, Content-Type, DPoP, MCP-Protocol-Version',
      )
    },
  )

  it.each(CASES)(
    'checklist 124: %s answers with Access-Control-Allow-Origin: * on success and on errors, exposing WWW-Authenticate and DPoP-Nonce',
    async (_path, endpoint) => {
      const ok = await endpoint.ok()
      expect(ok.status).toBeLessThan(500)
      expectCors(ok.headers)
      const error = await endpoint.error()
      expect(error.status).toBeGreaterThanOrEqual(400)
      expect(error.status).toBeLessThan(500)
      expectCors(error.headers)
    },
  )

  it('a user token at /userinfo → 200 with CORS; a 401 carries WWW-Authenticate, which CORS exposes', async () => {
    const {authorize, CHALLENGE, VERIFIER, REDIRECT} = await import('./support.js')
    const reply = await authorize(server, {
      response_type: 'code',
      client_id: 'spa',
      redirect_uri: REDIRECT,
      code_challenge: CHALLENGE,
      code_challenge_method: 'S256',
      scope: 'openid',
    })
    const tokens = await form('/oauth/token', {
      grant_type: 'authorization_code',
      client_id: 'spa',
      code: reply.location!.searchParams.get('code')!,
      redirect_uri: REDIRECT,
      code_verifier: VERIFIER,
    })
    const info = await get('/oauth/userinfo', {authorization: `Bearer ${tokens.json.access_token as string}`})
    expect(info.status).toBe(200)
    expectCors(info.headers)
    const denied = await get('/oauth/userinfo')
    expect(denied.status).toBe(401)
    expect(denied.headers.get('www-authenticate')).toMatch(/^Bearer/)
    expectCors(denied.headers)
  })
})

describe('no CORS on /authorize and the pages', () => {
  it('checklist 125: /authorize, the device page, the dashboard and sign-in send no CORS headers, and OPTIONS there is not a preflight', async () => {
    for (const path of ['/oauth/authorize?client_id=spa', '/oauth/device', '/', '/healthz', '/oauth/scopes']) {
      expectNoCors((await get(path)).headers)
    }
    expectNoCors((await form('/oauth/login', {subject: 'alice'})).headers)
    for (const path of ['/oauth/authorize', '/oauth/device', '/']) {
      const response = await fetch(`${server.url}${path}`, {
        method: 'OPTIONS',
        headers: {origin: ORIGIN, 'access-control-request-method': 'GET'},
      })
      expect(response.status).toBe(405)
      expectNoCors(response.headers)
    }
  })
})
