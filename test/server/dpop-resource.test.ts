import {createServer, type IncomingMessage, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

import {exportJWK, generateKeyPair} from 'jose'
import * as oauth from 'oauth4webapi'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {accessTokenHashForDpop} from '../../src/core/dpop.js'
import {requireBearer} from '../../src/server/bearer.js'
import {startFileServer} from '../fixtures/server.js'
import {proof, unsigned} from './dpop-support.js'

/**
 * A resource server written with oauth4webapi's validateJwtAccessToken, and one guarded by
 * passport's own requireBearer, side by side: both accept passport's DPoP-bound tokens with their
 * proofs, and they agree on a shared table of bad proofs (RFC 9449 §7). The oauth4webapi resource
 * keeps the jti replay cache RFC 9449 §11.1 asks of a resource server (the library leaves that to
 * its caller); requireBearer has its own.
 */

const insecure = {[oauth.allowInsecureRequests]: true} as const
type Pair = Awaited<ReturnType<typeof keyPair>>
const keyPair = () => generateKeyPair('ES256', {extractable: true})

let authority: {issuer: string; close(): Promise<void>}
let as: oauth.AuthorizationServer
let resource: Server
let base: string
let token: string
let pair: Pair

async function handleO4w(
  req: IncomingMessage,
  seen: Set<string>,
): Promise<{status: number; body: Record<string, unknown>}> {
  const headers = new Headers()
  for (const [name, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v)
    else if (value !== undefined) headers.set(name, value)
  }
  const request = new Request(`${base}${req.url}`, {method: req.method!, headers})
  try {
    const claims = await oauth.validateJwtAccessToken(as, request, 'svc', {requireDPoP: true, ...insecure})
    // The resource's own replay check of the proof's jti (RFC 9449 §11.1).
    const jti = (JSON.parse(Buffer.from(headers.get('dpop')!.split('.')[1]!, 'base64url').toString()) as {jti: string})
      .jti
    if (seen.has(jti)) return {status: 401, body: {error: 'invalid_dpop_proof', error_description: 'replayed jti'}}
    seen.add(jti)
    return {status: 200, body: {sub: claims.sub}}
  } catch (error) {
    return {status: 401, body: {error: 'refused', error_description: (error as Error).message}}
  }
}

beforeAll(async () => {
  const started = await startFileServer(
    {
      config: {
        scopes: {read: 'Read'},
        clients: [
          {id: 'svc', name: 'Service', secret: 'svc-secret-123', grants: ['client_credentials'], scopes: ['read']},
        ],
      },
    },
    'passport-dpop-rs-',
  )
  const running = started.handle
  authority = {issuer: running.issuer, close: () => started.close()}
  const issuer = new URL(running.issuer)
  as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, insecure))

  const guard = requireBearer({issuer: running.issuer, jwks: as.jwks_uri!, audience: 'svc'})
  const seen = new Set<string>()
  resource = createServer((req, res) => {
    const done = (status: number, body: Record<string, unknown>) => {
      if (!res.headersSent) {
        res.writeHead(status, {'content-type': 'application/json'})
        res.end(JSON.stringify(body))
      }
    }
    if (req.url!.startsWith('/o4w')) void handleO4w(req, seen).then(({status, body}) => done(status, body))
    else void guard(req, res).then((verified) => verified && done(200, {sub: verified.claims.sub}))
  })
  await new Promise<void>((resolve) => resource.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(resource.address() as AddressInfo).port}`

  pair = await keyPair()
  const svc: oauth.Client = {client_id: 'svc'}
  const response = await oauth.clientCredentialsGrantRequest(
    as,
    svc,
    oauth.ClientSecretBasic('svc-secret-123'),
    new URLSearchParams({scope: 'read'}),
    {DPoP: oauth.DPoP({}, pair), ...insecure},
  )
  token = (await oauth.processClientCredentialsResponse(as, svc, response)).access_token
})
afterAll(async () => {
  await new Promise((resolve) => resource.close(resolve))
  await authority.close()
})

async function call(path: string, dpop: string, scheme = 'DPoP'): Promise<number> {
  const res = await fetch(`${base}${path}`, {headers: {authorization: `${scheme} ${token}`, dpop}})
  await res.text()
  return res.status
}

const now = () => Math.floor(Date.now() / 1000)
type Case = [string, (url: string) => Promise<string>]
const CASES: Case[] = [
  ['wrong htm', async (url) => proof(pair, 'POST', url, {ath: accessTokenHashForDpop(token)})],
  ['wrong htu', async () => proof(pair, 'GET', `${base}/elsewhere`, {ath: accessTokenHashForDpop(token)})],
  ['wrong ath', async (url) => proof(pair, 'GET', url, {ath: accessTokenHashForDpop(`${token}x`)})],
  ['no ath', async (url) => proof(pair, 'GET', url)],
  ['another key', async (url) => proof(await keyPair(), 'GET', url, {ath: accessTokenHashForDpop(token)})],
  [
    'iat 10 minutes old',
    async (url) => proof(pair, 'GET', url, {ath: accessTokenHashForDpop(token), iat: now() - 600}),
  ],
  [
    'iat 10 minutes ahead',
    async (url) => proof(pair, 'GET', url, {ath: accessTokenHashForDpop(token), iat: now() + 600}),
  ],
  ['typ JWT', async (url) => proof(pair, 'GET', url, {ath: accessTokenHashForDpop(token), typ: 'JWT'})],
  ['alg none', async (url) => unsigned(pair, 'GET', url)],
  [
    'private key in jwk',
    async (url) => proof(pair, 'GET', url, {ath: accessTokenHashForDpop(token), privateJwk: true}),
  ],
  [
    'signature by another key',
    async (url) =>
      proof(pair, 'GET', url, {ath: accessTokenHashForDpop(token), signWith: (await keyPair()).privateKey}),
  ],
]

describe('a resource server: oauth4webapi validateJwtAccessToken and passport requireBearer agree', () => {
  it('both accept the bound token with a good proof, and both refuse a replayed one', async () => {
    for (const path of ['/o4w/data', '/passport/data']) {
      const good = await proof(pair, 'GET', `${base}${path}`, {ath: accessTokenHashForDpop(token)})
      expect(await call(path, good), `${path} good proof`).toBe(200)
      expect(await call(path, good), `${path} replayed proof`).toBe(401)
    }
  })

  it.each(CASES)('checklist 146: both refuse: %s', async (_name, make) => {
    for (const path of ['/o4w/data', '/passport/data']) {
      expect(await call(path, await make(`${base}${path}`)), path).toBe(401)
    }
  })

  it('checklist 146: both refuse the bound token sent as Bearer', async () => {
    for (const path of ['/o4w/data', '/passport/data']) {
      const good = await proof(pair, 'GET', `${base}${path}`, {ath: accessTokenHashForDpop(token)})
      expect(await call(path, good, 'Bearer'), path).toBe(401)
    }
    const res = await fetch(`${base}/passport/data`, {headers: {authorization: `Bearer ${token}`}})
    expect(res.headers.get('www-authenticate')).toMatch(
      /^DPoP error="invalid_token", error_description="The token is DPoP-bound \(cnf\.jkt\): .*", algs="ES256 /,
    )
  })

  it('requireBearer names the failed check in its DPoP challenge', async () => {
    const res = await fetch(`${base}/passport/data`, {
      headers: {
        authorization: `DPoP ${token}`,
        dpop: await proof(pair, 'GET', `${base}/passport/data`, {ath: accessTokenHashForDpop(`${token}x`)}),
      },
    })
    expect(res.status).toBe(401)
    expect(await res.json()).toEqual({
      error: 'invalid_dpop_proof',
      error_description: "The DPoP proof's ath does not match the access token it is sent with.",
    })
    expect(res.headers.get('www-authenticate')).toBe(
      `DPoP error="invalid_dpop_proof", error_description="The DPoP proof's ath does not match the access token it is sent with.", algs="ES256 ES384 ES512 PS256 PS384 PS512 RS256 RS384 RS512 EdDSA"`,
    )
  })

  it('checklist 142: 50 parallel uses of one proof at requireBearer: exactly one passes', async () => {
    const one = await proof(pair, 'GET', `${base}/passport/data`, {ath: accessTokenHashForDpop(token)})
    const statuses = await Promise.all(Array.from({length: 50}, () => call('/passport/data', one)))
    expect(statuses.filter((s) => s === 200)).toHaveLength(1)
    expect(statuses.filter((s) => s === 401)).toHaveLength(49)
  })

  it('a private jwk never reaches the wire from exportJWK of a public key (sanity of the table)', async () => {
    expect(Object.keys(await exportJWK(pair.publicKey)).sort()).toEqual(['crv', 'kty', 'x', 'y'])
  })
})
