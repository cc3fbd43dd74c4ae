import {createServer, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'

import * as oauth from 'oauth4webapi'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {addressProblem, cacheLifetime} from '../../src/core/metadata-documents.js'
import {MCP, authorize, claims, read, startMcpServer, type McpServer} from './support.js'

// SPEC §10.4: client ID metadata documents, fetched from a local document server (127.0.0.1 only).

let server: McpServer
let documents: Server
let base: string
let fetches: Record<string, number> = {}
const hanging = new Set<ServerResponse>()

const CALLBACK = 'http://127.0.0.1:6274/oauth/callback'

function doc(path: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    client_id: `${base}${path}`,
    client_name: 'Document client',
    redirect_uris: [CALLBACK],
    grant_types: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_method: 'none',
    ...extra,
  }
}

beforeAll(async () => {
  documents = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!
    fetches[path] = (fetches[path] ?? 0) + 1
    const json = (body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(200, {'content-type': 'application/json', ...headers})
      res.end(JSON.stringify(body))
    }
    switch (path) {
      case '/good.json':
        return json(doc(path))
      case '/cached.json':
        return json(doc(path), {'cache-control': 'max-age=3600'})
      case '/redirect.json':
        res.writeHead(302, {location: `${base}/good.json`})
        return res.end()
      case '/hang.json':
        hanging.add(res)
        return undefined
      case '/big.json':
        res.writeHead(200, {'content-type': 'application/json'})
        return res.end(JSON.stringify({...doc(path), padding: 'x'.repeat(1024 * 1024)}))
      case '/chunked-big.json':
        res.writeHead(200, {'content-type': 'application/json'})
        for (let i = 0; i < 100; i++) res.write(' '.repeat(10_240))
        return res.end(JSON.stringify(doc(path)))
      case '/text.json':
        res.writeHead(200, {'content-type': 'text/html'})
        return res.end('<html>not json</html>')
      case '/broken.json':
        res.writeHead(200, {'content-type': 'application/json'})
        return res.end('{"client_id": ')
      case '/repeated.json':
        res.writeHead(200, {'content-type': 'application/json'})
        return void res.end(
          JSON.stringify(doc(path)).replace('{', '{"client_id":"https://someone-else.example.test/client.json",'),
        )
      case '/liar.json':
        return json(doc(path, {client_id: 'https://someone-else.example.test/client.json'}))
      case '/no-redirect.json':
        return json(doc(path, {redirect_uris: ['http://127.0.0.1:6274/other']}))
      case '/secret.json':
        return json(doc(path, {token_endpoint_auth_method: 'client_secret_basic'}))
      case '/missing.json':
        res.writeHead(404, {'content-type': 'application/json'})
        return res.end('{}')
      default:
        res.writeHead(404)
        return res.end()
    }
  })
  await new Promise<void>((resolve) => documents.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(documents.address() as AddressInfo).port}`
  server = await startMcpServer({autoApprove: false})
})

afterAll(async () => {
  for (const res of hanging) res.destroy()
  documents.closeAllConnections()
  await new Promise((resolve) => documents.close(resolve))
  await server.close()
})

const request = (clientId: string, extra: Record<string, string> = {}) => ({
  response_type: 'code',
  client_id: clientId,
  redirect_uri: CALLBACK,
  code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
  code_challenge_method: 'S256',
  state: 'st',
  ...extra,
})

/** The refusal page: 400, no redirect, its title naming the check and the description. */
async function refused(
  clientId: string,
  check: string,
  description: string | RegExp,
  extra: Record<string, string> = {},
): Promise<void> {
  const reply = await authorize(server, request(clientId, extra))
  expect(reply.status, reply.text.slice(0, 300)).toBe(400)
  expect(reply.location).toBeUndefined()
  expect(reply.headers.get('content-type')).toMatch(/^text\/html/)
  expect(reply.text).toContain(`Client ID metadata document refused (${check})`)
  const text = reply.text
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
  if (typeof description === 'string') expect(text).toContain(description)
  else expect(text).toMatch(description)
  expect(server.db.prepare('SELECT COUNT(*) AS n FROM oauth_clients WHERE id = ?').get(clientId)).toEqual({n: 0})
}

describe('refused documents: each with its own check and description, never a redirect', () => {
  it('checklist 126: a redirect is not followed', async () => {
    // Counted from here: what earlier tests fetched does not matter.
    fetches = {}
    await refused(`${base}/redirect.json`, 'no redirects', `answered with a redirect (302); redirects are not followed`)
    expect(fetches['/good.json']).toBeUndefined()
  })

  it('checklist 126: a server that hangs is given up after 5 seconds', async () => {
    await refused(`${base}/hang.json`, 'fetch timeout', `Fetching ${base}/hang.json took longer than 5 seconds.`)
  }, 15_000)

  it('checklist 126: 1 MB (declared, or streamed without a length) is refused at 5 KB', async () => {
    await refused(
      `${base}/big.json`,
      'size',
      `The client ID metadata document at ${base}/big.json is larger than 5120 bytes.`,
    )
    await refused(
      `${base}/chunked-big.json`,
      'size',
      `The client ID metadata document at ${base}/chunked-big.json is larger than 5120 bytes.`,
    )
  })

  it('checklist 127: a document that is not JSON (content type or syntax) is refused', async () => {
    await refused(`${base}/text.json`, 'JSON', 'is not JSON (Content-Type text/html; application/json expected).')
    await refused(
      `${base}/broken.json`,
      'JSON',
      `The client ID metadata document at ${base}/broken.json is not valid JSON.`,
    )
    await refused(`${base}/missing.json`, 'status', 'answered HTTP 404, not 200.')
  })

  it('checklist 127: a document that lies about its client_id is refused', async () => {
    await refused(
      `${base}/liar.json`,
      'client_id',
      `names another client_id (https://someone-else.example.test/client.json); it must be exactly its own URL.`,
    )
  })

  it('checklist 157: a document that repeats a member is refused naming it (JSON.parse would keep the last)', async () => {
    await refused(
      `${base}/repeated.json`,
      'JSON',
      `The client ID metadata document at ${base}/repeated.json repeats the member client_id; each member must appear once.`,
    )
  })

  it('checklist 127: a redirect_uri the document does not list is refused', async () => {
    await refused(
      `${base}/no-redirect.json`,
      'redirect_uri',
      `redirect_uri ${CALLBACK} is not one of the redirect_uris of the client ID metadata document at ${base}/no-redirect.json (http://127.0.0.1:6274/other).`,
    )
  })

  it('checklist 127: a shared-secret method is refused', async () => {
    await refused(
      `${base}/secret.json`,
      'token_endpoint_auth_method',
      'asks for token_endpoint_auth_method client_secret_basic; only none and private_key_jwt are allowed',
    )
  })

  it('checklist 128: http off loopback, no path, credentials and private network addresses are refused before any fetch', async () => {
    await refused(
      'http://client.example.test/client.json',
      'client_id URL',
      'uses plain http on a host that is not a loopback address',
    )
    await refused(`${base}/`, 'client_id URL', 'must have a path')
    await refused(`http://user:pw@127.0.0.1:1/c.json`, 'client_id URL', 'must not contain a user name or password')
    for (const address of [
      '10.1.2.3',
      '192.168.1.1',
      '172.16.0.9',
      '169.254.169.254',
      '[fe80::1]',
      '[fd00::1]',
      '100.64.0.1',
    ]) {
      await refused(
        `https://${address}/client.json`,
        'network address',
        /resolves to the private or link-local address .*allowPrivateNetworks/,
      )
    }
    expect(addressProblem('10.0.0.1', true)).toBeUndefined()
    expect(addressProblem('127.0.0.1', false)).toBeUndefined()
    expect(addressProblem('::ffff:192.168.0.1', false)).toMatch(/private/)
    expect(addressProblem('93.184.216.34', false)).toBeUndefined()
  })
})

describe('accepted documents', () => {
  it("checklist 129: the consent page shows the document's host prominently", async () => {
    const reply = await authorize(server, request(`${base}/good.json`))
    expect(reply.status).toBe(200)
    const host = new URL(base).host
    expect(reply.text).toContain(`Published by <strong class="client-host">${host}</strong>`)
    expect(reply.text).toContain('Document client')
    expect(
      server.db
        .prepare('SELECT source, type, token_endpoint_auth_method, redirect_uris FROM oauth_clients WHERE id = ?')
        .get(`${base}/good.json`),
    ).toEqual({
      source: 'metadata',
      type: 'public',
      token_endpoint_auth_method: 'none',
      redirect_uris: JSON.stringify([CALLBACK]),
    })
  })

  it('checklist 129: cached per Cache-Control, at most 24 hours; without it fetched again', async () => {
    expect(cacheLifetime('max-age=3600')).toBe(3_600_000)
    expect(cacheLifetime('public, max-age=999999')).toBe(86_400_000)
    expect(cacheLifetime('no-store, max-age=60')).toBe(0)
    expect(cacheLifetime(undefined)).toBe(0)
    fetches = {}
    await authorize(server, request(`${base}/cached.json`))
    await authorize(server, request(`${base}/cached.json`))
    expect(fetches['/cached.json']).toBe(1)
    await authorize(server, request(`${base}/good.json`))
    await authorize(server, request(`${base}/good.json`))
    expect(fetches['/good.json']).toBe(2)
  })

  it('checklist 130: oauth4webapi completes the flow with the URL as client_id (public client, PKCE, resource)', async () => {
    const headless = await startMcpServer()
    try {
      const issuer = new URL(headless.issuer)
      const options = {[oauth.allowInsecureRequests]: true} as const
      const as = await oauth.processDiscoveryResponse(
        issuer,
        await oauth.discoveryRequest(issuer, {algorithm: 'oauth2', ...options}),
      )
      expect(as.client_id_metadata_document_supported).toBe(true)
      const client: oauth.Client = {client_id: `${base}/good.json`, token_endpoint_auth_method: 'none'}
      const verifier = oauth.generateRandomCodeVerifier()
      const url = new URL(as.authorization_endpoint!)
      for (const [key, value] of Object.entries({
        client_id: client.client_id,
        redirect_uri: CALLBACK,
        response_type: 'code',
        scope: 'read',
        code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        resource: MCP,
      }))
        url.searchParams.set(key, value)
      const answer = await fetch(url, {redirect: 'manual'})
      expect(answer.status).toBe(302)
      const params = oauth.validateAuthResponse(
        as,
        client,
        new URL(answer.headers.get('location')!),
        oauth.expectNoState,
      )
      const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, CALLBACK, verifier, {
        ...options,
        additionalParameters: {resource: MCP},
      })
      const tokens = await oauth.processAuthorizationCodeResponse(as, client, response)
      expect(claims(tokens.access_token)).toMatchObject({
        client_id: `${base}/good.json`,
        aud: MCP,
        sub: 'alice',
        scope: 'read',
      })
      const refreshed = await oauth.processRefreshTokenResponse(
        as,
        client,
        await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token!, options),
      )
      expect(claims(refreshed.access_token).aud).toBe(MCP)
    } finally {
      await headless.close()
    }
  })

  it('with "clientIdMetadataDocuments": false, a URL client_id is an unknown client and discovery does not advertise documents', async () => {
    const off = await startMcpServer({config: {clientIdMetadataDocuments: false}})
    try {
      const meta = (await read(await fetch(`${off.url}/.well-known/oauth-authorization-server`))).json
      expect(meta.client_id_metadata_document_supported).toBeUndefined()
      fetches = {}
      const reply = await authorize(off, request(`${base}/good.json`))
      expect(reply.status).toBe(400)
      expect(reply.text).toContain('Unknown client')
      expect(fetches['/good.json']).toBeUndefined()
    } finally {
      await off.close()
    }
  })
})
