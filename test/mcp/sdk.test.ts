import {generateKeyPairSync} from 'node:crypto'
import {join} from 'node:path'

import {auth, UnauthorizedError} from '@modelcontextprotocol/sdk/client/auth.js'
import {ClientCredentialsProvider, PrivateKeyJwtProvider} from '@modelcontextprotocol/sdk/client/auth-extensions.js'
import {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {StreamableHTTPClientTransport} from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import * as v2 from '@modelcontextprotocol/client'
import {decodeJwt, exportJWK, importSPKI} from 'jose'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {tempDir, writeJson} from '../helpers.js'
import {
  HeadlessProvider,
  kitProtectedMcp,
  type Listening,
  plainMcp,
  spawnPassport,
  type Spawned,
} from './sdk-support.js'

/**
 * The official MCP TypeScript SDK (1.32, client and server) against `passport serve --login-as
 * alice --auto-approve`: interactive (401 → RFC 9728 → RFC 8414 → RFC 7591 → authorize with PKCE
 * and resource → token → tool call → refresh → step-up) and machine flows, with an MCP server
 * protected by the kit and with an unauthenticated one behind `passport protect`.
 */

const signer = generateKeyPairSync('ec', {
  namedCurve: 'P-256',
  publicKeyEncoding: {type: 'spki', format: 'pem'},
  privateKeyEncoding: {type: 'pkcs8', format: 'pem'},
})
let dir: {dir: string; cleanup: () => void}
let kit: Awaited<ReturnType<typeof kitProtectedMcp>>
let upstream: Listening
let authority: Spawned
let proxy: Spawned
let issuer: string

beforeAll(async () => {
  dir = tempDir('passport-mcp-')
  kit = await kitProtectedMcp()
  upstream = await plainMcp()
  const jwk = {
    ...(await exportJWK(await importSPKI(signer.publicKey, 'ES256'))),
    alg: 'ES256',
    use: 'sig',
    kid: 'signer-1',
  }
  writeJson(join(dir.dir, 'passport.config.json'), {
    scopes: {mcp: 'Use the MCP server', admin: 'Administer the MCP server'},
    users: {alice: {name: 'Alice'}},
    resources: {[kit.resource]: {name: 'Kit-protected MCP server'}},
    clients: [
      {id: 'robot', name: 'Robot', secret: 'robot-secret-1', grants: ['client_credentials'], scopes: ['mcp']},
      {id: 'signer', name: 'Signer', jwks: {keys: [jwk]}, grants: ['client_credentials'], scopes: ['mcp']},
    ],
  })
  authority = await spawnPassport(['serve', '--port', '0', '--login-as', 'alice', '--auto-approve', '--quiet'], dir.dir)
  issuer = authority.json.issuer as string
  kit.protectWith(issuer)
  // passport protect registers its resource with the authority through the shared database.
  proxy = await spawnPassport(
    ['protect', '--upstream', `${upstream.url}/mcp`, '--scope', 'mcp', '--issuer', issuer, '--quiet'],
    dir.dir,
  )
}, 60_000)

afterAll(async () => {
  await proxy?.stop()
  await authority?.stop()
  await kit?.close()
  await upstream?.close()
  dir?.cleanup()
})

const text = (result: unknown) =>
  JSON.parse((result as {content: Array<{text: string}>}).content[0]!.text) as Record<string, unknown>

/** Connects a client through the SDK's auth flow, doing the (headless) browser step when asked. */
async function connectInteractive(serverUrl: string, provider: HeadlessProvider): Promise<Client> {
  const first = new Client({name: 'test', version: '1.0.0'})
  try {
    await first.connect(new StreamableHTTPClientTransport(new URL(serverUrl), {authProvider: provider}))
    return first
  } catch (error) {
    if (!(error instanceof UnauthorizedError)) throw error
  }
  const transport = new StreamableHTTPClientTransport(new URL(serverUrl), {authProvider: provider})
  await transport.finishAuth(provider.callback!.get('code')!)
  const client = new Client({name: 'test', version: '1.0.0'})
  await client.connect(transport)
  return client
}

describe('MCP SDK 1.32, interactive, kit-protected server', () => {
  it('401 → RFC 9728 → RFC 8414 → RFC 7591 → authorize (PKCE, resource) → token → tool call → refresh → call', async () => {
    const provider = new HeadlessProvider('http://127.0.0.1:7777/callback', {
      client_name: 'MCP test client',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    })
    const client = await connectInteractive(kit.resource, provider)
    // Registered over RFC 7591, with the scope the 401 challenge named.
    expect(provider.clientInfo).toMatchObject({
      client_id: expect.any(String),
      redirect_uris: ['http://127.0.0.1:7777/callback'],
    })
    const authorizeUrl = provider.authorizationUrls[0]!
    expect(`${authorizeUrl.origin}${authorizeUrl.pathname}`).toBe(`${issuer}/oauth/authorize`)
    expect(Object.fromEntries(authorizeUrl.searchParams)).toMatchObject({
      response_type: 'code',
      code_challenge_method: 'S256',
      resource: kit.resource,
      scope: 'mcp',
    })
    expect(provider.callback!.get('iss')).toBe(issuer)
    const access = decodeJwt(provider.savedTokens!.access_token as string)
    expect(access).toMatchObject({iss: issuer, sub: 'alice', aud: kit.resource, scope: 'mcp'})
    expect(text(await client.callTool({name: 'whoami'}))).toEqual({
      clientId: provider.clientInfo!.client_id,
      userId: 'alice',
      scopes: ['mcp'],
      aud: kit.resource,
    })

    // auth() with a refresh token refreshes, with resource: the new token is for the same resource.
    const before = provider.savedTokens!.access_token
    expect(await auth(provider as never, {serverUrl: kit.resource})).toBe('AUTHORIZED')
    expect(provider.savedTokens!.access_token).not.toBe(before)
    expect(decodeJwt(provider.savedTokens!.access_token as string).aud).toBe(kit.resource)
    expect(text(await client.callTool({name: 'whoami'})).aud).toBe(kit.resource)
    await client.close()
  })

  it('step-up: a tool needing admin gets 403 insufficient_scope, and the SDK obtains mcp admin', async () => {
    // SDK 1.x refreshes before re-authorizing and a refresh cannot widen scope (SDK issue #2255):
    // this client registers without refresh tokens, so the step-up goes to /authorize.
    const provider = new HeadlessProvider('http://127.0.0.1:7778/callback', {
      client_name: 'MCP step-up client',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    })
    const client = await connectInteractive(kit.resource, provider)
    expect(decodeJwt(provider.savedTokens!.access_token as string).scope).toBe('mcp')
    // The 403 makes the SDK authorize again with the challenge's scope ("mcp admin"); the browser
    // step ends the call with UnauthorizedError, as for any redirect.
    await expect(client.callTool({name: 'admin-action'})).rejects.toThrow(UnauthorizedError)
    const stepUp = provider.authorizationUrls.at(-1)!
    expect(stepUp.searchParams.get('scope')).toBe('mcp admin')
    expect(stepUp.searchParams.get('resource')).toBe(kit.resource)
    const transport = new StreamableHTTPClientTransport(new URL(kit.resource), {authProvider: provider})
    await transport.finishAuth(provider.callback!.get('code')!)
    const again = new Client({name: 'test', version: '1.0.0'})
    await again.connect(transport)
    expect(decodeJwt(provider.savedTokens!.access_token as string).scope).toBe('mcp admin')
    expect(text(await again.callTool({name: 'admin-action'}))).toMatchObject({done: true, scopes: ['mcp', 'admin']})
    await again.close()
    await client.close()
  })
})

describe('MCP SDK 1.32, machine clients', () => {
  it('ClientCredentialsProvider (client_secret_basic) and PrivateKeyJwtProvider (ES256) call the kit-protected server', async () => {
    for (const provider of [
      new ClientCredentialsProvider({
        clientId: 'robot',
        clientSecret: 'robot-secret-1',
        scope: 'mcp',
        expectedIssuer: issuer,
      }),
      new PrivateKeyJwtProvider({
        clientId: 'signer',
        privateKey: signer.privateKey,
        algorithm: 'ES256',
        scope: 'mcp',
        expectedIssuer: issuer,
      }),
    ]) {
      const client = new Client({name: 'machine', version: '1.0.0'})
      await client.connect(new StreamableHTTPClientTransport(new URL(kit.resource), {authProvider: provider}))
      const id = provider.clientInformation().client_id
      expect(text(await client.callTool({name: 'whoami'}))).toEqual({
        clientId: id,
        userId: null,
        scopes: ['mcp'],
        aud: kit.resource,
      })
      expect(decodeJwt(provider.tokens()!.access_token)).toMatchObject({sub: id, aud: kit.resource})
      await client.close()
    }
  })
})

describe('MCP SDK 1.32 through passport protect (an unauthenticated MCP server behind it)', () => {
  it('interactive: the same discovery, registration, authorization and call; the upstream sees X-Passport-* and no token', async () => {
    const resource = proxy.json.resource as string
    const provider = new HeadlessProvider('http://127.0.0.1:7779/callback', {
      client_name: 'MCP via protect',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    })
    const client = await connectInteractive(resource, provider)
    expect(decodeJwt(provider.savedTokens!.access_token as string)).toMatchObject({aud: resource, sub: 'alice'})
    expect(text(await client.callTool({name: 'whoami'}))).toEqual({
      sub: 'alice',
      clientId: provider.clientInfo!.client_id,
      scope: 'mcp',
      authorization: null,
    })
    expect(await auth(provider as never, {serverUrl: resource})).toBe('AUTHORIZED')
    expect(text(await client.callTool({name: 'whoami'})).sub).toBe('alice')
    await client.close()
  })

  it('machine: ClientCredentialsProvider and PrivateKeyJwtProvider', async () => {
    const resource = proxy.json.resource as string
    for (const provider of [
      new ClientCredentialsProvider({
        clientId: 'robot',
        clientSecret: 'robot-secret-1',
        scope: 'mcp',
        expectedIssuer: issuer,
      }),
      new PrivateKeyJwtProvider({
        clientId: 'signer',
        privateKey: signer.privateKey,
        algorithm: 'ES256',
        scope: 'mcp',
        expectedIssuer: issuer,
      }),
    ]) {
      const client = new Client({name: 'machine', version: '1.0.0'})
      await client.connect(new StreamableHTTPClientTransport(new URL(resource), {authProvider: provider}))
      const id = provider.clientInformation().client_id
      expect(text(await client.callTool({name: 'whoami'}))).toEqual({
        sub: id,
        clientId: id,
        scope: 'mcp',
        authorization: null,
      })
      await client.close()
    }
  })
})

/** The same interactive flow with the 2.x client line, which also checks RFC 8414 §3.3 and RFC 9207. */
async function connectV2(serverUrl: string, provider: HeadlessProvider): Promise<v2.Client> {
  const first = new v2.Client({name: 'test-v2', version: '1.0.0'})
  try {
    await first.connect(new v2.StreamableHTTPClientTransport(new URL(serverUrl), {authProvider: provider as never}))
    return first
  } catch (error) {
    if (!(error instanceof v2.UnauthorizedError)) throw error
  }
  const transport = new v2.StreamableHTTPClientTransport(new URL(serverUrl), {authProvider: provider as never})
  // The whole callback query: the client checks its iss against the issuer (RFC 9207).
  await transport.finishAuth(provider.callback!)
  const client = new v2.Client({name: 'test-v2', version: '1.0.0'})
  await client.connect(transport)
  return client
}

describe('MCP client 2.x (@modelcontextprotocol/client), interactive, kit-protected server', () => {
  it('the whole flow; discovery echoes the issuer, the callback carries iss, credentials are stamped with the issuer; refresh with resource', async () => {
    const provider = new HeadlessProvider('http://127.0.0.1:7780/callback', {
      client_name: 'MCP v2 client',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    })
    const client = await connectV2(kit.resource, provider)
    expect(provider.callback!.get('iss')).toBe(issuer)
    expect(provider.clientInfo!.issuer).toBe(issuer)
    expect(provider.savedTokens!.issuer).toBe(issuer)
    expect(decodeJwt(provider.savedTokens!.access_token as string)).toMatchObject({aud: kit.resource, sub: 'alice'})
    expect(text(await client.callTool({name: 'whoami'}))).toMatchObject({userId: 'alice', aud: kit.resource})
    const before = provider.savedTokens!.access_token
    expect(await v2.auth(provider as never, {serverUrl: kit.resource})).toBe('AUTHORIZED')
    expect(provider.savedTokens!.access_token).not.toBe(before)
    expect(decodeJwt(provider.savedTokens!.access_token as string).aud).toBe(kit.resource)
    expect(text(await client.callTool({name: 'whoami'})).aud).toBe(kit.resource)
    await client.close()
  })

  it('step-up with a refresh token held: the client skips the refresh (it cannot widen scope) and authorizes mcp admin', async () => {
    const provider = new HeadlessProvider('http://127.0.0.1:7781/callback', {
      client_name: 'MCP v2 step-up',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    })
    const client = await connectV2(kit.resource, provider)
    expect(provider.savedTokens!.refresh_token).toEqual(expect.any(String))
    await expect(client.callTool({name: 'admin-action'})).rejects.toThrow(v2.UnauthorizedError)
    const stepUp = provider.authorizationUrls.at(-1)!
    // The union of what it held (the 2.x client asks for offline_access with refresh tokens) and the challenge.
    expect(stepUp.searchParams.get('scope')?.split(' ')).toEqual(expect.arrayContaining(['admin', 'mcp']))
    const transport = new v2.StreamableHTTPClientTransport(new URL(kit.resource), {authProvider: provider as never})
    await transport.finishAuth(provider.callback!)
    const again = new v2.Client({name: 'test-v2', version: '1.0.0'})
    await again.connect(transport)
    expect(text(await again.callTool({name: 'admin-action'}))).toMatchObject({done: true})
    await again.close()
    await client.close()
  })

  it('machine: ClientCredentialsProvider and PrivateKeyJwtProvider, direct and through passport protect', async () => {
    for (const url of [kit.resource, proxy.json.resource as string]) {
      for (const provider of [
        new v2.ClientCredentialsProvider({
          clientId: 'robot',
          clientSecret: 'robot-secret-1',
          scope: 'mcp',
          expectedIssuer: issuer,
        }),
        new v2.PrivateKeyJwtProvider({
          clientId: 'signer',
          privateKey: signer.privateKey,
          algorithm: 'ES256',
          scope: 'mcp',
          expectedIssuer: issuer,
        }),
      ]) {
        const client = new v2.Client({name: 'machine-v2', version: '1.0.0'})
        await client.connect(new v2.StreamableHTTPClientTransport(new URL(url), {authProvider: provider}))
        const whoami = text(await client.callTool({name: 'whoami'}))
        expect(whoami.clientId).toBe(provider.clientInformation().client_id)
        await client.close()
      }
    }
  })

  it('step-up through passport protect: the service behind it answers 403 insufficient_scope for a tool, the client obtains admin', async () => {
    const resource = proxy.json.resource as string
    const provider = new HeadlessProvider('http://127.0.0.1:7783/callback', {
      client_name: 'MCP v2 step-up via protect',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    })
    const client = await connectV2(resource, provider)
    await expect(client.callTool({name: 'admin-action'})).rejects.toThrow(v2.UnauthorizedError)
    expect(provider.authorizationUrls.at(-1)!.searchParams.get('scope')?.split(' ')).toEqual(
      expect.arrayContaining(['admin', 'mcp']),
    )
    const transport = new v2.StreamableHTTPClientTransport(new URL(resource), {authProvider: provider as never})
    await transport.finishAuth(provider.callback!)
    const again = new v2.Client({name: 'test-v2', version: '1.0.0'})
    await again.connect(transport)
    const done = text(await again.callTool({name: 'admin-action'}))
    expect(done).toMatchObject({done: true, sub: 'alice'})
    expect((done.scope as string).split(' ')).toEqual(expect.arrayContaining(['mcp', 'admin']))
    await again.close()
    await client.close()
  })

  it('interactive through passport protect', async () => {
    const resource = proxy.json.resource as string
    const provider = new HeadlessProvider('http://127.0.0.1:7782/callback', {
      client_name: 'MCP v2 via protect',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    })
    const client = await connectV2(resource, provider)
    const whoami = text(await client.callTool({name: 'whoami'}))
    expect(whoami).toMatchObject({sub: 'alice', authorization: null})
    expect((whoami.scope as string).split(' ')).toContain('mcp')
    await client.close()
  })
})
