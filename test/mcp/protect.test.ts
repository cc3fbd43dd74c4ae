import {spawn} from 'node:child_process'
import {createServer, type IncomingMessage, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

import {calculateJwkThumbprint, exportJWK, generateKeyPair} from 'jose'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {Authority, mintToken, parseConfig, protect, type RunningProxy} from '../../src/index.js'
import {keyLocation} from '../../src/core/keys.js'
import {accessTokenHashForDpop} from '../../src/core/dpop.js'
import {BIN, cleanEnv} from '../helpers.js'
import {CONFIG, read, startTestServer, type TestServer} from '../server/harness.js'
import {proof} from '../server/dpop-support.js'

let server: TestServer
let authority: Authority
let upstream: Server
let upstreamUrl: string
let proxy: RunningProxy
/** What the upstream saw of the last request. */
let seen: {method: string; url: string; headers: IncomingMessage['headers']; length: number} | undefined
/** The open SSE response, and a way to release its second event. */
let releaseSecond: (() => void) | undefined

beforeAll(async () => {
  server = await startTestServer({withKeys: true})
  authority = Authority.open({
    config: parseConfig(CONFIG),
    database: server.dbPath,
    keys: keyLocation(server.keyPath, {}),
    issuer: server.issuer,
  })
  upstream = createServer((req, res) => {
    if (req.url === '/mcp/events') {
      res.writeHead(200, {'content-type': 'text/event-stream', 'cache-control': 'no-cache'})
      res.write('event: one\ndata: first\n\n')
      releaseSecond = () => res.end('event: two\ndata: second\n\n')
      return
    }
    let length = 0
    req.on('data', (chunk: Buffer) => (length += chunk.length))
    req.on('end', () => {
      seen = {method: req.method!, url: req.url!, headers: req.headers, length}
      res.writeHead(201, {'content-type': 'application/json', 'x-upstream': 'yes'})
      res.end(JSON.stringify({length}))
    })
  })
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/mcp`
  proxy = await protect({upstream: upstreamUrl, verify: {authority}, scopes: ['read']})
})
afterAll(async () => {
  await proxy.close()
  await new Promise<void>((resolve) => {
    upstream.close(() => resolve())
    upstream.closeAllConnections()
  })
  authority.close()
  await server.close()
})

const mint = async (options: {audience?: string; scopes?: string[]} = {}) =>
  (
    await mintToken(authority, {
      client: 'web',
      user: 'alice',
      scopes: options.scopes ?? ['read'],
      audience: options.audience ?? proxy.resource,
    })
  ).response.access_token

describe('passport protect (the library face, protect())', () => {
  it('serves the RFC 9728 document at the proxy origin and challenges requests without a token', async () => {
    expect(proxy.resource).toBe(`${proxy.url}/mcp`)
    // Registered with the authority through the database they share, for as long as it runs.
    expect(server.rows('SELECT uri, source, scopes FROM oauth_resources')).toEqual([
      {uri: proxy.resource, source: 'protect', scopes: null},
    ])
    for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
      const doc = await read(await fetch(`${proxy.url}${path}`))
      expect(doc.json).toEqual({
        resource: proxy.resource,
        authorization_servers: [server.issuer],
        scopes_supported: ['read'],
        bearer_methods_supported: ['header'],
      })
    }
    seen = undefined
    const reply = await read(
      await fetch(`${proxy.url}/mcp`, {method: 'POST', body: '{}', headers: {'content-type': 'application/json'}}),
    )
    expect(reply.status).toBe(401)
    expect(reply.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${proxy.url}/.well-known/oauth-protected-resource/mcp", scope="read"`,
    )
    expect(reply.headers.get('access-control-expose-headers')).toBe('WWW-Authenticate')
    expect(seen).toBeUndefined()
    const wrongAud = await read(
      await fetch(`${proxy.url}/mcp`, {headers: {authorization: `Bearer ${await mint({audience: 'web'})}`}}),
    )
    expect([wrongAud.status, wrongAud.json.error]).toEqual([401, 'invalid_token'])
    const lacking = await read(
      await fetch(`${proxy.url}/mcp`, {headers: {authorization: `Bearer ${await mint({scopes: ['write']})}`}}),
    )
    expect([lacking.status, lacking.json.error]).toEqual([403, 'insufficient_scope'])
    expect(seen).toBeUndefined()
  })

  it("checklist 90: forwards with X-Passport-Sub, -Client-Id, -Scope; strips the client's own X-Passport-* and its token", async () => {
    const token = await mint({scopes: ['read', 'write']})
    const reply = await read(
      await fetch(`${proxy.url}/mcp?x=1`, {
        method: 'POST',
        body: 'hello',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'text/plain',
          'X-Passport-Sub': 'admin',
          'x-passport-client-id': 'evil',
          'X-Passport-Extra': '1',
          'x-other': 'kept',
        },
      }),
    )
    expect([reply.status, reply.headers.get('x-upstream'), reply.json]).toEqual([201, 'yes', {length: 5}])
    expect(seen!.method).toBe('POST')
    expect(seen!.url).toBe('/mcp?x=1')
    expect(seen!.headers['x-passport-sub']).toBe('alice')
    expect(seen!.headers['x-passport-client-id']).toBe('web')
    expect(seen!.headers['x-passport-scope']).toBe('read write')
    expect(seen!.headers['x-passport-extra']).toBeUndefined()
    expect(seen!.headers.authorization).toBeUndefined()
    expect(seen!.headers['x-other']).toBe('kept')
    expect(seen!.headers.host).toBe(new URL(upstreamUrl).host)
  })

  it('checklist 91: streams request bodies (4 MB) and SSE responses unbuffered: the first event arrives while the stream is still open', async () => {
    const token = await mint()
    const big = new Uint8Array(4 * 1024 * 1024).fill(97)
    const reply = await read(
      await fetch(`${proxy.url}/mcp`, {
        method: 'POST',
        body: big,
        headers: {authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream'},
      }),
    )
    expect(reply.json).toEqual({length: big.length})

    releaseSecond = undefined
    const response = await fetch(`${proxy.url}/mcp/events`, {
      headers: {authorization: `Bearer ${token}`, accept: 'text/event-stream'},
    })
    expect(response.headers.get('content-type')).toBe('text/event-stream')
    const reader = response.body!.getReader()
    const decoder = new TextDecoder()
    let text = ''
    while (!text.includes('data: first\n\n')) text += decoder.decode((await reader.read()).value)
    // The upstream has not ended the response yet: the first event came through on its own.
    expect(releaseSecond).toBeTypeOf('function')
    releaseSecond!()
    for (;;) {
      const chunk = await reader.read()
      if (chunk.done) break
      text += decoder.decode(chunk.value)
    }
    expect(text).toBe('event: one\ndata: first\n\nevent: two\ndata: second\n\n')
  })

  it('answers 502 naming the upstream when it is down, and refuses a bad --upstream', async () => {
    const dead = createServer()
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve))
    const deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}/mcp`
    await new Promise<void>((resolve) => dead.close(() => resolve()))
    const other = await protect({upstream: deadUrl, verify: {authority}})
    try {
      const token = (
        await mintToken(authority, {client: 'web', user: 'alice', scopes: ['read'], audience: other.resource})
      ).response.access_token
      const reply = await read(await fetch(`${other.url}/mcp`, {headers: {authorization: `Bearer ${token}`}}))
      expect(reply.status).toBe(502)
      expect(reply.json.error_description).toMatch(
        /^The upstream http:\/\/127\.0\.0\.1:\d+ is unreachable \(ECONNREFUSED\)\.$/,
      )
    } finally {
      await other.close()
    }
    expect(server.rows('SELECT uri FROM oauth_resources')).toEqual([{uri: proxy.resource}])
    await expect(protect({upstream: 'not a url', verify: {authority}})).rejects.toThrow(
      /--upstream "not a url" is not a URL/,
    )
    await expect(protect({upstream: 'ftp://x/y', verify: {authority}})).rejects.toThrow(/must be an http or https URL/)
  })

  it('verifies a DPoP-bound token with its proof (Authorization: DPoP) through the kit, and refuses it as Bearer or with a replayed proof', async () => {
    const pair = await generateKeyPair('ES256', {extractable: true})
    const jkt = await calculateJwkThumbprint(await exportJWK(pair.publicKey))
    const token = (
      await mintToken(authority, {
        client: 'web',
        user: 'alice',
        scopes: ['read'],
        audience: proxy.resource,
        dpopJkt: jkt,
      })
    ).response.access_token
    const url = `${proxy.url}/mcp`
    const dpop = await proof(pair, 'GET', url, {ath: accessTokenHashForDpop(token)})
    seen = undefined
    const ok = await read(await fetch(url, {headers: {authorization: `DPoP ${token}`, dpop}}))
    expect(ok.status).toBe(201)
    // Neither the token nor the proof reaches the upstream.
    expect(seen!.headers.authorization).toBeUndefined()
    expect(seen!.headers.dpop).toBeUndefined()
    expect(seen!.headers['x-passport-sub']).toBe('alice')
    seen = undefined
    const replayed = await read(await fetch(url, {headers: {authorization: `DPoP ${token}`, dpop}}))
    expect([replayed.status, replayed.json.error]).toEqual([401, 'invalid_dpop_proof'])
    const asBearer = await read(await fetch(url, {headers: {authorization: `Bearer ${token}`}}))
    expect([asBearer.status, asBearer.json.error]).toEqual([401, 'invalid_token'])
    expect(asBearer.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_token"/)
    expect(seen).toBeUndefined()
  })
})

describe('passport protect (the command)', () => {
  it("prints one JSON line once listening and guards the upstream with the authority's keys and database", async () => {
    const child = spawn(
      process.execPath,
      [
        BIN,
        'protect',
        '--upstream',
        upstreamUrl,
        '--scope',
        'read',
        '--issuer',
        server.issuer,
        '--database',
        server.dbPath,
        '--key-path',
        server.keyPath!,
        '--json',
        '--quiet',
      ],
      {
        env: cleanEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    try {
      let out = ''
      child.stdout.setEncoding('utf8')
      const line = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d: string) => {
          out += d
          if (out.includes('\n')) resolve(out.split('\n')[0]!)
        })
        child.on('exit', (code) => reject(new Error(`protect exited with ${code}`)))
      })
      const summary = JSON.parse(line) as {url: string; resource: string; resource_metadata: string; issuer: string}
      expect(summary.resource).toBe(`${summary.url}/mcp`)
      expect(summary.resource_metadata).toBe(`${summary.url}/.well-known/oauth-protected-resource/mcp`)
      expect(summary.issuer).toBe(server.issuer)
      const token = (
        await mintToken(authority, {client: 'web', user: 'alice', scopes: ['read'], audience: summary.resource})
      ).response.access_token
      const reply = await read(
        await fetch(`${summary.url}/mcp`, {method: 'POST', body: 'abc', headers: {authorization: `Bearer ${token}`}}),
      )
      expect([reply.status, reply.json]).toEqual([201, {length: 3}])
      expect(seen!.headers['x-passport-sub']).toBe('alice')
      // A revoked token is refused: the proxy reads the authority's database.
      server.exec('UPDATE oauth_access_tokens SET revoked_at = ? WHERE revoked_at IS NULL', Date.now())
      const revoked = await read(await fetch(`${summary.url}/mcp`, {headers: {authorization: `Bearer ${token}`}}))
      expect([revoked.status, revoked.json.error_description]).toEqual([401, 'The token has been revoked.'])
    } finally {
      child.kill('SIGTERM')
      await new Promise((resolve) => child.once('exit', resolve))
    }
  })
})
