import {generateKeyPairSync, type KeyObject} from 'node:crypto'

import {calculateJwkThumbprint, type JSONWebKeySet, type JWK, SignJWT} from 'jose'
import {describe, expect, it} from 'vitest'

import {verifyAccessToken} from '../../src/core/verify.js'

// verifyAccessToken given a JWK Set reuses one local key set per JWK Set text (jose imports the
// keys once per set): what a call accepts or refuses must depend only on the JWK Set it is given.

const ISSUER = 'http://127.0.0.1:9000'
const RESOURCE = 'http://127.0.0.1:3000/api'

async function signer(): Promise<{privateKey: KeyObject; jwk: JWK}> {
  const {privateKey, publicKey} = generateKeyPairSync('ec', {namedCurve: 'P-256'})
  const jwk = {...(publicKey.export({format: 'jwk'}) as JWK), alg: 'ES256', use: 'sig'}
  jwk.kid = await calculateJwkThumbprint(jwk)
  return {privateKey, jwk}
}

function token(privateKey: KeyObject, kid: string): Promise<string> {
  return new SignJWT({client_id: 'app', scope: 'read', scopes: ['read']})
    .setProtectedHeader({alg: 'ES256', typ: 'at+jwt', kid})
    .setIssuer(ISSUER)
    .setSubject('alice')
    .setAudience(RESOURCE)
    .setJti(crypto.randomUUID())
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(privateKey)
}

describe('verifyAccessToken with a JWK Set', () => {
  it('verifies call after call with the same set, and refuses a key the set does not hold', async () => {
    const a = await signer()
    const b = await signer()
    const set: JSONWebKeySet = {keys: [a.jwk]}
    for (let i = 0; i < 3; i++)
      expect(
        (
          await verifyAccessToken(await token(a.privateKey, a.jwk.kid!), {
            issuer: ISSUER,
            jwks: set,
            resource: RESOURCE,
          })
        ).claims.sub,
      ).toBe('alice')
    await expect(
      verifyAccessToken(await token(b.privateKey, b.jwk.kid!), {issuer: ISSUER, jwks: set, resource: RESOURCE}),
    ).rejects.toMatchObject({
      reason: 'unknown_key',
      message: 'The token is signed by a key this authority does not publish (unknown kid).',
    })
  })

  it('a set changed in place (a rotation) is read afresh: the new key verifies, the removed one no longer does', async () => {
    const a = await signer()
    const b = await signer()
    const set: JSONWebKeySet = {keys: [a.jwk]}
    await verifyAccessToken(await token(a.privateKey, a.jwk.kid!), {issuer: ISSUER, jwks: set, resource: RESOURCE})
    set.keys = [b.jwk]
    expect(
      (await verifyAccessToken(await token(b.privateKey, b.jwk.kid!), {issuer: ISSUER, jwks: set, resource: RESOURCE}))
        .claims.sub,
    ).toBe('alice')
    await expect(
      verifyAccessToken(await token(a.privateKey, a.jwk.kid!), {issuer: ISSUER, jwks: set, resource: RESOURCE}),
    ).rejects.toMatchObject({reason: 'unknown_key'})
  })

  it('a key published for another algorithm is refused whether or not its set was used before', async () => {
    const a = await signer()
    const wrongAlg: JSONWebKeySet = {keys: [{...a.jwk, alg: 'EdDSA'}]}
    for (let i = 0; i < 2; i++) {
      await expect(
        verifyAccessToken(await token(a.privateKey, a.jwk.kid!), {issuer: ISSUER, jwks: wrongAlg, resource: RESOURCE}),
      ).rejects.toBeInstanceOf(Error)
    }
  })

  it('more sets than it keeps: each still verifies its own tokens', async () => {
    const signers = await Promise.all(Array.from({length: 20}, signer))
    for (const s of [...signers, signers[0]!]) {
      expect(
        (
          await verifyAccessToken(await token(s.privateKey, s.jwk.kid!), {
            issuer: ISSUER,
            jwks: {keys: [s.jwk]},
            resource: RESOURCE,
          })
        ).claims.sub,
      ).toBe('alice')
    }
  })
})
