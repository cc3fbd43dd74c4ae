import * as oauth from 'oauth4webapi'
import * as client from 'openid-client'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {
  clientCredentials,
  oauth4webapiLogin,
  oauthServer,
  openidClientLogin,
  rejection,
  relyingParty,
  startHandle,
  type Handle,
} from './support.js'

let server: Handle
beforeAll(async () => {
  server = await startHandle()
})
afterAll(() => server.close())

const token = () => clientCredentials(server)

describe('HTTP faults per endpoint: status + OAuth error, delay, dropped connection', () => {
  it('one-shot by default: the next request answers the injected error, the one after is served', async () => {
    server.faults.inject('token', {
      status: 503,
      error: 'temporarily_unavailable',
      description: 'Try again in a moment.',
    })
    const failed = await token()
    expect([failed.status, failed.json]).toEqual([
      503,
      {error: 'temporarily_unavailable', error_description: 'Try again in a moment.'},
    ])
    expect(failed.headers.get('cache-control')).toBe('no-store')
    expect((await token()).status).toBe(200)
    expect(server.faults.list()).toEqual([])
  })

  it('times: N hits N requests; persistent hits until clear(); the default error follows the status', async () => {
    server.faults.inject('token', {status: 500, times: 2})
    const first = await token()
    expect([first.status, first.json.error, first.json.error_description]).toEqual([
      500,
      'server_error',
      "Injected fault: this POST request was answered 500 by passport's test control.",
    ])
    expect((await token()).status).toBe(500)
    expect((await token()).status).toBe(200)

    server.faults.inject('token', {status: 429, persistent: true})
    for (let i = 0; i < 3; i++) expect([(await token()).status, (await token()).json.error]).toEqual([429, 'slow_down'])
    server.faults.clear()
    expect((await token()).status).toBe(200)
  })

  it('a fault hits only its endpoint: discovery, jwks, introspect', async () => {
    server.faults.inject('discovery', {status: 500, error: 'server_error'})
    server.faults.inject('jwks', {status: 404, error: 'not_found'})
    expect((await fetch(server.url('/.well-known/jwks.json'))).status).toBe(404)
    expect((await token()).status).toBe(200)
    expect((await fetch(server.url('/.well-known/oauth-authorization-server'))).status).toBe(500)
    expect((await fetch(server.url('/.well-known/openid-configuration'))).status).toBe(200)
    expect((await fetch(server.url('/.well-known/jwks.json'))).status).toBe(200)
  })

  it('delayMs alone: the request waits, then is served; with a status it waits, then fails', async () => {
    server.faults.inject('token', {delayMs: 300})
    let started = performance.now()
    expect((await token()).status).toBe(200)
    expect(performance.now() - started).toBeGreaterThanOrEqual(290)
    server.faults.inject('token', {delayMs: 200, status: 503, times: 2})
    for (let i = 0; i < 2; i++) {
      started = performance.now()
      expect((await token()).status).toBe(503)
      expect(performance.now() - started).toBeGreaterThanOrEqual(190)
    }
    expect((await token()).status).toBe(200)
  })

  it('drop: the connection closes with no answer, one-shot and repeated; the log records status 0', async () => {
    server.faults.inject('token', {drop: true})
    await expect(token()).rejects.toThrow('fetch failed')
    expect((await token()).status).toBe(200)
    server.faults.inject('token', {drop: true, times: 2})
    await expect(token()).rejects.toThrow('fetch failed')
    await expect(token()).rejects.toThrow('fetch failed')
    expect((await token()).status).toBe(200)
    const dropped = server.requests.filter((r) => r.status === 0)
    expect(dropped.length).toBeGreaterThanOrEqual(3)
    expect(dropped.at(-1)).toMatchObject({method: 'POST', path: '/oauth/token', status: 0})
  })

  it('malformed faults are refused with the field named, and nothing is armed', () => {
    const refused: [string, Record<string, unknown>, string][] = [
      ['nowhere', {status: 503}, '"endpoint" must be one of '],
      ['token', {status: 200}, '"status" must be an HTTP error status from 400 to 599; got 200.'],
      ['token', {status: 503, times: -1}, '"times" must be a whole number of at least 1; got -1.'],
      ['token', {status: 503, times: 1.5}, '"times" must be a whole number of at least 1; got 1.5.'],
      ['token', {status: 503, times: 2, persistent: true}, '"times" and "persistent" exclude each other'],
      ['token', {drop: true, status: 503}, '"drop" and "status" exclude each other'],
      ['token', {delayMs: -5}, '"delayMs" must be whole milliseconds from 0 to 60000; got -5.'],
      ['token', {delayMs: 60_001}, '"delayMs" must be whole milliseconds from 0 to 60000; got 60001.'],
      ['token', {error: 'x'}, '"error" needs a "status" to answer with.'],
      ['token', {status: 400, error: 'bad"quote'}, '"error" must be a non-empty OAuth error code'],
      ['token', {}, '"status" is missing: a fault needs a "status", a "delayMs" or "drop": true.'],
      ['token', {status: 503, retry: true}, '"retry" is not a fault setting'],
      [
        'token',
        {fault: 'no-such-fault'},
        '"fault" must be one of wrong-iss, id-token-wrong-aud, id-token-wrong-nonce, id-token-expired, unpublished-key, metadata-without-pkce, token-response-without-token-type; got "no-such-fault".',
      ],
      [
        'authorize',
        {fault: 'id-token-expired'},
        '"endpoint" must be token for the id-token-expired fault (or left out); got "authorize".',
      ],
    ]
    for (const [endpoint, spec, message] of refused) {
      expect(() => server.faults.inject(endpoint, spec as never), `${endpoint} ${JSON.stringify(spec)}`).toThrow(
        message,
      )
    }
    expect(() => server.faults.inject('wrong-iss', {times: 0})).toThrow(
      '"times" must be a whole number of at least 1; got 0.',
    )
    expect(server.faults.list()).toEqual([])
  })
})

describe('protocol faults: oauth4webapi and openid-client reject each with the error their docs name', () => {
  /** [fault, oauth4webapi's error code and message]; openid-client throws a ClientError with the same code, the message as cause. */
  const cases: [string, string, string][] = [
    ['wrong-iss', oauth.INVALID_RESPONSE, 'unexpected "iss" (issuer) response parameter value'],
    ['id-token-wrong-aud', oauth.JWT_CLAIM_COMPARISON, 'unexpected JWT "aud" (audience) claim value'],
    ['id-token-wrong-nonce', oauth.JWT_CLAIM_COMPARISON, 'unexpected ID Token "nonce" claim value'],
    [
      'id-token-expired',
      oauth.JWT_TIMESTAMP_CHECK,
      'unexpected JWT "exp" (expiration time) claim value, expiration is past current timestamp',
    ],
    ['unpublished-key', oauth.KEY_SELECTION, 'error when selecting a JWT verification key, no applicable keys found'],
    [
      'token-response-without-token-type',
      oauth.INVALID_RESPONSE,
      '"response" body "token_type" property must be a string',
    ],
  ]

  for (const [fault, code, message] of cases) {
    it(`${fault}: one-shot, then times: 2 (both clients), then the flow succeeds again`, async () => {
      const as = await oauthServer(server)
      const rp = await relyingParty(server)
      server.faults.inject(fault)
      const once = await rejection(oauth4webapiLogin(server, as))
      expect(once).toBeInstanceOf(oauth.OperationProcessingError)
      expect([once.code, once.message]).toEqual([code, message])
      await oauth4webapiLogin(server, as) // one-shot: used up

      server.faults.inject(fault, {times: 2})
      const first = await rejection(oauth4webapiLogin(server, as))
      expect([first.code, first.message]).toEqual([code, message])
      const second = await rejection(openidClientLogin(server, rp))
      expect(second).toBeInstanceOf(client.ClientError)
      expect([second.code, (second.cause as Error).message]).toEqual([code, message])
      const tokens = await openidClientLogin(server, rp)
      expect(tokens.claims()?.sub).toBe('alice')
      expect(server.faults.list()).toEqual([])
    })
  }

  it('unpublished-key: a resource server (oauth4webapi validateJwtAccessToken) refuses the access token too', async () => {
    const as = await oauthServer(server)
    server.faults.inject('unpublished-key')
    const minted = await token()
    const request = new Request(server.url('/api'), {
      headers: {authorization: `Bearer ${minted.json.access_token as string}`},
    })
    const error = await rejection(
      oauth.validateJwtAccessToken(as, request, 'svc', {[oauth.allowInsecureRequests]: true}),
    )
    expect([error.code, error.message]).toEqual([
      oauth.KEY_SELECTION,
      'error when selecting a JWT verification key, no applicable keys found',
    ])
  })

  it('metadata-without-pkce: the metadata lacks code_challenge_methods_supported (openid-client: supportsPKCE() is false), one-shot and persistent', async () => {
    server.faults.inject('metadata-without-pkce')
    expect((await oauthServer(server)).code_challenge_methods_supported).toBeUndefined()
    expect((await oauthServer(server)).code_challenge_methods_supported).toEqual(['S256'])
    server.faults.inject('metadata-without-pkce', {persistent: true})
    expect((await relyingParty(server)).serverMetadata().supportsPKCE()).toBe(false)
    expect((await relyingParty(server)).serverMetadata().supportsPKCE()).toBe(false)
    const direct = await (await fetch(server.url('/.well-known/oauth-authorization-server'))).json()
    expect(direct).not.toHaveProperty('code_challenge_methods_supported')
    expect(direct).toHaveProperty('issuer', server.issuer)
    server.faults.clear()
    expect((await relyingParty(server)).serverMetadata().supportsPKCE()).toBe(true)
  })

  it('startServer({faults}) arms named faults until cleared, as serve --fault does', async () => {
    const other = await startHandle({faults: ['wrong-iss']})
    try {
      for (let i = 0; i < 2; i++)
        expect((await rejection(oauth4webapiLogin(other))).message).toBe(
          'unexpected "iss" (issuer) response parameter value',
        )
      other.faults.clear()
      await oauth4webapiLogin(other)
    } finally {
      await other.close()
    }
  })
})
