import {randomUUID} from 'node:crypto'
import {dirname, join} from 'node:path'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

import {base64url, decodeJwt, exportJWK, exportSPKI, generateKeyPair, type CryptoKey, SignJWT} from 'jose'
import * as oauth from 'oauth4webapi'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {runCli, writeJson} from '../helpers.js'
import {post, read} from '../fixtures/http.js'
import {basic} from '../fixtures/oauth.js'
import {startTestServer, type TestServer} from '../server/harness.js'

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
type Pair = {privateKey: CryptoKey; publicKey: CryptoKey; alg: string; kid: string}

let server: TestServer
let jwksServer: Server
let jwksOrigin: string
const pairs: Record<string, Pair> = {}
let publicJwks: {keys: Record<string, unknown>[]}

beforeAll(async () => {
  for (const alg of ['RS256', 'PS256', 'ES256', 'EdDSA']) {
    const {privateKey, publicKey} = await generateKeyPair(alg, {
      ...(alg === 'EdDSA' ? {crv: 'Ed25519'} : {}),
      extractable: true,
    })
    pairs[alg] = {privateKey, publicKey, alg, kid: `key-${alg}`}
  }
  publicJwks = {
    keys: await Promise.all(
      Object.values(pairs).map(async (p) => ({...(await exportJWK(p.publicKey)), kid: p.kid, alg: p.alg, use: 'sig'})),
    ),
  }
  jwksServer = createServer((req, res) => {
    if (req.url === '/jwks')
      return void res
        .writeHead(200, {'content-type': 'application/json'})
        .end(JSON.stringify({keys: publicJwks.keys.slice(0, 1)}))
    if (req.url === '/redirect') return void res.writeHead(302, {location: '/jwks'}).end()
    if (req.url === '/big')
      return void res
        .writeHead(200, {'content-type': 'application/json'})
        .end(JSON.stringify({keys: [], pad: 'x'.repeat(70_000)}))
    if (req.url === '/html') return void res.writeHead(200, {'content-type': 'text/html'}).end('<html>keys</html>')
    res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve))
  jwksOrigin = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}`
  const machine = {grants: ['client_credentials'], scopes: ['read']}
  server = await startTestServer({
    config: {
      clients: [
        {id: 'web', name: 'Web app', secret: 'web-secret-long', redirectUris: ['http://localhost:3000/callback']},
        {id: 'signer', name: 'Signer', jwks: publicJwks, ...machine},
        {
          id: 'signer-web',
          name: 'Signer web',
          jwks: publicJwks,
          redirectUris: ['http://localhost:3000/callback'],
          grants: ['authorization_code', 'refresh_token'],
          scopes: ['read'],
        },
        {id: 'remote', name: 'Remote keys', jwksUri: `${jwksOrigin}/jwks`, ...machine},
        {id: 'redirecting', name: 'Redirecting keys', jwksUri: `${jwksOrigin}/redirect`, ...machine},
        {id: 'big', name: 'Big keys', jwksUri: `${jwksOrigin}/big`, ...machine},
        {id: 'html', name: 'HTML keys', jwksUri: `${jwksOrigin}/html`, ...machine},
      ],
    },
  })
})
afterAll(async () => {
  await server.close()
  await new Promise<void>((resolve) => jwksServer.close(() => resolve()))
})

async function assertion(
  options: {
    alg?: string
    key?: CryptoKey | Uint8Array
    kid?: string
    iss?: string
    sub?: string
    aud?: string | string[]
    exp?: number
    jti?: string | null
    header?: Record<string, unknown>
  } = {},
): Promise<string> {
  const alg = options.alg ?? 'RS256'
  const now = Math.floor(Date.now() / 1000)
  const kid = options.kid ?? pairs[alg]?.kid
  const jwt = new SignJWT(options.jti === null ? {} : {jti: options.jti ?? randomUUID()})
    .setProtectedHeader({alg, ...(kid === undefined ? {} : {kid}), ...options.header})
    .setIssuer(options.iss ?? 'signer')
    .setSubject(options.sub ?? 'signer')
    .setAudience(options.aud ?? server.issuer)
    .setIssuedAt(now)
    .setExpirationTime(options.exp ?? now + 60)
  return jwt.sign(options.key ?? pairs[alg]!.privateKey)
}

const tokenRequest = (clientAssertion: string, extra: Record<string, string> = {}) =>
  post(server.token, {
    grant_type: 'client_credentials',
    scope: 'read',
    client_assertion_type: ASSERTION_TYPE,
    client_assertion: clientAssertion,
    ...extra,
  })

async function expectInvalidClient(
  clientAssertion: string,
  description: string | RegExp,
  extra: Record<string, string> = {},
): Promise<void> {
  const reply = await tokenRequest(clientAssertion, extra)
  expect(reply.status).toBe(401)
  expect(reply.json.error).toBe('invalid_client')
  expect(reply.headers.get('www-authenticate')).toBe('Basic realm="passport"')
  if (typeof description === 'string') expect(reply.json.error_description).toBe(description)
  else expect(reply.json.error_description).toMatch(description)
}

describe('private_key_jwt (RFC 7523 §2.2, SPEC §10.6)', () => {
  it('discovery lists private_key_jwt and the signing algorithms', async () => {
    const meta = (await read(await fetch(`${server.url}/.well-known/oauth-authorization-server`))).json
    expect(meta.token_endpoint_auth_methods_supported).toContain('private_key_jwt')
    expect(meta.token_endpoint_auth_signing_alg_values_supported).toEqual([
      'RS256',
      'PS256',
      'ES256',
      'EdDSA',
      'Ed25519',
    ])
  })

  it('RS256, PS256, ES256 and EdDSA assertions authenticate; aud may be the issuer, the token or the PAR endpoint URL', async () => {
    for (const alg of ['RS256', 'PS256', 'ES256', 'EdDSA']) {
      const reply = await tokenRequest(await assertion({alg}))
      expect([alg, reply.status]).toEqual([alg, 200])
      expect(decodeJwt(reply.json.access_token as string)).toMatchObject({
        sub: 'signer',
        client_id: 'signer',
        scope: 'read',
      })
    }
    // RFC 9864's fully-specified name for EdDSA over Ed25519, with the key published as EdDSA.
    expect(
      (await tokenRequest(await assertion({alg: 'Ed25519', key: pairs.EdDSA!.privateKey, kid: pairs.EdDSA!.kid})))
        .status,
    ).toBe(200)
    for (const aud of [server.token, `${server.url}/oauth/par`, [server.issuer, 'https://elsewhere.test']]) {
      expect((await tokenRequest(await assertion({aud}))).status).toBe(200)
    }
    // client_id in the body, when sent, must be the assertion's.
    expect((await tokenRequest(await assertion(), {client_id: 'signer'})).status).toBe(200)
  })

  it('keys from a jwks_uri (http on loopback), fetched and cached', async () => {
    const reply = await tokenRequest(await assertion({iss: 'remote', sub: 'remote'}))
    expect([reply.status, decodeJwt(reply.json.access_token as string).sub]).toEqual([200, 'remote'])
    expect((await tokenRequest(await assertion({iss: 'remote', sub: 'remote'}))).status).toBe(200)
  })

  it('checklist 102: a wrong key, a wrong aud, an expired assertion, a replayed jti → invalid_client, each with its own description', async () => {
    const stranger = await generateKeyPair('RS256')
    await expectInvalidClient(
      await assertion({key: stranger.privateKey}),
      'Client assertion: the signature does not verify with the keys registered for client signer.',
    )
    await expectInvalidClient(
      await assertion({aud: 'https://other-authority.test'}),
      `Client assertion: aud must name this authorization server (${server.issuer} or ${server.token} or ${server.url}/oauth/par).`,
    )
    await expectInvalidClient(
      await assertion({exp: Math.floor(Date.now() / 1000) - 120}),
      'Client assertion: the JWT has expired (exp is in the past).',
    )
    const once = await assertion()
    expect((await tokenRequest(once)).status).toBe(200)
    await expectInvalidClient(
      once,
      'Client assertion: this jti was already used; every assertion must carry a new jti (replay refused).',
    )
  })

  it('checklist 103: alg none and HS256 signed with the public key → invalid_client', async () => {
    const now = Math.floor(Date.now() / 1000)
    const claims = base64url.encode(
      JSON.stringify({iss: 'signer', sub: 'signer', aud: server.issuer, jti: randomUUID(), iat: now, exp: now + 60}),
    )
    await expectInvalidClient(
      `${base64url.encode(JSON.stringify({alg: 'none'}))}.${claims}.`,
      'Client assertion: alg none is refused; sign the assertion with RS256, PS256, ES256 or EdDSA.',
    )
    const pem = new TextEncoder().encode(await exportSPKI(pairs.RS256!.publicKey))
    await expectInvalidClient(
      await assertion({alg: 'HS256', key: pem, kid: pairs.RS256!.kid}),
      'Client assertion: HS256 (a shared-secret MAC) is refused for private_key_jwt; sign with the private key (RS256, PS256, ES256 or EdDSA).',
    )
    const jwkSecret = new TextEncoder().encode(JSON.stringify(publicJwks.keys[0]))
    await expectInvalidClient(
      await assertion({alg: 'HS512', key: jwkSecret, kid: pairs.RS256!.kid}),
      /HS512 \(a shared-secret MAC\) is refused/,
    )
  })

  it('checklist 104: exp more than 10 minutes ahead, iss or sub not the client, no jti, a different client_id, two methods → refused', async () => {
    const now = Math.floor(Date.now() / 1000)
    await expectInvalidClient(
      await assertion({exp: now + 3600}),
      /^Client assertion: exp is 3\d{3} seconds ahead; an assertion may live at most 600 seconds\.$/,
    )
    await expectInvalidClient(await assertion({iss: 'someone'}), 'Client assertion: iss must be the client id signer.')
    await expectInvalidClient(
      await assertion({sub: 'web', iss: 'web'}),
      'Client assertion: client web has no keys registered (jwks or jwks_uri) to verify a private_key_jwt assertion with.',
    )
    await expectInvalidClient(await assertion({jti: null}), 'Client assertion: the JWT has no jti.')
    await expectInvalidClient(
      await assertion(),
      "Client assertion: client_id remote differs from the assertion's sub.",
      {client_id: 'remote'},
    )
    await expectInvalidClient(await assertion({sub: 'nobody', iss: 'nobody'}), /^Client authentication failed/)
    await expectInvalidClient('not-a-jwt', 'Client assertion: client_assertion is not a well-formed JWT.')
    const both = await post(
      server.token,
      {grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: await assertion()},
      {auth: basic('signer', 'x')},
    )
    expect([both.status, both.json.error]).toEqual([400, 'invalid_request'])
    const wrongType = await tokenRequest(await assertion(), {client_assertion_type: 'urn:other'})
    expect([wrongType.status, wrongType.json.error_description]).toEqual([
      401,
      `client_assertion_type must be ${ASSERTION_TYPE}.`,
    ])
    const noAssertion = await post(server.token, {grant_type: 'client_credentials', client_id: 'signer'})
    expect([noAssertion.status, noAssertion.json.error_description]).toEqual([
      401,
      `Client signer authenticates with private_key_jwt: send client_assertion_type=${ASSERTION_TYPE} and a signed client_assertion.`,
    ])
  })

  it('checklist 105: a jwks_uri that redirects, returns over 64 KB or is not JSON → invalid_client naming the check', async () => {
    const as = (id: string) => assertion({iss: id, sub: id})
    await expectInvalidClient(
      await as('redirecting'),
      `Client assertion: the jwks_uri at ${jwksOrigin}/redirect answered with a redirect (302); redirects are not followed, serve it at that URL itself.`,
    )
    await expectInvalidClient(
      await as('big'),
      `Client assertion: the jwks_uri at ${jwksOrigin}/big is larger than 65536 bytes.`,
    )
    await expectInvalidClient(
      await as('html'),
      `Client assertion: the jwks_uri at ${jwksOrigin}/html did not return JSON.`,
    )
  })

  it('the same function authenticates at PAR and revocation: a pushed request and a revocation signed by the client', async () => {
    const signed = (aud: string) => assertion({iss: 'signer-web', sub: 'signer-web', aud})
    const par = await post(`${server.url}/oauth/par`, {
      response_type: 'code',
      redirect_uri: 'http://localhost:3000/callback',
      scope: 'read',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await signed(`${server.url}/oauth/par`),
    })
    expect([par.status, par.json.expires_in]).toEqual([201, 60])
    const unsigned = await post(`${server.url}/oauth/par`, {
      response_type: 'code',
      redirect_uri: 'http://localhost:3000/callback',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: 'x.y.z',
    })
    expect([unsigned.status, unsigned.json.error]).toEqual([401, 'invalid_client'])
    const token = (await tokenRequest(await assertion())).json.access_token as string
    const revoked = await post(`${server.url}/oauth/revoke`, {
      token,
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await assertion(),
    })
    expect(revoked.status).toBe(200)
    expect(
      server.row<{revoked_at: number | null}>(
        'SELECT revoked_at FROM oauth_access_tokens WHERE id = ?',
        decodeJwt(token).jti,
      )!.revoked_at,
    ).not.toBeNull()
  })

  it('oauth4webapi PrivateKeyJwt: client credentials and introspection', async () => {
    const as = await oauth.processDiscoveryResponse(
      new URL(server.issuer),
      await oauth.discoveryRequest(new URL(server.issuer), {algorithm: 'oauth2', [oauth.allowInsecureRequests]: true}),
    )
    const client: oauth.Client = {client_id: 'signer', token_endpoint_auth_method: 'private_key_jwt'}
    for (const alg of ['RS256', 'ES256', 'EdDSA']) {
      const auth = oauth.PrivateKeyJwt({key: pairs[alg]!.privateKey, kid: pairs[alg]!.kid})
      const response = await oauth.clientCredentialsGrantRequest(
        as,
        client,
        auth,
        {scope: 'read'},
        {[oauth.allowInsecureRequests]: true},
      )
      if (response.status !== 200) throw new Error(`${alg}: ${response.status} ${await response.clone().text()}`)
      const tokens = await oauth.processClientCredentialsResponse(as, client, response)
      expect(tokens.token_type.toLowerCase()).toBe('bearer')
      const introspection = await oauth.introspectionRequest(as, client, auth, tokens.access_token, {
        [oauth.allowInsecureRequests]: true,
      })
      const answer = await oauth.processIntrospectionResponse(as, client, introspection)
      expect(answer).toMatchObject({active: true, client_id: 'signer', sub: 'signer'})
    }
  })
})

describe('registering keys: passport client --jwks / --jwks-uri and the config', () => {
  it('checklist 106: passport client --client-credentials --jwks FILE makes a keyed client without a secret that the running server accepts', async () => {
    const dir = dirname(server.dbPath)
    const file = join(dir, 'cli-jwks.json')
    writeJson(file, {keys: [publicJwks.keys[2]]})
    const created = await runCli(
      [
        'client',
        'CLI signer',
        '--client-credentials',
        '--id',
        'cli-signer',
        '--scope',
        'read',
        '--jwks',
        file,
        '--database',
        server.dbPath,
        '--json',
      ],
      {cwd: dir},
    )
    expect(created.code).toBe(0)
    const view = JSON.parse(created.stdout) as Record<string, unknown>
    expect(view.client_id).toBe('cli-signer')
    expect(view.client_secret).toBeUndefined()
    const reply = await tokenRequest(await assertion({alg: 'ES256', iss: 'cli-signer', sub: 'cli-signer'}))
    expect([reply.status, decodeJwt(reply.json.access_token as string).sub]).toEqual([200, 'cli-signer'])
    const privateJwk = await exportJWK(pairs.ES256!.privateKey)
    writeJson(file, {keys: [privateJwk]})
    const refused = await runCli(
      ['client', 'Leaky', '--client-credentials', '--jwks', file, '--database', server.dbPath],
      {cwd: dir},
    )
    expect([refused.code, refused.stderr.trim()]).toEqual([
      1,
      'Error: --jwks must hold a JWK Set of public keys only (keys[0] holds the private member "d").',
    ])
    const insecure = await runCli(
      [
        'client',
        'Far',
        '--client-credentials',
        '--jwks-uri',
        'http://keys.example.test/jwks',
        '--database',
        server.dbPath,
      ],
      {cwd: dir},
    )
    expect([insecure.code, insecure.stderr.trim()]).toEqual([
      1,
      'Error: --jwks-uri http://keys.example.test/jwks cannot be used: plain http is allowed only on loopback hosts (127.0.0.1, [::1], localhost); use https.',
    ])
  })

  it('checklist 106: a config client with private key members, both jwks and jwksUri, or a secret as well is refused naming the key', async () => {
    const dir = dirname(server.dbPath)
    const cases: Array<[Record<string, unknown>, string]> = [
      [{jwks: {keys: [await exportJWK(pairs.ES256!.privateKey)]}}, 'clients[0].jwks'],
      [{jwks: publicJwks, jwksUri: `${jwksOrigin}/jwks`}, 'clients[0].jwksUri'],
      [{jwks: publicJwks, secret: 'a-secret-123'}, 'clients[0].secret'],
      [{jwksUri: 'ftp://x/keys'}, 'clients[0].jwksUri'],
    ]
    for (const [extra, key] of cases) {
      const config = join(dir, 'bad.config.json')
      writeJson(config, {clients: [{id: 'k', name: 'K', grants: ['client_credentials'], ...extra}]})
      const result = await runCli(['client:list', '--config', config, '--database', join(dir, 'other.sqlite')], {
        cwd: dir,
      })
      expect(result.code).toBe(1)
      expect(result.stderr).toContain(key)
    }
  })
})
