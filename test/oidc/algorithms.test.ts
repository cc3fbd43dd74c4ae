import {execFileSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify} from 'jose'
import * as client from 'openid-client'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {generateKeys, loadKeys, rotateKeys} from '../../src/core/keys.js'
import {verifyAccessToken} from '../../src/core/verify.js'
import {requireBearer} from '../../src/server/bearer.js'
import {basic} from '../fixtures/oauth.js'
import {passport, expectOneLineError} from '../cli/support.js'
import {tempDir} from '../helpers.js'
import {authorizationUrl, relyingParty, startOidcServer, WEB, type OidcServer} from './harness.js'

/**
 * SPEC §10.7: every signing algorithm end to end. A key of each algorithm signs the server's
 * access and id tokens; the JWKS publishes its `alg` (and `crv`), never private members;
 * discovery lists it; jose, openid-client (id token signatures checked), passport's own
 * verifyAccessToken, requireBearer and /userinfo accept the tokens.
 */

const ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'] as const
const PUBLIC_MEMBERS: Record<string, string[]> = {
  RS256: ['alg', 'e', 'kid', 'kty', 'n', 'use'],
  PS256: ['alg', 'e', 'kid', 'kty', 'n', 'use'],
  ES256: ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'],
  EdDSA: ['alg', 'crv', 'kid', 'kty', 'use', 'x'],
}
const KTY = {
  RS256: ['RSA', undefined],
  PS256: ['RSA', undefined],
  ES256: ['EC', 'P-256'],
  EdDSA: ['OKP', 'Ed25519'],
} as const

async function clientCredentials(server: OidcServer): Promise<string> {
  const res = await fetch(`${server.url}/oauth/token`, {
    method: 'POST',
    headers: {'content-type': 'application/x-www-form-urlencoded', authorization: basic('svc', 'svc-secret-123')},
    body: 'grant_type=client_credentials&scope=read',
  })
  const body = (await res.json()) as {access_token: string; token_type: string}
  expect(res.status, JSON.stringify(body)).toBe(200)
  return body.access_token
}

async function signIn(
  config: client.Configuration,
): Promise<client.TokenEndpointResponse & client.TokenEndpointResponseHelpers> {
  const login = await authorizationUrl(config, WEB.redirect, {scope: 'openid profile'})
  const res = await fetch(login.url, {redirect: 'manual'})
  expect(res.status).toBe(302)
  return client.authorizationCodeGrant(config, new URL(res.headers.get('location')!), {
    pkceCodeVerifier: login.verifier,
    expectedNonce: login.nonce,
    expectedState: login.state,
    idTokenExpected: true,
  })
}

describe.each(ALGORITHMS)('a %s signing key, end to end', (alg) => {
  let server: OidcServer
  let cleanup: () => void
  let keyPath: string
  beforeAll(async () => {
    const dir = tempDir('passport-alg-')
    cleanup = dir.cleanup
    keyPath = join(dir.dir, 'keys')
    await generateKeys(keyPath, {alg})
    server = await startOidcServer({keyPath, loginAs: 'alice', autoApprove: true})
  })
  afterAll(async () => {
    await server.close()
    cleanup()
  })

  it('checklist 139: the JWKS publishes the key with its alg (and crv), no private member; discovery lists the alg', async () => {
    const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet
    expect(jwks.keys).toHaveLength(1)
    const [key] = jwks.keys
    expect(Object.keys(key!).sort()).toEqual(PUBLIC_MEMBERS[alg])
    expect(key).toMatchObject({alg, use: 'sig', kty: KTY[alg][0]})
    expect(key!.crv).toBe(KTY[alg][1])
    const meta = (await (await fetch(`${server.url}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >
    expect(meta.id_token_signing_alg_values_supported).toEqual([alg])
  })

  it('access tokens: signed with the key, verified by jose, verifyAccessToken, requireBearer', async () => {
    const token = await clientCredentials(server)
    const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet
    expect(decodeProtectedHeader(token)).toEqual({alg, typ: 'at+jwt', kid: jwks.keys[0]!.kid})
    const remote = createRemoteJWKSet(new URL(`${server.url}/.well-known/jwks.json`))
    const {payload} = await jwtVerify(token, remote, {issuer: server.issuer, typ: 'at+jwt', algorithms: [alg]})
    expect(payload).toMatchObject({sub: 'svc', client_id: 'svc', scope: 'read'})
    const verified = await verifyAccessToken(token, {issuer: server.issuer, jwks, scopes: ['read']})
    expect(verified.clientId).toBe('svc')
    // The library's guard, fed the JWKS URL, on a plain node:http request.
    const guard = requireBearer({
      issuer: server.issuer,
      jwks: `${server.url}/.well-known/jwks.json`,
      audience: 'svc',
      scopes: ['read'],
    })
    const answer = await callGuard(guard, `Bearer ${token}`)
    expect(answer).toEqual({status: 200, sub: 'svc'})
  })

  it('id tokens verify in openid-client (signature checked), and /userinfo takes the access token', async () => {
    const web = await relyingParty(server, WEB.id, WEB.secret)
    const tokens = await signIn(web)
    expect(decodeProtectedHeader(tokens.id_token!).alg).toBe(alg)
    expect(decodeProtectedHeader(tokens.access_token).alg).toBe(alg)
    expect(tokens.claims()).toMatchObject({sub: 'alice', aud: 'web', iss: server.issuer})
    const info = await client.fetchUserInfo(web, tokens.access_token, 'alice')
    expect(info).toMatchObject({sub: 'alice', name: 'Alice Example'})
    // And with jose directly against the published keys.
    const jwks = createLocalJWKSet((await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet)
    await expect(
      jwtVerify(tokens.id_token!, jwks, {issuer: server.issuer, audience: 'web', algorithms: [alg]}),
    ).resolves.toBeDefined()
    // PyJWT, when a Python with it is installed (Debian: apt-get install python3-jwt).
    if (PYTHON) {
      const published = await (await fetch(`${server.url}/.well-known/jwks.json`)).text()
      const out = execFileSync(PYTHON, ['-c', PYJWT_VERIFY, server.issuer, 'web'], {
        input: JSON.stringify({jwks: JSON.parse(published), token: tokens.id_token}),
        encoding: 'utf8',
      })
      expect(JSON.parse(out)).toMatchObject({alg, sub: 'alice', aud: 'web'})
    }
  })
})

/** Verifies an id token with PyJWT against the JWKS (stdin: {jwks, token}); prints {alg, sub, aud}. */
const PYJWT_VERIFY = `
import json, sys, jwt
data = json.load(sys.stdin)
header = jwt.get_unverified_header(data["token"])
key = next(k for k in data["jwks"]["keys"] if k["kid"] == header["kid"])
claims = jwt.decode(data["token"], jwt.PyJWK(key).key, algorithms=[key["alg"]], audience=sys.argv[2], issuer=sys.argv[1])
print(json.dumps({"alg": header["alg"], "sub": claims["sub"], "aud": claims["aud"]}))
`

/** A python3 that has PyJWT (and cryptography, for EC and Ed25519 keys), or undefined. */
const PYTHON = ['python3', '/usr/bin/python3'].find((python) => {
  try {
    execFileSync(python, ['-c', 'import jwt, cryptography'], {stdio: 'ignore'})
    return true
  } catch {
    return false
  }
})

describe('rotation from RS256 to ES256 (and on to EdDSA)', () => {
  let server: OidcServer
  let cleanup: () => void
  let keyPath: string
  beforeAll(async () => {
    const dir = tempDir('passport-alg-rotate-')
    cleanup = dir.cleanup
    keyPath = join(dir.dir, 'keys')
    await generateKeys(keyPath)
    server = await startOidcServer({keyPath, loginAs: 'alice', autoApprove: true})
  })
  afterAll(async () => {
    await server.close()
    cleanup()
  })

  /**
   * The JWKS right after a rotation: the handle's `keys.reload()` has the server read the key
   * files at once (on its own it notices them on the first use a second later, which
   * test/security/metadata-keys.test.ts checks), so nothing here waits.
   */
  async function publishedKeys(): Promise<JSONWebKeySet> {
    server.reloadKeys()
    return (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet
  }

  it('checklist 140: old RS256 tokens keep verifying; new tokens are ES256; discovery lists both, the active first', async () => {
    const web = await relyingParty(server, WEB.id, WEB.secret)
    const before = await signIn(web)
    const oldToken = await clientCredentials(server)
    expect(decodeProtectedHeader(oldToken).alg).toBe('RS256')

    await rotateKeys(keyPath, Date.now() + 86_400_000, {alg: 'ES256'})
    const jwks = await publishedKeys()
    expect(jwks.keys).toHaveLength(2)
    expect(jwks.keys.map((k) => k.alg)).toEqual(['ES256', 'RS256'])
    const meta = (await (await fetch(`${server.url}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >
    expect(meta.id_token_signing_alg_values_supported).toEqual(['ES256', 'RS256'])

    const newToken = await clientCredentials(server)
    expect(decodeProtectedHeader(newToken).alg).toBe('ES256')
    const local = createLocalJWKSet(jwks)
    for (const token of [oldToken, newToken, before.access_token]) {
      await expect(jwtVerify(token, local, {issuer: server.issuer, typ: 'at+jwt'})).resolves.toBeDefined()
      await expect(verifyAccessToken(token, {issuer: server.issuer, jwks})).resolves.toBeDefined()
    }
    await expect(jwtVerify(before.id_token!, local, {issuer: server.issuer, audience: 'web'})).resolves.toBeDefined()
    // The old access token still opens /userinfo (server-side verification with both keys).
    expect(await client.fetchUserInfo(web, before.access_token, 'alice')).toMatchObject({sub: 'alice'})
    // A fresh openid-client configuration (new discovery) signs in with the ES256 key.
    const after = await signIn(await relyingParty(server, WEB.id, WEB.secret))
    expect(decodeProtectedHeader(after.id_token!).alg).toBe('ES256')

    await rotateKeys(keyPath, Date.now() + 86_400_000, {alg: 'EdDSA'})
    const three = await publishedKeys()
    expect(three.keys).toHaveLength(3)
    expect(three.keys.map((k) => k.alg)).toEqual(['EdDSA', 'ES256', 'RS256'])
    await expect(verifyAccessToken(oldToken, {issuer: server.issuer, jwks: three})).resolves.toBeDefined()
    await expect(verifyAccessToken(newToken, {issuer: server.issuer, jwks: three})).resolves.toBeDefined()
  })

  it('checklist 139: a token whose header names another alg than its key is published for is refused', async () => {
    const keys = await loadKeys({directory: keyPath})
    const rsa = keys.publicKeys.find((k) => k.alg === 'RS256')!
    // The RS256 key's kid with a PS256 header: refused before any signature check.
    const [, payload, signature] = (await clientCredentials(server)).split('.')
    const header = Buffer.from(JSON.stringify({alg: 'PS256', typ: 'at+jwt', kid: rsa.kid})).toString('base64url')
    await expect(
      verifyAccessToken(`${header}.${payload}.${signature}`, {issuer: server.issuer, publicKey: keys.publicKeys}),
    ).rejects.toThrow(
      `The token's alg is not the one its key is published for (the key ${rsa.kid} signs RS256, not PS256).`,
    )
  })
})

describe('the CLI: passport keys --alg, token, token:verify, keys:rotate --alg', () => {
  let dir: string
  let cleanup: () => void
  beforeAll(() => ({dir, cleanup} = tempDir('passport-alg-cli-')))
  afterAll(() => cleanup())

  const run = async (args: string[]) => {
    const result = await passport(dir, args)
    expect(result.code, result.stderr).toBe(0)
    return result.stdout
  }

  it('mints and verifies with an ES256 key, rotates to EdDSA, and the ES256 token still verifies', async () => {
    const created = JSON.parse(await run(['keys', '--alg', 'ES256', '--json'])) as {alg: string; bits: number | null}
    expect(created).toMatchObject({alg: 'ES256', bits: null})
    const token = (await run(['token', '--user', 'alice'])).trim()
    expect(decodeProtectedHeader(token).alg).toBe('ES256')
    expect(JSON.parse(await run(['token:verify', token, '--json']))).toMatchObject({active: true})
    const rotated = JSON.parse(await run(['keys:rotate', '--alg', 'EdDSA', '--json'])) as Record<string, string>
    expect(rotated).toMatchObject({alg: 'EdDSA', retired_alg: 'ES256'})
    const jwks = JSON.parse(await run(['keys:jwks'])) as JSONWebKeySet
    expect(jwks.keys.map((k) => [k.alg, k.crv])).toEqual([
      ['EdDSA', 'Ed25519'],
      ['ES256', 'P-256'],
    ])
    const next = (await run(['token', '--user', 'alice'])).trim()
    expect(decodeProtectedHeader(next).alg).toBe('EdDSA')
    expect(JSON.parse(await run(['token:verify', token, '--json']))).toMatchObject({active: true})
    expect(JSON.parse(await run(['token:verify', next, '--json']))).toMatchObject({active: true})
  }, 120_000)

  it('--bits is for RSA keys only (a usage error), and an unknown --alg is refused', async () => {
    const bits = await passport(dir, ['keys', '--force', '--alg', 'ES256', '--bits', '3072'])
    expectOneLineError(bits, 2, /--bits applies to RSA keys \(RS256, PS256\) only; ES256 keys have a fixed size\./)
    const unknown = await passport(dir, ['keys', '--force', '--alg', 'HS256'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('HS256')
  }, 60_000)
})

/** Runs a guard on a real node:http server and reports what the handler saw. */
async function callGuard(
  guard: ReturnType<typeof requireBearer>,
  authorization: string,
): Promise<{status: number; sub?: string}> {
  const {createServer} = await import('node:http')
  const http = createServer((req, res) => {
    void guard(req, res).then((verified) => {
      if (!verified) return
      res.writeHead(200, {'content-type': 'application/json'})
      res.end(JSON.stringify({sub: verified.claims.sub}))
    })
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  try {
    const {port} = http.address() as {port: number}
    const res = await fetch(`http://127.0.0.1:${port}/`, {headers: {authorization}})
    const body = (await res.json()) as {sub?: string}
    return res.status === 200 ? {status: 200, sub: body.sub!} : {status: res.status}
  } finally {
    http.close()
  }
}

describe('keys from the environment (PASSPORT_PRIVATE_KEY / PASSPORT_PUBLIC_KEY)', () => {
  it('an RSA pair signs RS256 unless PASSPORT_KEY_ALG=PS256; an EC pair implies ES256 and refuses another alg', async () => {
    const {dir, cleanup} = tempDir('passport-alg-env-')
    try {
      const rsa = await generateKeys(join(dir, 'rsa'))
      const ec = await generateKeys(join(dir, 'ec'), {alg: 'ES256'})
      const pems = (g: {privateKeyPath: string; publicKeyPath: string}) => ({
        privateKeyPem: readFileSync(g.privateKeyPath, 'utf8'),
        publicKeyPem: readFileSync(g.publicKeyPath, 'utf8'),
      })
      expect((await loadKeys({directory: dir, ...pems(rsa)})).alg).toBe('RS256')
      expect((await loadKeys({directory: dir, ...pems(rsa), algorithm: 'PS256'})).alg).toBe('PS256')
      expect((await loadKeys({directory: dir, ...pems(ec)})).alg).toBe('ES256')
      await expect(loadKeys({directory: dir, ...pems(ec), algorithm: 'PS256'})).rejects.toThrow(
        'PASSPORT_KEY_ALG: "PS256" is not an algorithm for this ec key (use ES256).',
      )
    } finally {
      cleanup()
    }
  })
})
