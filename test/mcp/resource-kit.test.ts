import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'

import {decodeJwt} from 'jose'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {
  Authority,
  InvalidInputError,
  mintToken,
  parseConfig,
  protectedResourceMetadata,
  protectedResourceMetadataHandler,
  requireBearer,
  verifyAccessToken,
} from '../../src/index.js'
import {keyLocation} from '../../src/core/keys.js'
import {CONFIG, read, startTestServer, type TestServer} from '../server/harness.js'

let server: TestServer
let authority: Authority
let api: Server
let apiOrigin: string
let resource: string
let jwks: string
/** The handler behind the guard: set per test. */
let inner: (req: IncomingMessage, res: ServerResponse) => void

beforeAll(async () => {
  server = await startTestServer({withKeys: true})
  jwks = `${server.url}/.well-known/jwks.json`
  // A second face of the same authority (same database, same keys) mints tokens for any audience.
  authority = Authority.open({
    config: parseConfig(CONFIG),
    database: server.dbPath,
    keys: keyLocation(server.keyPath, {}),
    issuer: server.issuer,
  })
  api = createServer()
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve))
  apiOrigin = `http://127.0.0.1:${(api.address() as AddressInfo).port}`
  resource = `${apiOrigin}/mcp`
  const metadata = protectedResourceMetadataHandler({
    resource,
    issuer: server.issuer,
    scopes: ['read', 'admin'],
    name: 'Test MCP',
  })
  const guard = requireBearer({issuer: server.issuer, jwks, resource, scopes: ['read']})
  const adminGuard = requireBearer({issuer: server.issuer, jwks, resource, scopes: ['read', 'admin']})
  api.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (metadata(req, res)) return
    const chosen = req.url === '/mcp/admin' ? adminGuard : guard
    void chosen(req, res, () => inner(req, res))
  })
})
afterAll(async () => {
  await new Promise<void>((resolve) => api.close(() => resolve()))
  authority.close()
  await server.close()
})

const mint = async (options: {audience?: string; scopes?: string[]; user?: string | null} = {}) =>
  (
    await mintToken(authority, {
      client: 'web',
      ...(options.user === null ? {} : {user: options.user ?? 'alice'}),
      scopes: options.scopes ?? ['read'],
      audience: options.audience ?? resource,
    })
  ).response.access_token
const call = (path: string, token?: string, init: RequestInit = {}) =>
  fetch(`${apiOrigin}${path}`, {
    ...init,
    headers: {
      ...(token === undefined ? {} : {authorization: `Bearer ${token}`}),
      ...(init.headers as Record<string, string>),
    },
  }).then(read)
const echoAuth = (req: IncomingMessage, res: ServerResponse) => {
  const auth = (
    req as IncomingMessage & {
      auth: {
        clientId: string
        userId: string
        scopes: string[]
        expiresAt: number
        token: string
        claims: {aud: unknown}
      }
    }
  ).auth
  res.writeHead(200, {'content-type': 'application/json'})
  res.end(
    JSON.stringify({
      clientId: auth.clientId,
      userId: auth.userId,
      scopes: auth.scopes,
      expiresAt: auth.expiresAt,
      token: auth.token,
      aud: auth.claims.aud,
    }),
  )
}

describe('protectedResourceMetadata (RFC 9728)', () => {
  it('builds the document and serves it at the path-suffixed and the root well-known URL, with CORS', async () => {
    expect(protectedResourceMetadata({resource, issuer: server.issuer, scopes: ['read']})).toEqual({
      resource,
      authorization_servers: [server.issuer],
      scopes_supported: ['read'],
      bearer_methods_supported: ['header'],
    })
    for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
      const reply = await call(path)
      expect(reply.status).toBe(200)
      expect(reply.headers.get('access-control-allow-origin')).toBe('*')
      expect(reply.json).toEqual({
        resource,
        authorization_servers: [server.issuer],
        scopes_supported: ['read', 'admin'],
        bearer_methods_supported: ['header'],
        resource_name: 'Test MCP',
      })
    }
    const preflight = await fetch(`${apiOrigin}/.well-known/oauth-protected-resource/mcp`, {method: 'OPTIONS'})
    expect([preflight.status, preflight.headers.get('access-control-allow-headers')]).toEqual([
      204,
      'MCP-Protocol-Version',
    ])
    const posted = await call('/.well-known/oauth-protected-resource/mcp', undefined, {method: 'POST'})
    expect([posted.status, posted.json.error]).toEqual([405, 'invalid_request'])
  })

  it('refuses a resource that is not an absolute http(s) URL, or has a fragment, with the option named', () => {
    expect(() => protectedResourceMetadata({resource: 'mcp', issuer: server.issuer})).toThrow(
      /resource must be an absolute http\(s\) URL/,
    )
    expect(() => protectedResourceMetadata({resource: `${resource}#x`, issuer: server.issuer})).toThrow(/fragment/)
    expect(() => protectedResourceMetadata({resource, issuer: 'nope'})).toThrow(/issuer must be an absolute/)
  })
})

describe('requireBearer with a resource (the MCP challenge)', () => {
  it('checklist 74: no token → 401 with resource_metadata and the required scope', async () => {
    const reply = await call('/mcp')
    expect(reply.status).toBe(401)
    expect(reply.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${apiOrigin}/.well-known/oauth-protected-resource/mcp", scope="read"`,
    )
    expect(reply.text).toBe('')
  })

  it('passes a token whose aud is the resource and sets req.auth in the MCP SDK AuthInfo shape', async () => {
    inner = echoAuth
    const token = await mint()
    const reply = await call('/mcp', token)
    expect(reply.status).toBe(200)
    expect(reply.json).toEqual({
      clientId: 'web',
      userId: 'alice',
      scopes: ['read'],
      expiresAt: decodeJwt(token).exp,
      token,
      aud: resource,
    })
  })

  it('checklist 75: a token for another audience (the client id, another resource) → 401 invalid_token naming the resource', async () => {
    for (const audience of ['web', 'http://127.0.0.1:1/other']) {
      const reply = await call('/mcp', await mint({audience}))
      expect(reply.status).toBe(401)
      expect(reply.json).toEqual({
        error: 'invalid_token',
        error_description: `The token is meant for another audience (this resource accepts ${resource}).`,
      })
      expect(reply.headers.get('www-authenticate')).toBe(
        `Bearer resource_metadata="${apiOrigin}/.well-known/oauth-protected-resource/mcp", error="invalid_token", error_description="The token is meant for another audience (this resource accepts ${resource}).", scope="read"`,
      )
    }
  })

  it('checklist 76: a missing scope → 403 insufficient_scope naming it, the challenge asking for every scope the request needs', async () => {
    const reply = await call('/mcp/admin', await mint({scopes: ['read']}))
    expect(reply.status).toBe(403)
    expect(reply.json).toEqual({
      error: 'insufficient_scope',
      error_description: 'The token lacks the scope admin (it has: read).',
    })
    expect(reply.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${apiOrigin}/.well-known/oauth-protected-resource/mcp", error="insufficient_scope", error_description="The token lacks the scope admin (it has: read).", scope="read admin"`,
    )
    inner = echoAuth
    expect((await call('/mcp/admin', await mint({scopes: ['read', 'admin']}))).status).toBe(200)
  })

  it('checklist 77: never reads the request body: a body-reading next handler gets all of it (form with access_token, JSON, 200 KB)', async () => {
    inner = (req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const body = Buffer.concat(chunks)
        res.writeHead(200, {'content-type': 'application/json'})
        res.end(JSON.stringify({length: body.length, head: body.subarray(0, 40).toString()}))
      })
    }
    const token = await mint()
    const form = `access_token=${token}&a=1`
    const formReply = await call('/mcp', token, {
      method: 'POST',
      body: form,
      headers: {'content-type': 'application/x-www-form-urlencoded'},
    })
    expect(formReply.json).toEqual({length: form.length, head: form.slice(0, 40)})
    const json = JSON.stringify({jsonrpc: '2.0', id: 1, method: 'tools/list'})
    expect(
      (await call('/mcp', token, {method: 'POST', body: json, headers: {'content-type': 'application/json'}})).json,
    ).toEqual({length: json.length, head: json.slice(0, 40)})
    const big = 'x'.repeat(200_000)
    expect(
      (await call('/mcp', token, {method: 'POST', body: big, headers: {'content-type': 'text/plain'}})).json,
    ).toEqual({length: 200_000, head: 'x'.repeat(40)})
    // Without a header, a token in the (unread) body is no credential: 401, and the request is answered, not hung.
    const bodyOnly = await call('/mcp', undefined, {
      method: 'POST',
      body: form,
      headers: {'content-type': 'application/x-www-form-urlencoded'},
    })
    expect(bodyOnly.status).toBe(401)
  })
})

describe('one options shape, checked (issue 18: 10, 14)', () => {
  it('checklist 78: requireBearer refuses to run without an audience (RFC 9068 §4)', () => {
    expect(() => requireBearer({issuer: server.issuer, jwks, scopes: ['read']})).toThrow(InvalidInputError)
    expect(() => requireBearer({issuer: server.issuer, jwks})).toThrow(
      /requireBearer needs the audience its tokens must carry \(RFC 9068 §4\): resource .* or audience/,
    )
  })

  it('verifyAccessToken takes the JWKS URL requireBearer takes, and the same resource', async () => {
    const token = await mint()
    const verified = await verifyAccessToken(token, {issuer: server.issuer, jwks, resource, scopes: ['read']})
    expect([verified.userId, verified.clientId, verified.claims.aud]).toEqual(['alice', 'web', resource])
    await expect(
      verifyAccessToken(token, {issuer: server.issuer, jwks: new URL(jwks), audience: 'web'}),
    ).rejects.toThrow('The token is meant for another audience (this resource accepts web).')
    const clientToken = await mint({user: null})
    expect(
      (await verifyAccessToken(clientToken, {issuer: server.issuer, jwks, audience: [resource, 'x']})).userId,
    ).toBeNull()
  })

  it('with jwks the guard checks offline: a token revoked at the authority passes until exp; with the authority it is refused (docs/mcp.md)', async () => {
    inner = echoAuth
    const token = await mint()
    const jti = decodeJwt(token).jti!
    server.exec('UPDATE oauth_access_tokens SET revoked_at = ? WHERE id = ?', Date.now(), jti)
    expect((await call('/mcp', token)).status).toBe(200)
    await expect(verifyAccessToken(token, {authority, resource})).rejects.toThrow('The token has been revoked.')
  })

  it('bad options are one InvalidInputError naming the option, never a stack from jose', async () => {
    const token = await mint()
    const cases: Array<[unknown, RegExp]> = [
      [undefined, /verifyAccessToken needs an options object/],
      [{jwks}, /verifyAccessToken: issuer is required/],
      [{issuer: server.issuer}, /verifyAccessToken: jwks is required/],
      [{issuer: server.issuer, jwks: 'not a url'}, /jwks "not a url" is not a URL/],
      [{issuer: server.issuer, jwks: 'file:///etc/passwd'}, /jwks URL must be http or https/],
      [{issuer: server.issuer, jwks: {keys: 'no'}}, /jwks is not a JWK Set/],
      [{issuer: server.issuer, jwks, resource: 'mcp'}, /resource must be an absolute URL/],
      [{issuer: server.issuer, jwks, audience: ''}, /audience must be a non-empty string/],
      [{issuer: server.issuer, jwks, scopes: 'read'}, /scopes must be a list of scope names/],
    ]
    for (const [options, message] of cases) {
      const error = await verifyAccessToken(token, options as never).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(InvalidInputError)
      expect((error as Error).message).toMatch(message)
    }
    expect(() => requireBearer({issuer: server.issuer, jwks: 'not a url', resource})).toThrow(
      /requireBearer: jwks "not a url" is not a URL/,
    )
    expect(() => requireBearer({issuer: server.issuer, jwks, resource, resourceMetadataUrl: 'x'})).toThrow(
      /resourceMetadataUrl must be an absolute http\(s\) URL/,
    )
  })
})
