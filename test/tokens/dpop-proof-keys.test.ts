import {generateKeyPairSync, type KeyObject} from 'node:crypto'

import {calculateJwkThumbprint, type JWK, SignJWT} from 'jose'
import {describe, expect, it} from 'vitest'

import {verifyDpopProof} from '../../src/core/dpop.js'
import {DPOP_REPLAY_LIMITS, ReplayCache} from '../../src/core/replay-cache.js'

// verifyDpopProof keeps imported proof keys (and their thumbprints) by the jwk header as sent:
// a remembered key must change no outcome.

const URL_ = 'http://127.0.0.1:9000/oauth/token'
const NOW = Date.UTC(2026, 11, 6, 12)

function pair(): {privateKey: KeyObject; jwk: JWK} {
  const {privateKey, publicKey} = generateKeyPairSync('ec', {namedCurve: 'P-256'})
  const {kty, crv, x, y} = publicKey.export({format: 'jwk'}) as {kty: string; crv: string; x: string; y: string}
  return {privateKey, jwk: {kty, crv, x, y}}
}

let counter = 0
function proof(signer: KeyObject, jwk: JWK, claims: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({htm: 'POST', htu: URL_, iat: NOW / 1000, jti: `jti-${counter++}`, ...claims})
    .setProtectedHeader({typ: 'dpop+jwt', alg: 'ES256', jwk})
    .sign(signer)
}

const expected = (replay: ReplayCache) => ({method: 'POST', url: URL_, now: NOW, replay, client: 'c'})

describe('DPoP proof keys remembered between proofs', () => {
  it('every proof made with one key verifies with its thumbprint; a replayed jti is still refused', async () => {
    const replay = new ReplayCache(DPOP_REPLAY_LIMITS, 'evict')
    const {privateKey, jwk} = pair()
    const jkt = await calculateJwkThumbprint(jwk, 'sha256')
    for (let i = 0; i < 3; i++)
      expect((await verifyDpopProof(await proof(privateKey, jwk), expected(replay))).jkt).toBe(jkt)
    const once = await proof(privateKey, jwk, {jti: 'only-once'})
    await verifyDpopProof(once, expected(replay))
    await expect(verifyDpopProof(once, expected(replay))).rejects.toMatchObject({
      code: 'invalid_dpop_proof',
      message: 'The DPoP proof was already used (its jti was seen before); make a new proof for every request.',
    })
  })

  it('a remembered jwk does not make a proof signed by another key verify', async () => {
    const replay = new ReplayCache(DPOP_REPLAY_LIMITS, 'evict')
    const {privateKey, jwk} = pair()
    await verifyDpopProof(await proof(privateKey, jwk), expected(replay))
    const other = pair()
    await expect(verifyDpopProof(await proof(other.privateKey, jwk), expected(replay))).rejects.toMatchObject({
      code: 'invalid_dpop_proof',
      message: "The DPoP proof's signature does not verify with its jwk.",
    })
  })

  it('a jwk that is no public key is refused every time (a failed import is not remembered)', async () => {
    const replay = new ReplayCache(DPOP_REPLAY_LIMITS, 'evict')
    const {privateKey, jwk} = pair()
    const broken = {...jwk, x: 'AAAA'}
    for (let i = 0; i < 2; i++) {
      await expect(verifyDpopProof(await proof(privateKey, broken), expected(replay))).rejects.toMatchObject({
        code: 'invalid_dpop_proof',
        message: "The DPoP proof's jwk header is not a public key for ES256.",
      })
    }
  })

  it('more keys than it remembers: each still verifies, the first one again after being forgotten', async () => {
    const replay = new ReplayCache(DPOP_REPLAY_LIMITS, 'evict')
    const keys = Array.from({length: 300}, pair)
    for (const {privateKey, jwk} of keys) {
      expect((await verifyDpopProof(await proof(privateKey, jwk), expected(replay))).jkt).toBe(
        await calculateJwkThumbprint(jwk, 'sha256'),
      )
    }
    const first = keys[0]!
    expect((await verifyDpopProof(await proof(first.privateKey, first.jwk), expected(replay))).jkt).toBe(
      await calculateJwkThumbprint(first.jwk, 'sha256'),
    )
  })
})
