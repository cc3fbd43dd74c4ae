import {createPublicKey, generateKeyPairSync} from 'node:crypto'

import {SignJWT, exportJWK, jwtVerify} from 'jose'
import {describe, expect, it} from 'vitest'

import {signIdToken} from '../../src/core/id-token.js'
import {signJwtRs256} from '../../src/core/jws.js'
import {keyId, publicJwks, type SigningKeys} from '../../src/core/keys.js'
import {signAccessToken} from '../../src/core/tokens.js'

const {privateKey} = generateKeyPairSync('rsa', {modulusLength: 2048})
const publicKey = createPublicKey(privateKey)
const keys: SigningKeys = {
  kid: 'kid-1',
  alg: 'RS256',
  privateKey,
  publicKeys: [{kid: 'kid-1', key: publicKey, alg: 'RS256'}],
  source: 'env',
}

// RS256 (RSASSA-PKCS1-v1_5) is deterministic: the same header, claims and key give the same bytes.
describe('signAccessToken and signIdToken: exactly the claims and header a hand-built SignJWT gives', () => {
  it('access tokens are byte-identical to jose SignJWT and verify with jose', async () => {
    const row = {
      id: '0190a0b0-0000-7000-8000-000000000001',
      clientId: 'svc',
      userId: 'alice',
      scopes: ['read', 'write'],
      audience: 'https://api.example.test',
      createdAt: 1_700_000_000_123,
      expiresAt: 1_700_003_600_000,
    }
    const claims = {role: 'admin', tenant: 42, nested: {a: [1, 'é', null]}}
    const ours = await signAccessToken('http://127.0.0.1:9000', keys, row, claims)
    const theirs = await new SignJWT({...claims, client_id: 'svc', scope: 'read write', scopes: ['read', 'write']})
      .setProtectedHeader({alg: 'RS256', typ: 'at+jwt', kid: 'kid-1'})
      .setIssuer('http://127.0.0.1:9000')
      .setSubject('alice')
      .setAudience('https://api.example.test')
      .setJti(row.id)
      .setIssuedAt(1_700_000_000)
      .setExpirationTime(1_700_003_600)
      .sign(privateKey)
    expect(ours).toBe(theirs)
    const {payload, protectedHeader} = await jwtVerify(ours, publicKey, {
      typ: 'at+jwt',
      algorithms: ['RS256'],
      currentDate: new Date(1_700_000_100_000),
    })
    expect(protectedHeader).toEqual({alg: 'RS256', typ: 'at+jwt', kid: 'kid-1'})
    expect(payload.sub).toBe('alice')
  })

  it('id tokens are byte-identical to jose SignJWT', async () => {
    const input = {
      clientId: 'web',
      userId: 'alice',
      scopes: ['openid'],
      accessToken: 'a.b.c',
      authTime: 1_700_000_000_999,
      nonce: 'n-1',
      ttl: 3_600_000,
      now: 1_700_000_001_000,
    }
    const ours = await signIdToken('http://issuer.test', keys, {users: {}, claims: {}}, input)
    const theirs = await new SignJWT({
      at_hash: 'hF4wRIgJ4ryJWOsCW_x5Ug',
      azp: 'web',
      auth_time: 1_700_000_000,
      nonce: 'n-1',
    })
      .setProtectedHeader({alg: 'RS256', typ: 'JWT', kid: 'kid-1'})
      .setIssuer('http://issuer.test')
      .setSubject('alice')
      .setAudience('web')
      .setIssuedAt(1_700_000_001)
      .setExpirationTime(1_700_003_601)
      .sign(privateKey)
    expect(ours).toBe(theirs)
  })

  it("refuses RSA keys under 2048 bits with jose's message", async () => {
    const small = generateKeyPairSync('rsa', {modulusLength: 1024}).privateKey
    await expect(signJwtRs256({typ: 'JWT', kid: 'k'}, {}, small)).rejects.toThrow(
      'RS256 requires key modulusLength to be 2048 bits or larger',
    )
    await expect(new SignJWT({}).setProtectedHeader({alg: 'RS256'}).sign(small)).rejects.toThrow(
      'RS256 requires key modulusLength to be 2048 bits or larger',
    )
  })
})

describe('key ids and the JWK Set', () => {
  it("keyId is the RFC 7638 thumbprint (the RFC's own example, §3.1)", async () => {
    const jwk = {
      kty: 'RSA',
      e: 'AQAB',
      n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
    }
    expect(await keyId(createPublicKey({key: jwk, format: 'jwk'}))).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs')
  })

  it('publicJwks publishes what jose exports', async () => {
    const {kty, n, e} = await exportJWK(publicKey)
    expect(await publicJwks(keys)).toEqual({keys: [{kty, n, e, kid: 'kid-1', use: 'sig', alg: 'RS256'}]})
  })
})
