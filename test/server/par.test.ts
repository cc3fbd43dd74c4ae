import Database from 'better-sqlite3'
import {calculateJwkThumbprint, decodeJwt, exportJWK, generateKeyPair} from 'jose'
import * as oauth from 'oauth4webapi'
import * as client from 'openid-client'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startServer} from '../../src/api.js'
import {basic, challengeOf, sha256Hex} from '../fixtures/oauth.js'
import {serveJson} from '../fixtures/serve.js'
import {startFileServer} from '../fixtures/server.js'

/**
 * Pushed authorization requests (RFC 9126, SPEC §10.9): oauth4webapi and openid-client v6 push,
 * then authorize with the request_uri against a headless server (--login-as alice
 * --auto-approve); every refusal at /par and at /authorize, single use under a race, the
 * per-client cap, and --require-par / requirePar.
 */

const REDIRECT = 'http://localhost:3000/callback'
const URN = 'urn:ietf:params:oauth:request_uri:'
const insecure = {[oauth.allowInsecureRequests]: true} as const

/** A key pair for the private_key_jwt client (RFC 7523), made before the server starts. */
const SIGNER = await generateKeyPair('ES256', {extractable: true})
const SIGNER_JWK = {...(await exportJWK(SIGNER.publicKey)), kid: 'signer-1', alg: 'ES256', use: 'sig'}

const CONFIG = {
  scopes: {read: 'Read', write: 'Write'},
  users: {alice: {name: 'Alice Example'}},
  resources: {'http://localhost:4000/mcp': {name: 'MCP server'}, 'http://localhost:5000/api': {name: 'API'}},
  clients: [
    {id: 'web', name: 'Web app', secret: 'web-secret-123', redirectUris: [REDIRECT], scopes: ['read', 'openid']},
    {id: 'spa', name: 'Single-page app', redirectUris: [REDIRECT]},
    {id: 'other', name: 'Other app', secret: 'other-secret-123', redirectUris: [REDIRECT]},
    {id: 'strict', name: 'PAR only', secret: 'strict-secret-123', redirectUris: [REDIRECT], requirePar: true},
    {id: 'keyed', name: 'Signed assertions', jwks: {keys: [SIGNER_JWK]}, redirectUris: [REDIRECT]},
  ],
}

interface Running {
  url: string
  issuer: string
  db: Database.Database
  clock: {advance(duration: string): number; set(date: number): number}
  close(): Promise<void>
}

async function start(options: {requirePar?: boolean; autoApprove?: boolean} = {}): Promise<Running> {
  const server = await startFileServer(
    {
      config: CONFIG,
      loginAs: 'alice',
      autoApprove: options.autoApprove ?? true,
      ...(options.requirePar ? {requirePar: true} : {}),
    },
    'passport-par-',
  )
  const db = new Database(server.dbPath)
  return {
    url: server.handle.url(),
    issuer: server.handle.issuer,
    db,
    clock: server.handle.clock,
    async close() {
      db.close()
      await server.close()
    },
  }
}

const VERIFIER = 'a'.repeat(43)
const CHALLENGE = challengeOf(VERIFIER)

function codeRequest(extra: Record<string, string> = {}): Record<string, string> {
  return {
    response_type: 'code',
    redirect_uri: REDIRECT,
    code_challenge: CHALLENGE,
    code_challenge_method: 'S256',
    scope: 'read',
    state: 'st-1',
    ...extra,
  }
}

async function push(
  server: Running,
  body: Record<string, string>,
  auth: string | undefined = basic('web', 'web-secret-123'),
) {
  const response = await fetch(`${server.url}/oauth/par`, {
    method: 'POST',
    headers: {'content-type': 'application/x-www-form-urlencoded', ...(auth ? {authorization: auth} : {})},
    body: new URLSearchParams(body).toString(),
  })
  return {
    status: response.status,
    headers: response.headers,
    json: (await response.json()) as Record<string, string | number>,
  }
}

async function authorize(server: Running, query: Record<string, string>) {
  const response = await fetch(`${server.url}/oauth/authorize?${new URLSearchParams(query).toString()}`, {
    redirect: 'manual',
    headers: {accept: 'application/json'},
  })
  const location = response.headers.get('location')
  const text = await response.text()
  return {
    status: response.status,
    location: location === null ? undefined : new URL(location),
    json: text ? (JSON.parse(text) as Record<string, string>) : {},
  }
}

const rows = (server: Running, clientId: string) =>
  server.db.prepare('SELECT * FROM oauth_pushed_requests WHERE client_id = ? ORDER BY id').all(clientId) as Array<{
    id: string
    request_uri_hash: string
    parameters: string
    used_at: number | null
    expires_at: number
  }>
const stored = (server: Running) =>
  (server.db.prepare('SELECT COUNT(*) AS n FROM oauth_pushed_requests').get() as {n: number}).n
const codes = (server: Running) =>
  (server.db.prepare('SELECT COUNT(*) AS n FROM oauth_auth_codes').get() as {n: number}).n

let server: Running
beforeAll(async () => {
  server = await start()
})
afterAll(() => server.close())

describe('PAR with real clients (headless: --login-as alice --auto-approve)', () => {
  it('discovery names the endpoint in both documents; require_pushed_authorization_requests only when required', async () => {
    for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
      const meta = (await (await fetch(`${server.url}${path}`)).json()) as Record<string, unknown>
      expect(meta.pushed_authorization_request_endpoint).toBe(`${server.issuer}/oauth/par`)
      expect(meta).not.toHaveProperty('require_pushed_authorization_requests')
    }
  })

  it('oauth4webapi: pushedAuthorizationRequest (client_secret_basic), authorize with request_uri, code grant', async () => {
    const issuer = new URL(server.issuer)
    const as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, {algorithm: 'oauth2', ...insecure}),
    )
    const state = oauth.generateRandomState()
    const {pushed, answer, tokens} = await pushAuthorizeRedeem(
      as,
      {client_id: 'web'},
      oauth.ClientSecretBasic('web-secret-123'),
      state,
    )
    expect(pushed.expires_in).toBe(60)
    expect(pushed.request_uri).toMatch(/^urn:ietf:params:oauth:request_uri:[A-Za-z0-9_-]{43}$/)
    expect(answer.status).toBe(302)
    expect(tokens).toMatchObject({token_type: 'bearer', scope: 'read'})
  })

  it('checklist 83: oauth4webapi with private_key_jwt (RFC 7523): the PAR endpoint authenticates it as the token endpoint does', async () => {
    const issuer = new URL(server.issuer)
    const as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, {algorithm: 'oauth2', ...insecure}),
    )
    const keyed: oauth.Client = {client_id: 'keyed'}
    const {tokens} = await pushAuthorizeRedeem(
      as,
      keyed,
      oauth.PrivateKeyJwt({key: SIGNER.privateKey, kid: 'signer-1'}),
    )
    expect(tokens.scope).toBe('read')
    // The assertion is never stored with the pushed request.
    const stored = server.db
      .prepare("SELECT parameters FROM oauth_pushed_requests WHERE client_id = 'keyed'")
      .all() as Array<{parameters: string}>
    expect(stored.map((r) => r.parameters).join()).not.toContain('client_assertion')

    // An assertion signed by another key is invalid_client, as at the token endpoint.
    const stranger = await generateKeyPair('ES256')
    const refused = await oauth.pushedAuthorizationRequest(
      as,
      keyed,
      oauth.PrivateKeyJwt({key: stranger.privateKey, kid: 'signer-1'}),
      new URLSearchParams({
        redirect_uri: REDIRECT,
        scope: 'read',
        response_type: 'code',
        code_challenge: await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()),
        code_challenge_method: 'S256',
      }),
      insecure,
    )
    expect(refused.status).toBe(401)
    expect(((await refused.json()) as {error: string}).error).toBe('invalid_client')
  })

  it('checklist 84: DPoP (RFC 9449 section 10.1): a proof on the push binds the code to its key; a dpop_jkt for another key is refused', async () => {
    const issuer = new URL(server.issuer)
    const as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, {algorithm: 'oauth2', ...insecure}),
    )
    const spa: oauth.Client = {client_id: 'spa'}
    const pair = await generateKeyPair('ES256', {extractable: true})
    const jkt = await calculateJwkThumbprint(await exportJWK(pair.publicKey))
    const verifier = oauth.generateRandomCodeVerifier()
    const params = new URLSearchParams({
      redirect_uri: REDIRECT,
      scope: 'read',
      response_type: 'code',
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    })
    const pushed = await oauth.processPushedAuthorizationResponse(
      as,
      spa,
      await oauth.pushedAuthorizationRequest(as, spa, oauth.None(), params, {DPoP: oauth.DPoP(spa, pair), ...insecure}),
    )
    const stored = server.db
      .prepare("SELECT parameters FROM oauth_pushed_requests WHERE client_id = 'spa' ORDER BY id DESC LIMIT 1")
      .get() as {parameters: string}
    expect(JSON.parse(stored.parameters)).toContainEqual(['dpop_jkt', jkt])
    const answer = await fetch(
      `${as.authorization_endpoint}?client_id=spa&request_uri=${encodeURIComponent(pushed.request_uri)}`,
      {redirect: 'manual'},
    )
    const callback = oauth.validateAuthResponse(as, spa, new URL(answer.headers.get('location')!), oauth.expectNoState)
    // Without the key the code is refused; with it the tokens are bound to it.
    const bare = await oauth.authorizationCodeGrantRequest(
      as,
      spa,
      oauth.None(),
      callback,
      REDIRECT,
      verifier,
      insecure,
    )
    expect([bare.status, ((await bare.json()) as {error: string}).error]).toEqual([400, 'invalid_grant'])

    const pushedAgain = await oauth.processPushedAuthorizationResponse(
      as,
      spa,
      await oauth.pushedAuthorizationRequest(as, spa, oauth.None(), params, {DPoP: oauth.DPoP(spa, pair), ...insecure}),
    )
    const again = await fetch(
      `${as.authorization_endpoint}?client_id=spa&request_uri=${encodeURIComponent(pushedAgain.request_uri)}`,
      {redirect: 'manual'},
    )
    const code = oauth.validateAuthResponse(as, spa, new URL(again.headers.get('location')!), oauth.expectNoState)
    const tokens = await oauth.processAuthorizationCodeResponse(
      as,
      spa,
      await oauth.authorizationCodeGrantRequest(as, spa, oauth.None(), code, REDIRECT, verifier, {
        DPoP: oauth.DPoP(spa, pair),
        ...insecure,
      }),
    )
    expect(tokens.token_type).toBe('dpop')
    expect(decodeJwt(tokens.access_token).cnf).toEqual({jkt})

    const other = await generateKeyPair('ES256', {extractable: true})
    const otherJkt = await calculateJwkThumbprint(await exportJWK(other.publicKey))
    const before = (server.db.prepare('SELECT COUNT(*) AS n FROM oauth_pushed_requests').get() as {n: number}).n
    const mismatch = await oauth.pushedAuthorizationRequest(
      as,
      spa,
      oauth.None(),
      new URLSearchParams([...params, ['dpop_jkt', otherJkt]]),
      {DPoP: oauth.DPoP(spa, pair), ...insecure},
    )
    expect(mismatch.status).toBe(400)
    expect(await mismatch.json()).toMatchObject({
      error: 'invalid_request',
      error_description: expect.stringMatching(/dpop_jkt .* is not the thumbprint of the DPoP proof's key/) as string,
    })
    expect((server.db.prepare('SELECT COUNT(*) AS n FROM oauth_pushed_requests').get() as {n: number}).n).toBe(before)
  })

  it('openid-client v6: buildAuthorizationUrlWithPAR (public client, none), then the code grant with PKCE and nonce', async () => {
    const config = await client.discovery(new URL(server.issuer), 'spa', undefined, client.None(), {
      execute: [client.allowInsecureRequests],
    })
    const verifier = client.randomPKCECodeVerifier()
    const state = client.randomState()
    const nonce = client.randomNonce()
    const url = await client.buildAuthorizationUrlWithPAR(config, {
      redirect_uri: REDIRECT,
      scope: 'openid read',
      state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    })
    expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri'])
    const answer = await fetch(url, {redirect: 'manual'})
    expect(answer.status).toBe(302)
    const tokens = await client.authorizationCodeGrant(config, new URL(answer.headers.get('location')!), {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    })
    expect(tokens.claims()).toMatchObject({sub: 'alice', aud: 'spa', nonce})
    expect(tokens.scope).toBe('openid read')
  })
})

describe('POST /par: the answer and every refusal', () => {
  it('checklist 85: 201 {request_uri, expires_in: 60}, Cache-Control: no-store; only the SHA-256 of the request_uri and no credential is stored', async () => {
    const reply = await fetch(`${server.url}/oauth/par`, {
      method: 'POST',
      headers: {'content-type': 'application/x-www-form-urlencoded'},
      body: new URLSearchParams({
        client_id: 'other',
        client_secret: 'other-secret-123',
        ...codeRequest({state: 'kept'}),
      }).toString(),
    })
    expect(reply.status).toBe(201)
    expect(reply.headers.get('cache-control')).toBe('no-store')
    const body = (await reply.json()) as {request_uri: string; expires_in: number}
    expect(Object.keys(body).sort()).toEqual(['expires_in', 'request_uri'])
    expect(body.expires_in).toBe(60)
    const [row] = rows(server, 'other')
    expect(row!.request_uri_hash).toBe(sha256Hex(body.request_uri))
    expect(row!.parameters).not.toContain('other-secret-123')
    expect(row!.parameters).not.toContain(body.request_uri.slice(URN.length))
    expect(JSON.parse(row!.parameters)).toContainEqual(['state', 'kept'])
    expect(row!.expires_at - (row as unknown as {created_at: number}).created_at).toBe(60_000)
  })

  it('checklist 83: client authentication as at the token endpoint: none, a wrong secret, a confidential client without one → 401 invalid_client', async () => {
    const before = stored(server)
    for (const [auth, body] of [
      [undefined, codeRequest()],
      [basic('web', 'wrong-secret'), codeRequest()],
      [undefined, {client_id: 'web', ...codeRequest()}],
      [basic('nobody', 'x'), codeRequest()],
    ] as const) {
      const reply = await push(server, body, auth ?? '')
      expect([reply.status, reply.json.error], JSON.stringify(body)).toEqual([401, 'invalid_client'])
      expect(reply.headers.get('www-authenticate')).toMatch(/^Basic realm=/)
      expect(reply.headers.get('cache-control')).toBe('no-store')
    }
    expect(stored(server)).toBe(before)
  })

  const refusals: Array<[string, Record<string, string>, string, RegExp, string?]> = [
    [
      'a request_uri in the body (RFC 9126 §2.1)',
      codeRequest({request_uri: `${URN}abc`}),
      'invalid_request',
      /request_uri must not be sent to the pushed authorization request endpoint \(RFC 9126 section 2\.1\)/,
    ],
    [
      'a request object',
      codeRequest({request: 'eyJhbGciOiJub25lIn0.e30.'}),
      'request_not_supported',
      /Request objects/,
    ],
    [
      'an unregistered redirect_uri',
      codeRequest({redirect_uri: 'http://localhost:3000/callback/'}),
      'invalid_request',
      /redirect_uri http:\/\/localhost:3000\/callback\/ is not registered for client web/,
    ],
    ['a repeated parameter', {...codeRequest(), 'scope&scope': ''}, 'invalid_request', /'scope' parameter is repeated/],
    [
      'response_type missing',
      codeRequest({response_type: ''}),
      'invalid_request',
      /'response_type' parameter is missing/,
    ],
    [
      'response_type token',
      codeRequest({response_type: 'token'}),
      'unsupported_response_type',
      /'token' is not supported; only 'code'/,
    ],
    [
      'code_challenge_method plain',
      codeRequest({code_challenge_method: 'plain'}),
      'invalid_request',
      /'plain' is not supported; use S256/,
    ],
    ['a short code_challenge', codeRequest({code_challenge: 'abc'}), 'invalid_request', /43 to 128 characters/],
    ['a scope the client may not have', codeRequest({scope: 'write'}), 'invalid_scope', /write/],
    ['an unknown scope', codeRequest({scope: 'nope'}), 'invalid_scope', /nope/],
    ['a bad prompt', codeRequest({prompt: 'sometimes'}), 'invalid_request', /prompt 'sometimes' is not one of/],
    [
      'an unregistered resource (RFC 8707)',
      codeRequest({resource: 'http://localhost:9/other'}),
      'invalid_target',
      /resource http:\/\/localhost:9\/other is not registered/,
    ],
    [
      'a body client_id that is not the Basic one',
      codeRequest({client_id: 'other'}),
      'invalid_request',
      /client_id in the body differs/,
    ],
  ]
  for (const [what, body, error, description] of refusals) {
    it(`checklist 84: ${what} → 400 ${error}, nothing stored`, async () => {
      const before = stored(server)
      let reply
      if ('scope&scope' in body) {
        const {'scope&scope': _, ...rest} = body
        const form = new URLSearchParams(rest)
        form.append('scope', 'read')
        const response = await fetch(`${server.url}/oauth/par`, {
          method: 'POST',
          headers: {'content-type': 'application/x-www-form-urlencoded', authorization: basic('web', 'web-secret-123')},
          body: form.toString(),
        })
        reply = {status: response.status, json: (await response.json()) as Record<string, string>}
      } else {
        reply = await push(server, body)
      }
      expect([reply.status, reply.json.error]).toEqual([400, error])
      expect(String(reply.json.error_description)).toMatch(description)
      expect(stored(server)).toBe(before)
    })
  }

  it('CORS (SPEC §10.5): a preflight is 204 allowing Authorization, Content-Type and DPoP; answers and errors carry Access-Control-Allow-Origin: *', async () => {
    const preflight = await fetch(`${server.url}/oauth/par`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://localhost:5173',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, dpop',
      },
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*')
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST')
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/Authorization.*Content-Type.*DPoP/)
    const ok = await push(server, codeRequest())
    expect([ok.status, ok.headers.get('access-control-allow-origin')]).toEqual([201, '*'])
    expect(ok.headers.get('access-control-allow-credentials')).toBeNull()
    const refused = await push(server, codeRequest(), basic('web', 'wrong-secret'))
    expect([refused.status, refused.headers.get('access-control-allow-origin')]).toEqual([401, '*'])
    expect(refused.headers.get('access-control-expose-headers')).toContain('WWW-Authenticate')
  })

  it('checklist 84: a public client without PKCE → invalid_request; GET /par → 405', async () => {
    const reply = await push(server, {client_id: 'spa', response_type: 'code', redirect_uri: REDIRECT}, '')
    expect([reply.status, reply.json.error]).toEqual([400, 'invalid_request'])
    expect(reply.json.error_description).toMatch(/public and must use PKCE/)
    const get = await fetch(`${server.url}/oauth/par`)
    expect(get.status).toBe(405)
    expect(get.headers.get('allow')).toBe('POST')
  })
})

describe('GET /authorize with a request_uri', () => {
  it('checklist 87: every other parameter on /authorize is ignored (RFC 9126 §4): the pushed ones count', async () => {
    const pushed = await push(server, codeRequest({state: 'pushed-state'}))
    const reply = await authorize(server, {
      client_id: 'web',
      request_uri: String(pushed.json.request_uri),
      state: 'evil',
      redirect_uri: 'http://evil.test/cb',
      scope: 'openid',
      response_type: 'token',
    })
    expect(reply.status).toBe(302)
    expect(reply.location!.origin + reply.location!.pathname).toBe(REDIRECT)
    expect(reply.location!.searchParams.get('state')).toBe('pushed-state')
    expect(reply.location!.searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const code = server.db.prepare('SELECT scopes FROM oauth_auth_codes ORDER BY id DESC LIMIT 1').get() as {
      scopes: string
    }
    expect(JSON.parse(code.scopes)).toEqual(['read'])
  })

  it('checklist 84: repeated resources (RFC 8707) are pushed and reach the code and the token as aud', async () => {
    const form = new URLSearchParams(codeRequest())
    form.append('resource', 'http://localhost:4000/mcp')
    form.append('resource', 'http://localhost:5000/api')
    const response = await fetch(`${server.url}/oauth/par`, {
      method: 'POST',
      headers: {'content-type': 'application/x-www-form-urlencoded', authorization: basic('web', 'web-secret-123')},
      body: form.toString(),
    })
    expect(response.status).toBe(201)
    const {request_uri: uri} = (await response.json()) as {request_uri: string}
    const reply = await authorize(server, {client_id: 'web', request_uri: uri})
    const code = reply.location!.searchParams.get('code')!
    const token = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      headers: {'content-type': 'application/x-www-form-urlencoded', authorization: basic('web', 'web-secret-123')},
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT,
        code_verifier: VERIFIER,
      }).toString(),
    })
    const {access_token: accessToken} = (await token.json()) as {access_token: string}
    expect(JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()).aud).toEqual([
      'http://localhost:4000/mcp',
      'http://localhost:5000/api',
    ])
  })

  it('checklist 86: single use: the second use → 400 invalid_request_uri "already used", no second code', async () => {
    const pushed = await push(server, codeRequest())
    const first = await authorize(server, {client_id: 'web', request_uri: String(pushed.json.request_uri)})
    expect(first.status).toBe(302)
    const before = codes(server)
    const second = await authorize(server, {client_id: 'web', request_uri: String(pushed.json.request_uri)})
    expect([second.status, second.json.error]).toEqual([400, 'invalid_request_uri'])
    expect(second.json.error_description).toMatch(/already used/)
    expect(codes(server)).toBe(before)
  })

  it('checklist 86: 50 parallel uses of one request_uri → exactly one code, 49 invalid_request_uri', async () => {
    const pushed = await push(server, codeRequest())
    const before = codes(server)
    const replies = await Promise.all(
      Array.from({length: 50}, () =>
        authorize(server, {client_id: 'web', request_uri: String(pushed.json.request_uri)}),
      ),
    )
    expect(replies.filter((r) => r.status === 302 && r.location?.searchParams.has('code'))).toHaveLength(1)
    expect(replies.filter((r) => r.status === 400 && r.json.error === 'invalid_request_uri')).toHaveLength(49)
    expect(codes(server)).toBe(before + 1)
  })

  it('checklist 87: refused as a page (never a redirect): another client, unknown, expired, not ours, no client_id, repeated', async () => {
    const pushed = String((await push(server, codeRequest())).json.request_uri)
    const cases: Array<[Record<string, string>, string, RegExp]> = [
      [{client_id: 'other', request_uri: pushed}, 'invalid_request_uri', /pushed by another client, not by other/],
      [{client_id: 'web', request_uri: `${URN}never-issued`}, 'invalid_request_uri', /unknown/],
      [
        {client_id: 'web', request_uri: 'https://client.example/request.jwt'},
        'invalid_request_uri',
        /not issued by this server/,
      ],
      [{request_uri: pushed}, 'invalid_request', /request_uri but no client_id/],
    ]
    for (const [query, error, description] of cases) {
      const reply = await authorize(server, query)
      expect([reply.status, reply.json.error], JSON.stringify(query)).toEqual([400, error])
      expect(reply.json.error_description).toMatch(description)
      expect(reply.location).toBeUndefined()
    }
    const repeated = await fetch(
      `${server.url}/oauth/authorize?client_id=web&request_uri=${encodeURIComponent(pushed)}&request_uri=${encodeURIComponent(pushed)}`,
      {redirect: 'manual', headers: {accept: 'application/json'}},
    )
    expect(repeated.status).toBe(400)
    expect(await repeated.json()).toMatchObject({
      error: 'invalid_request',
      error_description: expect.stringMatching(/request_uri parameter is repeated/) as string,
    })
    // None of these used it: the right client still can.
    expect((await authorize(server, {client_id: 'web', request_uri: pushed})).status).toBe(302)
  })

  it('checklist 87: good for 60 s on the server clock: used at 59 s, expired at 60 s → invalid_request_uri "expired"', async () => {
    const early = String((await push(server, codeRequest())).json.request_uri)
    const late = String((await push(server, codeRequest())).json.request_uri)
    try {
      server.clock.advance('59s')
      expect((await authorize(server, {client_id: 'web', request_uri: early})).status).toBe(302)
      server.clock.advance('1s')
      const reply = await authorize(server, {client_id: 'web', request_uri: late})
      expect([reply.status, reply.json.error]).toEqual([400, 'invalid_request_uri'])
      expect(reply.json.error_description).toMatch(/expired \(a pushed request is good for 60 seconds\)/)
    } finally {
      server.clock.set(Date.now())
    }
  })

  it('checklist 88: bounded: a client keeps at most 100 live pushed requests (its oldest go first); expired ones are swept on every push', async () => {
    const first = String((await push(server, codeRequest(), basic('other', 'other-secret-123'))).json.request_uri)
    for (let i = 0; i < 100; i++)
      expect((await push(server, codeRequest(), basic('other', 'other-secret-123'))).status).toBe(201)
    expect(rows(server, 'other')).toHaveLength(100)
    const gone = await authorize(server, {client_id: 'other', request_uri: first})
    expect(gone.json.error_description).toMatch(/unknown/)

    server.db.prepare("UPDATE oauth_pushed_requests SET expires_at = ? WHERE client_id = 'other'").run(Date.now() - 1)
    expect((await push(server, codeRequest())).status).toBe(201)
    expect(rows(server, 'other')).toHaveLength(0)
  })
})

describe("--require-par and a client's requirePar", () => {
  it('checklist 89: requirePar (config): a plain request is redirected back with invalid_request; a pushed one succeeds', async () => {
    const plain = await authorize(server, {client_id: 'strict', ...codeRequest()})
    expect(plain.status).toBe(302)
    expect(plain.location!.searchParams.get('error')).toBe('invalid_request')
    expect(plain.location!.searchParams.get('error_description')).toMatch(
      /Client strict requires pushed authorization requests/,
    )
    expect(plain.location!.searchParams.get('state')).toBe('st-1')
    const pushed = await push(server, codeRequest(), basic('strict', 'strict-secret-123'))
    const ok = await authorize(server, {client_id: 'strict', request_uri: String(pushed.json.request_uri)})
    expect(ok.location!.searchParams.has('code')).toBe(true)
    // Other clients are not affected.
    expect((await authorize(server, {client_id: 'web', ...codeRequest()})).location!.searchParams.has('code')).toBe(
      true,
    )
  })

  it('a requirePar that is not a boolean is a configuration error naming the key', async () => {
    await expect(
      startServer({config: {...CONFIG, clients: [{id: 'x', name: 'X', requirePar: 'yes'}]}}),
    ).rejects.toThrow(/clients\[0\]\.requirePar.*true or false/)
  })

  it('checklist 89: server-wide (with a consent page): discovery says so, plain requests refused, a pushed one is used by its consent page', async () => {
    const strict = await start({requirePar: true, autoApprove: false})
    try {
      const meta = (await (await fetch(`${strict.url}/.well-known/oauth-authorization-server`)).json()) as Record<
        string,
        unknown
      >
      expect(meta.require_pushed_authorization_requests).toBe(true)
      const plain = await authorize(strict, {client_id: 'web', ...codeRequest()})
      expect(plain.location!.searchParams.get('error_description')).toMatch(
        /This server requires pushed authorization requests \(serve --require-par\)/,
      )

      const uri = String((await push(strict, codeRequest())).json.request_uri)
      const consent = await fetch(
        `${strict.url}/oauth/authorize?client_id=web&request_uri=${encodeURIComponent(uri)}`,
        {headers: {accept: 'application/json'}},
      )
      expect(consent.status).toBe(200)
      const page = (await consent.json()) as {request_id: string; csrf_token: string; state: string}
      expect(page.state).toBe('st-1')
      // The consent page used the request_uri: a second tab cannot reuse it.
      expect((await authorize(strict, {client_id: 'web', request_uri: uri})).json.error).toBe('invalid_request_uri')
      const decided = await fetch(`${strict.url}/oauth/authorize`, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          'content-type': 'application/json',
          cookie: consent.headers.get('set-cookie')!.split(';')[0]!,
          'x-csrf-token': page.csrf_token,
        },
        body: JSON.stringify({request_id: page.request_id, approved: true}),
      })
      expect(decided.status).toBe(303)
      expect(new URL(decided.headers.get('location')!).searchParams.has('code')).toBe(true)
    } finally {
      await strict.close()
    }
  })

  it('--except par drops the route and the metadata; --require-par with --except par is refused', async () => {
    const without = await startServer({except: ['par']})
    try {
      const meta = (await (await fetch(`${without.url()}/.well-known/openid-configuration`)).json()) as Record<
        string,
        unknown
      >
      expect(meta).not.toHaveProperty('pushed_authorization_request_endpoint')
      expect((await fetch(`${without.url()}/oauth/par`, {method: 'POST'})).status).toBe(404)
    } finally {
      await without.close()
    }
    await expect(startServer({except: ['par'], requirePar: true})).rejects.toThrow(
      /--require-par needs the par route group/,
    )
  })

  it('the built CLI: serve --require-par --login-as alice --auto-approve, headless with oauth4webapi', async () => {
    const served = await serveJson(['--require-par', '--login-as', 'alice', '--auto-approve'], {
      config: {clients: [CONFIG.clients[0]], scopes: CONFIG.scopes},
    })
    try {
      const issuer = new URL(served.line.issuer)
      const as = await oauth.processDiscoveryResponse(
        issuer,
        await oauth.discoveryRequest(issuer, {algorithm: 'oidc', ...insecure}),
      )
      expect(as.require_pushed_authorization_requests).toBe(true)
      const {tokens} = await pushAuthorizeRedeem(as, {client_id: 'web'}, oauth.ClientSecretPost('web-secret-123'))
      expect(tokens.scope).toBe('read')
    } finally {
      await served.stop()
    }
  })
})

/**
 * oauth4webapi's whole PAR flow for `client` authenticating with `auth`: push the authorization
 * request, send the browser to /authorize with only client_id and request_uri (headless: the
 * server answers with the redirect), check the callback and redeem the code.
 */
async function pushAuthorizeRedeem(
  as: oauth.AuthorizationServer,
  client: oauth.Client,
  auth: oauth.ClientAuth,
  state?: string,
): Promise<{
  pushed: oauth.PushedAuthorizationResponse
  answer: Response
  tokens: oauth.TokenEndpointResponse
}> {
  const verifier = oauth.generateRandomCodeVerifier()
  const params = new URLSearchParams({
    redirect_uri: REDIRECT,
    scope: 'read',
    response_type: 'code',
    ...(state === undefined ? {} : {state}),
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  })
  const pushed = await oauth.processPushedAuthorizationResponse(
    as,
    client,
    await oauth.pushedAuthorizationRequest(as, client, auth, params, insecure),
  )
  const url = new URL(as.authorization_endpoint!)
  url.searchParams.set('client_id', client.client_id)
  url.searchParams.set('request_uri', pushed.request_uri)
  const answer = await fetch(url, {redirect: 'manual'})
  const callback = oauth.validateAuthResponse(
    as,
    client,
    new URL(answer.headers.get('location')!),
    state ?? oauth.expectNoState,
  )
  const tokens = await oauth.processAuthorizationCodeResponse(
    as,
    client,
    await oauth.authorizationCodeGrantRequest(as, client, auth, callback, REDIRECT, verifier, insecure),
  )
  return {pushed, answer, tokens}
}
