import type {webcrypto} from 'node:crypto'

import {calculateJwkThumbprint, decodeJwt, exportJWK, generateKeyPair} from 'jose'
import * as oauth from 'oauth4webapi'
import * as client from 'openid-client'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

type CryptoKeyPair = webcrypto.CryptoKeyPair

import {post as postForm, type Reply} from '../fixtures/http.js'
import {basic} from '../fixtures/oauth.js'
import {startFileServer} from '../fixtures/server.js'
import {proof, unsigned} from './dpop-support.js'

/**
 * DPoP (RFC 9449, SPEC §10.8) against a real `passport serve` (in-process, loopback, SQLite file),
 * with oauth4webapi and openid-client v6 as the clients.
 */

const insecure = {[oauth.allowInsecureRequests]: true} as const
const REDIRECT = 'http://localhost:3000/callback'
const CONFIG = {
  scopes: {read: 'Read access', write: 'Write access'},
  users: {alice: {name: 'Alice Example', email: 'alice@example.test'}},
  clients: [
    {id: 'svc', name: 'Service', secret: 'svc-secret-123', grants: ['client_credentials'], scopes: ['read']},
    {
      id: 'strict',
      name: 'DPoP only',
      secret: 'strict-secret-123',
      grants: ['client_credentials'],
      scopes: ['read'],
      requireDpop: true,
    },
    {
      id: 'spa',
      name: 'Single-page app',
      redirectUris: [REDIRECT],
      grants: ['authorization_code', 'refresh_token'],
      autoApprove: true,
    },
    {
      id: 'web',
      name: 'Web app',
      secret: 'web-secret-123',
      redirectUris: [REDIRECT],
      grants: ['authorization_code', 'refresh_token'],
      autoApprove: true,
    },
  ],
}

interface Started {
  issuer: string
  url: string
  as: oauth.AuthorizationServer
  close(): Promise<void>
}

async function start(options: {dpopNonce?: boolean} = {}): Promise<Started> {
  const running = await startFileServer(
    {config: CONFIG, loginAs: 'alice', autoApprove: true, ...options},
    'passport-dpop-',
  )
  const issuer = new URL(running.handle.issuer)
  const as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, {algorithm: 'oidc', ...insecure}),
  )
  return {issuer: running.handle.issuer, url: running.handle.url(), as, close: () => running.close()}
}

const keyPair = () => generateKeyPair('ES256', {extractable: true}) as Promise<CryptoKeyPair>
const thumbprint = async (pair: CryptoKeyPair) => calculateJwkThumbprint(await exportJWK(pair.publicKey))

let server: Started
beforeAll(async () => {
  server = await start()
})
afterAll(() => server.close())

describe('discovery', () => {
  it('advertises dpop_signing_alg_values_supported (asymmetric algorithms only)', () => {
    expect(server.as.dpop_signing_alg_values_supported).toEqual([
      'ES256',
      'ES384',
      'ES512',
      'PS256',
      'PS384',
      'PS512',
      'RS256',
      'RS384',
      'RS512',
      'EdDSA',
    ])
  })
})

describe('oauth4webapi: client credentials with a proof', () => {
  it('gives a DPoP-bound token (token_type DPoP, cnf.jkt); introspection reports cnf and token_type', async () => {
    const pair = await keyPair()
    const dpop = oauth.DPoP({}, pair)
    const svc: oauth.Client = {client_id: 'svc'}
    const auth = oauth.ClientSecretBasic('svc-secret-123')
    const response = await oauth.clientCredentialsGrantRequest(
      server.as,
      svc,
      auth,
      new URLSearchParams({scope: 'read'}),
      {DPoP: dpop, ...insecure},
    )
    const tokens = await oauth.processClientCredentialsResponse(server.as, svc, response)
    expect(tokens.token_type).toBe('dpop')
    expect(decodeJwt(tokens.access_token).cnf).toEqual({jkt: await thumbprint(pair)})
    const introspected = await oauth.processIntrospectionResponse(
      server.as,
      svc,
      await oauth.introspectionRequest(server.as, svc, auth, tokens.access_token, insecure),
    )
    expect(introspected).toMatchObject({active: true, token_type: 'DPoP', cnf: {jkt: await thumbprint(pair)}})
  })

  it('checklist 145: without a proof the token stays a bearer token; a requireDpop client gets none', async () => {
    const plain = await post(
      '/oauth/token',
      {grant_type: 'client_credentials', scope: 'read'},
      {authorization: basic('svc', 'svc-secret-123')},
    )
    expect(plain.status).toBe(200)
    expect(plain.json.token_type).toBe('Bearer')
    expect(decodeJwt(plain.json.access_token as string).cnf).toBeUndefined()

    const refused = await post(
      '/oauth/token',
      {grant_type: 'client_credentials', scope: 'read'},
      {authorization: basic('strict', 'strict-secret-123')},
    )
    expect(refused.status).toBe(400)
    expect(refused.json).toEqual({
      error: 'invalid_dpop_proof',
      error_description:
        'Client strict requires DPoP-bound tokens (requireDpop): send a DPoP proof with the token request.',
    })
    const pair = await keyPair()
    const bound = await post(
      '/oauth/token',
      {grant_type: 'client_credentials', scope: 'read'},
      {
        authorization: basic('strict', 'strict-secret-123'),
        dpop: await proof(pair, 'POST', `${server.issuer}/oauth/token`),
      },
    )
    expect(bound.status).toBe(200)
    expect(bound.json.token_type).toBe('DPoP')
  })
})

describe('authorization code + PKCE for a public client with dpop_jkt (oauth4webapi)', () => {
  async function authorize(jkt: string | undefined): Promise<URLSearchParams> {
    const verifier = oauth.generateRandomCodeVerifier()
    const url = new URL(server.as.authorization_endpoint!)
    url.search = new URLSearchParams({
      client_id: 'spa',
      response_type: 'code',
      redirect_uri: REDIRECT,
      scope: 'openid read',
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      ...(jkt === undefined ? {} : {dpop_jkt: jkt}),
    }).toString()
    const res = await fetch(url, {redirect: 'manual'})
    expect(res.status).toBe(302)
    const params = oauth.validateAuthResponse(
      server.as,
      {client_id: 'spa'},
      new URL(res.headers.get('location')!),
      oauth.expectNoState,
    )
    ;(params as URLSearchParams & {verifier?: string}).verifier = verifier
    return Object.assign(params, {verifier})
  }

  it('checklist 144: binds code, access and refresh token to the key; refresh needs a proof by that key', async () => {
    const pair = await keyPair()
    const dpop = oauth.DPoP({}, pair)
    const spa: oauth.Client = {client_id: 'spa'}
    const params = (await authorize(await dpop.calculateThumbprint())) as URLSearchParams & {verifier: string}
    const response = await oauth.authorizationCodeGrantRequest(
      server.as,
      spa,
      oauth.None(),
      params,
      REDIRECT,
      params.verifier,
      {DPoP: dpop, ...insecure},
    )
    const tokens = await oauth.processAuthorizationCodeResponse(server.as, spa, response)
    expect(tokens.token_type).toBe('dpop')
    expect(decodeJwt(tokens.access_token).cnf).toEqual({jkt: await thumbprint(pair)})

    // userinfo with a DPoP proof carrying ath
    const info = await oauth.processUserInfoResponse(
      server.as,
      spa,
      'alice',
      await oauth.userInfoRequest(server.as, spa, tokens.access_token, {DPoP: dpop, ...insecure}),
    )
    expect(info).toMatchObject({sub: 'alice'})

    // refresh without a proof, and with another key: refused; with the key: a new bound pair
    const without = await post('/oauth/token', {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token!,
      client_id: 'spa',
    })
    expect(without.json).toEqual({
      error: 'invalid_grant',
      error_description: 'The refresh token is bound to a DPoP key; send a DPoP proof made with that key.',
    })
    const other = await post(
      '/oauth/token',
      {grant_type: 'refresh_token', refresh_token: tokens.refresh_token!, client_id: 'spa'},
      {dpop: await proof(await keyPair(), 'POST', server.as.token_endpoint!)},
    )
    expect(other.json).toEqual({
      error: 'invalid_grant',
      error_description: 'The DPoP proof is made with another key than the one the refresh token is bound to.',
    })
    const refreshed = await oauth.processRefreshTokenResponse(
      server.as,
      spa,
      await oauth.refreshTokenGrantRequest(server.as, spa, oauth.None(), tokens.refresh_token!, {
        DPoP: dpop,
        ...insecure,
      }),
    )
    expect(refreshed.token_type).toBe('dpop')
    expect(decodeJwt(refreshed.access_token).cnf).toEqual({jkt: await thumbprint(pair)})
    // The rotated refresh token stays bound.
    const again = await post('/oauth/token', {
      grant_type: 'refresh_token',
      refresh_token: refreshed.refresh_token!,
      client_id: 'spa',
    })
    expect(again.json.error).toBe('invalid_grant')
  })

  it('checklist 144: a code requested with dpop_jkt is refused without a proof, and with another key', async () => {
    const pair = await keyPair()
    const params = (await authorize(await thumbprint(pair))) as URLSearchParams & {verifier: string}
    const form = {
      grant_type: 'authorization_code',
      code: params.get('code')!,
      redirect_uri: REDIRECT,
      code_verifier: params.verifier,
      client_id: 'spa',
    }
    const without = await post('/oauth/token', form)
    expect(without.json).toEqual({
      error: 'invalid_grant',
      error_description:
        'The authorization code is bound to a DPoP key (dpop_jkt); send a DPoP proof made with that key.',
    })
    const other = await post('/oauth/token', form, {
      dpop: await proof(await keyPair(), 'POST', server.as.token_endpoint!),
    })
    expect(other.json).toEqual({
      error: 'invalid_grant',
      error_description: 'The DPoP proof is made with another key than the dpop_jkt of the authorization request.',
    })
    // Neither refusal used the code up: the right key still redeems it.
    const ok = await post('/oauth/token', form, {dpop: await proof(pair, 'POST', server.as.token_endpoint!)})
    expect(ok.status).toBe(200)
    expect(ok.json.token_type).toBe('DPoP')
  })

  it('a malformed dpop_jkt is an authorization error redirected to the client', async () => {
    const url = new URL(server.as.authorization_endpoint!)
    url.search = new URLSearchParams({
      client_id: 'spa',
      response_type: 'code',
      redirect_uri: REDIRECT,
      code_challenge: 'x'.repeat(43),
      code_challenge_method: 'S256',
      dpop_jkt: 'short',
    }).toString()
    const res = await fetch(url, {redirect: 'manual'})
    expect(res.status).toBe(302)
    const location = new URL(res.headers.get('location')!)
    expect(location.searchParams.get('error')).toBe('invalid_request')
    expect(location.searchParams.get('error_description')).toContain('dpop_jkt')
  })

  it("a confidential client's refresh token is not bound (its authentication protects it), its access tokens are", async () => {
    const pair = await keyPair()
    const dpop = oauth.DPoP({}, pair)
    const verifier = oauth.generateRandomCodeVerifier()
    const url = new URL(server.as.authorization_endpoint!)
    url.search = new URLSearchParams({
      client_id: 'web',
      response_type: 'code',
      redirect_uri: REDIRECT,
      scope: 'read',
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    }).toString()
    const res = await fetch(url, {redirect: 'manual'})
    const params = oauth.validateAuthResponse(
      server.as,
      {client_id: 'web'},
      new URL(res.headers.get('location')!),
      oauth.expectNoState,
    )
    const web: oauth.Client = {client_id: 'web'}
    const auth = oauth.ClientSecretBasic('web-secret-123')
    const tokens = await oauth.processAuthorizationCodeResponse(
      server.as,
      web,
      await oauth.authorizationCodeGrantRequest(server.as, web, auth, params, REDIRECT, verifier, {
        DPoP: dpop,
        ...insecure,
      }),
    )
    expect(tokens.token_type).toBe('dpop')
    const plain = await post(
      '/oauth/token',
      {grant_type: 'refresh_token', refresh_token: tokens.refresh_token!},
      {authorization: basic('web', 'web-secret-123')},
    )
    expect(plain.status).toBe(200)
    expect(plain.json.token_type).toBe('Bearer')
  })
})

describe('openid-client v6', () => {
  it('client credentials with a DPoP handle, then userinfo refuses the bound token as Bearer with a DPoP challenge', async () => {
    const config = await client.discovery(
      new URL(server.issuer),
      'svc',
      'svc-secret-123',
      client.ClientSecretBasic('svc-secret-123'),
      {execute: [client.allowInsecureRequests]},
    )
    const pair = await keyPair()
    const tokens = await client.clientCredentialsGrant(
      config,
      {scope: 'read'},
      {DPoP: client.getDPoPHandle(config, pair)},
    )
    expect(tokens.token_type).toBe('dpop')
    expect(decodeJwt(tokens.access_token).cnf).toEqual({jkt: await thumbprint(pair)})

    const asBearer = await fetch(`${server.url}/oauth/userinfo`, {
      headers: {authorization: `Bearer ${tokens.access_token}`},
    })
    expect(asBearer.status).toBe(401)
    expect(asBearer.headers.get('www-authenticate')).toBe(
      'DPoP error="invalid_token", error_description="The token is DPoP-bound (cnf.jkt): send it with Authorization: DPoP and a DPoP proof made with its key.", algs="ES256 ES384 ES512 PS256 PS384 PS512 RS256 RS384 RS512 EdDSA"',
    )
    expect(await asBearer.json()).toMatchObject({error: 'invalid_token'})
  })

  it('authorization code for a public client with dpop_jkt, refresh and userinfo with proofs', async () => {
    const config = await client.discovery(new URL(server.issuer), 'spa', undefined, client.None(), {
      execute: [client.allowInsecureRequests],
    })
    const pair = await keyPair()
    const handle = client.getDPoPHandle(config, pair)
    const verifier = client.randomPKCECodeVerifier()
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid read',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      dpop_jkt: await handle.calculateThumbprint(),
    })
    const res = await fetch(url, {redirect: 'manual'})
    const tokens = await client.authorizationCodeGrant(
      config,
      new URL(res.headers.get('location')!),
      {pkceCodeVerifier: verifier, idTokenExpected: true},
      undefined,
      {DPoP: handle},
    )
    expect(tokens.token_type).toBe('dpop')
    const info = await client.fetchUserInfo(config, tokens.access_token, 'alice', {DPoP: handle})
    expect(info.sub).toBe('alice')
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!, undefined, {DPoP: handle})
    expect(decodeJwt(refreshed.access_token).cnf).toEqual({jkt: await thumbprint(pair)})
  })
})

describe('server nonces (serve --dpop-nonce)', () => {
  let nonced: Started
  beforeAll(async () => {
    nonced = await start({dpopNonce: true})
  })
  afterAll(() => nonced.close())

  it('checklist 143: a proof without the nonce gets use_dpop_nonce and a DPoP-Nonce header; oauth4webapi retries with it', async () => {
    const pair = await keyPair()
    const dpop = oauth.DPoP({}, pair)
    const svc: oauth.Client = {client_id: 'svc'}
    const auth = oauth.ClientSecretBasic('svc-secret-123')
    const request = () =>
      oauth.clientCredentialsGrantRequest(nonced.as, svc, auth, new URLSearchParams({scope: 'read'}), {
        DPoP: dpop,
        ...insecure,
      })
    const first = await request()
    expect(first.status).toBe(400)
    expect(first.headers.get('dpop-nonce')).toMatch(/^[\w-]{22}$/)
    let error: unknown
    try {
      await oauth.processClientCredentialsResponse(nonced.as, svc, first)
    } catch (caught) {
      error = caught
    }
    expect(oauth.isDPoPNonceError(error)).toBe(true)
    const tokens = await oauth.processClientCredentialsResponse(nonced.as, svc, await request())
    expect(tokens.token_type).toBe('dpop')

    const stale = await fetch(nonced.as.token_endpoint!, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic('svc', 'svc-secret-123'),
        dpop: await proof(pair, 'POST', nonced.as.token_endpoint!, {nonce: 'not-the-nonce'}),
      },
      body: 'grant_type=client_credentials',
    })
    expect(stale.status).toBe(400)
    expect(await stale.json()).toEqual({
      error: 'use_dpop_nonce',
      error_description:
        "The DPoP proof's nonce is not current: make a new proof with the nonce in the DPoP-Nonce header.",
    })
    expect(stale.headers.get('dpop-nonce')).toBe(first.headers.get('dpop-nonce'))
  })

  it('openid-client retries on use_dpop_nonce by itself', async () => {
    const config = await client.discovery(
      new URL(nonced.issuer),
      'svc',
      'svc-secret-123',
      client.ClientSecretBasic('svc-secret-123'),
      {execute: [client.allowInsecureRequests]},
    )
    const handle = client.getDPoPHandle(config, await keyPair())
    let tokens
    try {
      tokens = await client.clientCredentialsGrant(config, {scope: 'read'}, {DPoP: handle})
    } catch (error) {
      expect(oauth.isDPoPNonceError(error)).toBe(true)
      tokens = await client.clientCredentialsGrant(config, {scope: 'read'}, {DPoP: handle})
    }
    expect(tokens.token_type).toBe('dpop')
  })
})

describe('bad proofs at the token endpoint: invalid_dpop_proof with the check that failed', () => {
  const token = () => server.as.token_endpoint!
  const cases: Array<[string, () => Promise<string>, string | RegExp | (() => string)]> = [
    [
      'not a JWT',
      async () => 'not-a-jwt',
      'The DPoP header is not a signed JWT (three base64url parts separated by dots).',
    ],
    [
      'typ JWT',
      async () => proof(await keyPair(), 'POST', token(), {typ: 'JWT'}),
      "The DPoP proof's typ must be dpop+jwt (got 'JWT').",
    ],
    [
      'alg none',
      async () => unsigned(await keyPair(), 'POST', token()),
      "The DPoP proof's alg must be an asymmetric algorithm from dpop_signing_alg_values_supported (ES256, ES384, ES512, PS256, PS384, PS512, RS256, RS384, RS512, EdDSA); got 'none'.",
    ],
    [
      'private key in jwk',
      async () => proof(await keyPair(), 'POST', token(), {privateJwk: true}),
      "The DPoP proof's jwk header holds a private key (it has the private member d); send only the public key.",
    ],
    [
      'no jwk',
      async () => proof(await keyPair(), 'POST', token(), {noJwk: true}),
      'The DPoP proof has no jwk header (the public key it is signed with).',
    ],
    [
      'signed by another key',
      async () => proof(await keyPair(), 'POST', token(), {signWith: (await keyPair()).privateKey}),
      "The DPoP proof's signature does not verify with its jwk.",
    ],
    [
      'wrong htm',
      async () => proof(await keyPair(), 'GET', token()),
      "The DPoP proof's htm is 'GET'; this request is POST.",
    ],
    [
      'wrong htu',
      async () => proof(await keyPair(), 'POST', `${server.issuer}/oauth/userinfo`),
      () =>
        `The DPoP proof's htu is '${server.issuer}/oauth/userinfo'; this request's URL is ${server.issuer}/oauth/token.`,
    ],
    [
      'iat too old',
      async () => proof(await keyPair(), 'POST', token(), {iat: Math.floor(Date.now() / 1000) - 120}),
      /^The DPoP proof's iat is 1[12]\d s old; it must be within 60 s of the server's time\.$/,
    ],
    [
      'iat in the future',
      async () => proof(await keyPair(), 'POST', token(), {iat: Math.floor(Date.now() / 1000) + 120}),
      /^The DPoP proof's iat is 1[12]\d s in the future; it must be within 60 s of the server's time\.$/,
    ],
    [
      'no jti',
      async () => proof(await keyPair(), 'POST', token(), {jti: null}),
      'The DPoP proof has no jti (a unique identifier of at most 256 characters).',
    ],
  ]
  it.each(cases)('checklist 141: %s', async (_name, make, description) => {
    const res = await post(
      '/oauth/token',
      {grant_type: 'client_credentials', scope: 'read'},
      {authorization: basic('svc', 'svc-secret-123'), dpop: await make()},
    )
    expect(res.status).toBe(400)
    expect(res.json.error).toBe('invalid_dpop_proof')
    if (description instanceof RegExp) expect(res.json.error_description).toMatch(description)
    else expect(res.json.error_description).toBe(typeof description === 'function' ? description() : description)
  })

  it('checklist 141: the htu ignores query and fragment; two DPoP headers are refused', async () => {
    const pair = await keyPair()
    const ok = await post(
      '/oauth/token',
      {grant_type: 'client_credentials'},
      {authorization: basic('svc', 'svc-secret-123'), dpop: await proof(pair, 'POST', `${token()}?x=1#y`)},
    )
    expect(ok.status).toBe(200)
    const headers = new Headers({
      'content-type': 'application/x-www-form-urlencoded',
      authorization: basic('svc', 'svc-secret-123'),
    })
    headers.append('dpop', await proof(pair, 'POST', token()))
    headers.append('dpop', await proof(pair, 'POST', token()))
    const two = await fetch(token(), {method: 'POST', headers, body: 'grant_type=client_credentials'})
    expect(await two.json()).toEqual({
      error: 'invalid_dpop_proof',
      error_description: 'The request has more than one DPoP header; send exactly one proof.',
    })
  })

  it('checklist 142: 50 parallel uses of one proof (one jti) give exactly one token', async () => {
    const one = await proof(await keyPair(), 'POST', token())
    const results = await Promise.all(
      Array.from({length: 50}, () =>
        post(
          '/oauth/token',
          {grant_type: 'client_credentials', scope: 'read'},
          {authorization: basic('svc', 'svc-secret-123'), dpop: one},
        ),
      ),
    )
    expect(results.filter((r) => r.status === 200)).toHaveLength(1)
    const refused = results.filter((r) => r.status !== 200)
    expect(refused).toHaveLength(49)
    for (const r of refused)
      expect(r.json).toEqual({
        error: 'invalid_dpop_proof',
        error_description:
          'The DPoP proof was already used (its jti was seen before); make a new proof for every request.',
      })
  })
})

// ---- helpers ------------------------------------------------------------------------------------

function post(path: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Reply> {
  return postForm(`${server.url}${path}`, form, {headers})
}
