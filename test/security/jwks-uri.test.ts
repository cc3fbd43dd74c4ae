import {randomUUID} from 'node:crypto'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'

import {exportJWK, generateKeyPair, SignJWT, type CryptoKey} from 'jose'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {Authority} from '../../src/core/authority.js'
import {jwksUriMayReachPrivateNetworks} from '../../src/core/client-keys.js'
import {parseConfig} from '../../src/core/config.js'
import {generateKeys, keyLocation} from '../../src/core/keys.js'
import {serve, type RunningServer} from '../../src/server/index.js'
import {tempDir} from '../helpers.js'

/**
 * A client's jwks_uri is fetched with the fences of a client ID metadata document
 * (core/fenced-fetch.ts) when anyone could have set it (registration, metadata documents):
 * private-network addresses refused unless allowed, loopback allowed; the operator's (config,
 * `passport client --jwks-uri`) may point anywhere its scheme allows.
 */
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

let authority: Authority
let running: RunningServer
let cleanup: () => void
let keysServer: Server
let keysOrigin: string
let privateKey: CryptoKey
let fetches = 0

beforeAll(async () => {
  const pair = await generateKeyPair('ES256', {extractable: true})
  privateKey = pair.privateKey
  const jwk = {...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256'}
  keysServer = createServer((_req, res) => {
    fetches++
    res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify({keys: [jwk]}))
  })
  await new Promise<void>((resolve) => keysServer.listen(0, '127.0.0.1', resolve))
  keysOrigin = `http://127.0.0.1:${(keysServer.address() as AddressInfo).port}`
  const temp = tempDir('passport-jwks-uri-')
  cleanup = temp.cleanup
  await generateKeys(join(temp.dir, 'keys'))
  authority = Authority.open({
    config: parseConfig({scopes: {read: 'Read'}}),
    database: join(temp.dir, 'passport.sqlite'),
    keys: keyLocation(join(temp.dir, 'keys'), {}),
  })
  running = await serve(authority, {host: '127.0.0.1', port: 0, prefix: '/oauth', except: [], autoApprove: false})
})

afterAll(async () => {
  await running?.close()
  await new Promise<void>((resolve) => keysServer?.close(() => resolve()))
  cleanup?.()
})

async function post(
  path: string,
  body: string,
  type: string,
): Promise<{status: number; json: Record<string, unknown>}> {
  const response = await fetch(`${running.issuer}/oauth${path}`, {
    method: 'POST',
    headers: {'content-type': type},
    body,
  })
  return {status: response.status, json: (await response.json()) as Record<string, unknown>}
}
const register = (metadata: Record<string, unknown>) =>
  post(
    '/register',
    JSON.stringify({grant_types: ['client_credentials'], token_endpoint_auth_method: 'private_key_jwt', ...metadata}),
    'application/json',
  )

async function tokenWithAssertion(clientId: string): Promise<{status: number; json: Record<string, unknown>}> {
  const now = Math.floor(authority.clock.now() / 1000)
  const assertion = await new SignJWT({jti: randomUUID()})
    .setProtectedHeader({alg: 'ES256', kid: 'k1'})
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(running.issuer)
    .setIssuedAt(now)
    .setExpirationTime(now + 60)
    .sign(privateKey)
  return post(
    '/token',
    new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: assertion,
    }).toString(),
    'application/x-www-form-urlencoded',
  )
}

const PRIVATE = '"clientIdMetadataDocuments": {"allowPrivateNetworks": true}'.replace(/"/g, "'")

describe('jwks_uri: the fences of a client ID metadata document for what anyone can register', () => {
  it('checklist 155: registration refuses a jwks_uri on a private, link-local or unique-local address literal (invalid_client_metadata naming it)', async () => {
    for (const [uri, address] of [
      ['https://10.1.2.3/jwks', '10.1.2.3'],
      ['https://169.254.169.254/latest/keys', '169.254.169.254'],
      ['https://[fd00::1]/jwks', 'fd00::1'],
      ['https://192.168.1.1/jwks', '192.168.1.1'],
    ]) {
      const reply = await register({jwks_uri: uri})
      expect(reply.status).toBe(400)
      expect(reply.json).toEqual({
        error: 'invalid_client_metadata',
        error_description: `jwks_uri ${uri} cannot be used: it resolves to the private or link-local address ${address}; set ${PRIVATE} in the configuration to allow it.`,
      })
    }
    expect(authority.store.clients.countBySource('registered')).toBe(0)
  })

  it("checklist 155: at the token endpoint a registered client's jwks_uri on a private address is not fetched (invalid_client naming the check)", async () => {
    // Registered while allowPrivateNetworks was on, say; the configuration decides at every fetch.
    const now = authority.clock.now()
    authority.store.clients.upsert({
      id: 'stranger',
      name: 'Stranger',
      secretHash: null,
      type: 'confidential',
      grantTypes: ['client_credentials'],
      redirectUris: [],
      scopes: null,
      autoApprove: false,
      source: 'registered',
      createdAt: now,
      updatedAt: now,
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwksUri: 'https://10.0.0.1/jwks',
    })
    const reply = await tokenWithAssertion('stranger')
    expect(reply.status).toBe(401)
    expect(reply.json).toEqual({
      error: 'invalid_client',
      error_description: `Client assertion: the jwks_uri at https://10.0.0.1/jwks was not fetched: it resolves to the private or link-local address 10.0.0.1; set ${PRIVATE} in the configuration to allow it.`,
    })
  })

  it('checklist 155: a registered jwks_uri on loopback is fetched (local development, as for metadata documents) and its keys authenticate', async () => {
    const registered = await register({jwks_uri: `${keysOrigin}/jwks`})
    expect(registered.status).toBe(201)
    const before = fetches
    expect((await tokenWithAssertion(registered.json.client_id as string)).status).toBe(200)
    expect(fetches).toBe(before + 1)
    // Cached: the next assertion does not fetch again.
    expect((await tokenWithAssertion(registered.json.client_id as string)).status).toBe(200)
    expect(fetches).toBe(before + 1)
  })

  it('checklist 155: operators are trusted: a jwks_uri from the config or passport client may reach private networks; anonymous ones only when allowed', () => {
    for (const source of ['config', 'cli'] as const) expect(jwksUriMayReachPrivateNetworks({source}, false)).toBe(true)
    for (const source of ['registered', 'metadata'] as const) {
      expect(jwksUriMayReachPrivateNetworks({source}, false)).toBe(false)
      expect(jwksUriMayReachPrivateNetworks({source}, true)).toBe(true)
    }
  })
})
