import {randomUUID, webcrypto} from 'node:crypto'
import {join} from 'node:path'

import {exportJWK, generateKeyPair, SignJWT} from 'jose'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {Authority} from '../../src/core/authority.js'
import {parseConfig} from '../../src/core/config.js'
import {generateKeys, keyLocation} from '../../src/core/keys.js'
import {serve, type RunningServer} from '../../src/server/index.js'
import {tempDir} from '../helpers.js'
import {proof} from '../server/dpop-support.js'

/**
 * The replay caches anonymous callers can fill (DPoP proof jtis, private_key_jwt assertion jtis)
 * are bounded per client, so that one client filling its share does not refuse anyone else. The
 * real server, with small bounds injected (the defaults are 10,000 per client, 100,000 in all).
 */
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

let authority: Authority
let running: RunningServer
let cleanup: () => void
let tokenUrl: string
let signer: {privateKey: webcrypto.CryptoKey; jwk: Record<string, unknown>}

beforeAll(async () => {
  const temp = tempDir('passport-replay-')
  cleanup = temp.cleanup
  await generateKeys(join(temp.dir, 'keys'))
  const pair = await generateKeyPair('ES256', {extractable: true})
  signer = {privateKey: pair.privateKey, jwk: {...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256'}}
  const machine = {grants: ['client_credentials'], scopes: ['read']}
  const config = parseConfig({
    scopes: {read: 'Read'},
    clients: [
      ...['flood', 'quiet', 'third'].map((id) => ({id, name: id, secret: `${id}-secret-123`, ...machine})),
      ...['kflood', 'kquiet', 'kthird'].map((id) => ({id, name: id, jwks: {keys: [signer.jwk]}, ...machine})),
    ],
  })
  authority = Authority.open({
    config,
    database: join(temp.dir, 'passport.sqlite'),
    keys: keyLocation(join(temp.dir, 'keys'), {}),
    replayLimits: {dpop: {perClient: 3, total: 5}, assertions: {perClient: 2, total: 4}},
  })
  running = await serve(authority, {host: '127.0.0.1', port: 0, prefix: '/oauth', except: [], autoApprove: false})
  tokenUrl = `${running.issuer}/oauth/token`
})

afterAll(async () => {
  await running?.close()
  cleanup?.()
})

async function tokenRequest(
  form: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{status: number; json: Record<string, unknown>; headers: Headers}> {
  const response = await fetch(tokenUrl, {
    method: 'POST',
    headers: {'content-type': 'application/x-www-form-urlencoded', ...headers},
    body: new URLSearchParams(form),
  })
  return {status: response.status, json: (await response.json()) as Record<string, unknown>, headers: response.headers}
}

describe('DPoP proof jtis: bounded per client, a full client forgets its own oldest', () => {
  const dpopKeys = webcrypto.subtle.generateKey({name: 'ECDSA', namedCurve: 'P-256'}, true, ['sign', 'verify'])
  const newProof = async () => proof(await dpopKeys, 'POST', tokenUrl, {iat: Math.floor(authority.clock.now() / 1000)})
  const withProof = (client: string, dpop: string) =>
    tokenRequest(
      {grant_type: 'client_credentials', scope: 'read', client_id: client, client_secret: `${client}-secret-123`},
      {dpop},
    )

  it('checklist 153: a client sending more proofs than its share is never refused; the others keep every entry and their replays are still refused', async () => {
    const quietProof = await newProof()
    expect((await withProof('quiet', quietProof)).status).toBe(200)
    // Ten proofs from one client with a share of three: each one answered, none a 503.
    const flood: string[] = []
    for (let i = 0; i < 10; i++) {
      flood.push(await newProof())
      const reply = await withProof('flood', flood.at(-1)!)
      expect([i, reply.status, reply.json.token_type]).toEqual([i, 200, 'DPoP'])
    }
    expect([authority.dpopReplay.held('flood'), authority.dpopReplay.held('quiet')]).toEqual([3, 1])
    // The quiet client's proof is still remembered: its replay is refused, and it keeps working.
    expect((await withProof('quiet', quietProof)).json).toEqual({
      error: 'invalid_dpop_proof',
      error_description:
        'The DPoP proof was already used (its jti was seen before); make a new proof for every request.',
    })
    expect((await withProof('quiet', await newProof())).status).toBe(200)
    // The flooding client's recent proofs are remembered too; only its own oldest were forgotten.
    expect((await withProof('flood', flood.at(-1)!)).json.error).toBe('invalid_dpop_proof')
    // A proof used for one client is a replay for every other one as well.
    expect((await withProof('third', flood.at(-1)!)).json.error).toBe('invalid_dpop_proof')
  })

  it('checklist 153: at the total, the client holding the most entries loses its oldest, not one within its fair share', async () => {
    // flood holds 3 and quiet 2: the total (5) is reached; a third client takes flood's oldest.
    expect([authority.dpopReplay.size, authority.dpopReplay.held('flood'), authority.dpopReplay.held('quiet')]).toEqual(
      [5, 3, 2],
    )
    expect((await withProof('third', await newProof())).status).toBe(200)
    expect([
      authority.dpopReplay.held('flood'),
      authority.dpopReplay.held('quiet'),
      authority.dpopReplay.held('third'),
    ]).toEqual([2, 2, 1])
  })

  it("checklist 153: entries expire with their proof's iat window on the authority's clock", async () => {
    authority.clock.advance('121s')
    expect((await withProof('quiet', await newProof())).status).toBe(200)
    // Every earlier entry had expired; a full sweep happens when the total is reached.
    expect(authority.dpopReplay.held('quiet')).toBe(1)
  })
})

describe('private_key_jwt jtis: bounded per client, a full client is refused until its oldest expires', () => {
  async function assertion(client: string, jti = randomUUID()): Promise<string> {
    const now = Math.floor(authority.clock.now() / 1000)
    return new SignJWT({jti})
      .setProtectedHeader({alg: 'ES256', kid: 'k1'})
      .setIssuer(client)
      .setSubject(client)
      .setAudience(running.issuer)
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(signer.privateKey)
  }
  const withAssertion = (clientAssertion: string) =>
    tokenRequest({
      grant_type: 'client_credentials',
      scope: 'read',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: clientAssertion,
    })

  it('checklist 154: a client over its share gets 429 temporarily_unavailable with Retry-After; other clients keep working and replays stay refused', async () => {
    const first = await assertion('kflood')
    expect((await withAssertion(first)).status).toBe(200)
    expect((await withAssertion(await assertion('kflood'))).status).toBe(200)
    const refused = await withAssertion(await assertion('kflood'))
    expect(refused.status).toBe(429)
    // Until the oldest assertion's exp (60 s) plus the 30 s leeway, whole seconds rounded up.
    const seconds = Number(refused.headers.get('retry-after'))
    expect(seconds).toBeGreaterThanOrEqual(1)
    expect(seconds).toBeLessThanOrEqual(90)
    expect(refused.json).toEqual({
      error: 'temporarily_unavailable',
      error_description: `Client kflood has 2 client assertions still live (at most 2 per client; each jti is remembered until its exp): retry in ${seconds} s, or give assertions a shorter exp.`,
    })
    // Another client is not affected; a replay is still a replay, full or not.
    expect((await withAssertion(await assertion('kquiet'))).status).toBe(200)
    expect((await withAssertion(first)).json).toEqual({
      error: 'invalid_client',
      error_description:
        'Client assertion: this jti was already used; every assertion must carry a new jti (replay refused).',
    })
  })

  it('checklist 154: at the total, the largest client loses its oldest entry; the newcomer is not refused', async () => {
    const quiet = await assertion('kquiet')
    expect((await withAssertion(quiet)).status).toBe(200)
    // kflood 2 + kquiet 2 = the total (4): kthird is served, kflood (first among the largest) loses its oldest.
    expect((await withAssertion(await assertion('kthird'))).status).toBe(200)
    expect([
      authority.assertionReplay.held('kflood'),
      authority.assertionReplay.held('kquiet'),
      authority.assertionReplay.held('kthird'),
    ]).toEqual([1, 2, 1])
    expect((await withAssertion(quiet)).json.error).toBe('invalid_client')
  })

  it("checklist 154: each jti is remembered until its assertion's exp (plus 30 s of clock leeway), then the client is served again", async () => {
    authority.clock.advance('91s')
    for (let i = 0; i < 2; i++) expect((await withAssertion(await assertion('kflood'))).status).toBe(200)
    expect(authority.assertionReplay.held('kflood')).toBe(2)
  })
})
