import {randomUUID} from 'node:crypto'
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import {exportJWK, generateKeyPair, SignJWT, type CryptoKey} from 'jose'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {MAX_CONCURRENT_FETCHES, openFetches} from '../../src/core/fenced-fetch.js'
import {startTestServer, type TestServer} from '../server/harness.js'

/**
 * Anyone can make passport fetch a URL: a client ID metadata document named at /authorize, a
 * registered client's jwks_uri at the token endpoint. Each fetch may hold a socket for its 5 s
 * timeout, so the fetches open at once are capped (core/fenced-fetch.ts); one beyond the cap is
 * refused at once with 503 `temporarily_unavailable` and Retry-After, and every fetch, however it
 * ends, gives its place back.
 *
 * A "slow publisher" on loopback (allowed, as for local development) holds every request until
 * the test releases it; the test waits for the requests to arrive (an event, not a delay). The
 * held fetches would end by themselves after 5 s; the test releases them long before.
 */
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

let server: TestServer
let publisher: Server
let origin: string
let privateKey: CryptoKey
let jwks: {keys: unknown[]}
let holding = true
const held: ServerResponse[] = []
let arrivals: {count: number; resolve: () => void} | undefined

function answer(req: IncomingMessage, res: ServerResponse): void {
  if (req.url === '/jwks') res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify(jwks))
  else res.writeHead(404, {'content-type': 'text/plain'}).end('no such document')
}

beforeAll(async () => {
  const pair = await generateKeyPair('ES256', {extractable: true})
  privateKey = pair.privateKey
  jwks = {keys: [{...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256'}]}
  publisher = createServer((req, res) => {
    if (!holding) return answer(req, res)
    held.push(res)
    if (arrivals && held.length >= arrivals.count) arrivals.resolve()
  })
  await new Promise<void>((resolve) => publisher.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(publisher.address() as AddressInfo).port}`
  server = await startTestServer()
})

afterAll(async () => {
  for (const res of held.splice(0)) res.destroy()
  await server?.close()
  publisher?.closeAllConnections()
  await new Promise<void>((resolve) => publisher?.close(() => resolve()))
})

/** GET /authorize for a metadata-document client published at `path` on the slow publisher. */
async function authorize(path: string): Promise<{status: number; headers: Headers; json: Record<string, unknown>}> {
  const clientId = `${origin}${path}`
  const url = new URL(`${server.issuer}/oauth/authorize`)
  url.search = new URLSearchParams({
    client_id: clientId,
    response_type: 'code',
    redirect_uri: 'http://127.0.0.1:9/callback',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
    scope: 'read',
  }).toString()
  const response = await fetch(url, {headers: {accept: 'application/json'}, redirect: 'manual'})
  return {status: response.status, headers: response.headers, json: (await response.json()) as Record<string, unknown>}
}

async function tokenWithAssertion(clientId: string): Promise<{status: number; headers: Headers; json: unknown}> {
  const now = Math.floor(Date.now() / 1000)
  const assertion = await new SignJWT({jti: randomUUID()})
    .setProtectedHeader({alg: 'ES256', kid: 'k1'})
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(server.issuer)
    .setIssuedAt(now)
    .setExpirationTime(now + 60)
    .sign(privateKey)
  const response = await fetch(`${server.issuer}/oauth/token`, {
    method: 'POST',
    headers: {'content-type': 'application/x-www-form-urlencoded'},
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: assertion,
    }),
  })
  return {status: response.status, headers: response.headers, json: await response.json()}
}

describe('fetches of URLs anyone can name are bounded', () => {
  it('checklist 158: at most 32 fetches at once; one more is refused with 503 and Retry-After, and every place comes back', async () => {
    const registered = await fetch(`${server.issuer}/oauth/register`, {
      method: 'POST',
      headers: {'content-type': 'application/json'},
      body: JSON.stringify({
        grant_types: ['client_credentials'],
        token_endpoint_auth_method: 'private_key_jwt',
        jwks_uri: `${origin}/jwks`,
      }),
    })
    expect(registered.status).toBe(201)
    const clientId = ((await registered.json()) as {client_id: string}).client_id

    // Fill every place with documents the publisher holds.
    const arrived = new Promise<void>((resolve) => (arrivals = {count: MAX_CONCURRENT_FETCHES, resolve}))
    const pending = Array.from({length: MAX_CONCURRENT_FETCHES}, (_, i) => authorize(`/client-${i}`))
    await arrived
    expect(held).toHaveLength(MAX_CONCURRENT_FETCHES)
    expect(openFetches()).toBe(MAX_CONCURRENT_FETCHES)

    // One more metadata document: refused without a fetch.
    const refused = await authorize('/one-more')
    expect(refused.status).toBe(503)
    expect(refused.headers.get('retry-after')).toBe('5')
    expect(refused.json).toEqual({
      error: 'temporarily_unavailable',
      error_description: `The client ID metadata document at ${origin}/one-more was not fetched: ${MAX_CONCURRENT_FETCHES} other fetches are under way; try again in a few seconds. passport limits how many documents it fetches at once; nothing is wrong with this one. Try again shortly.`,
    })
    // A jwks_uri at the token endpoint: the same cap, the same answer.
    const busyToken = await tokenWithAssertion(clientId)
    expect(busyToken.status).toBe(503)
    expect(busyToken.headers.get('retry-after')).toBe('5')
    expect(busyToken.json).toEqual({
      error: 'temporarily_unavailable',
      error_description: `Client assertion: the jwks_uri at ${origin}/jwks was not fetched: ${MAX_CONCURRENT_FETCHES} other fetches are under way; try again in a few seconds.`,
    })
    expect(held).toHaveLength(MAX_CONCURRENT_FETCHES)

    // Release: each held fetch ends (404: the document does not exist) and gives its place back.
    holding = false
    for (const res of held.splice(0)) res.writeHead(404, {'content-type': 'text/plain'}).end('no such document')
    const ended = await Promise.all(pending)
    for (const reply of ended) {
      expect(reply.status).toBe(400)
      expect(reply.json.error).toBe('invalid_client')
    }
    expect(openFetches()).toBe(0)

    // With places free, the same requests are fetched again: the client authenticates.
    expect((await tokenWithAssertion(clientId)).status).toBe(200)
    expect((await authorize('/one-more')).status).toBe(400)
    expect(openFetches()).toBe(0)
    expect(server.store.clients.find(`${origin}/one-more`)).toBeUndefined()
  })
})
