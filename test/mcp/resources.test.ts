import {mkdirSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {parseConfig} from '../../src/core/config.js'
import {generateKeys} from '../../src/core/keys.js'
import {serveJson} from '../fixtures/serve.js'
import {runCli, tempDir, writeJson} from '../helpers.js'
import {
  API,
  CHALLENGE,
  CONFIG,
  MCP,
  REDIRECT,
  VERIFIER,
  authorize,
  basic,
  claims,
  postForm,
  postJson,
  read,
  startMcpServer,
  type McpServer,
} from './support.js'

// SPEC §10.1: RFC 8707 resources and audiences.

let server: McpServer
beforeAll(async () => {
  server = await startMcpServer()
})
afterAll(() => server.close())

const codeParams = (extra: Record<string, string | string[]> = {}) => ({
  response_type: 'code',
  client_id: 'spa',
  redirect_uri: REDIRECT,
  code_challenge: CHALLENGE,
  code_challenge_method: 'S256',
  state: 's-1',
  scope: 'read',
  ...extra,
})

async function code(extra: Record<string, string | string[]> = {}): Promise<string> {
  const reply = await authorize(server, codeParams(extra))
  expect(reply.status).toBe(302)
  const value = reply.location!.searchParams.get('code')
  expect(value, reply.location?.toString()).toBeTruthy()
  return value!
}

const redeem = (value: string, extra: Record<string, string | string[]> = {}) =>
  postForm(server.endpoint('/token'), {
    grant_type: 'authorization_code',
    client_id: 'spa',
    code: value,
    redirect_uri: REDIRECT,
    code_verifier: VERIFIER,
    ...extra,
  })
const refresh = (token: string, extra: Record<string, string | string[]> = {}) =>
  postForm(server.endpoint('/token'), {grant_type: 'refresh_token', client_id: 'spa', refresh_token: token, ...extra})
const cc = (extra: Record<string, string | string[]>) =>
  postForm(
    server.endpoint('/token'),
    {grant_type: 'client_credentials', ...extra},
    {authorization: basic('svc', 'svc-secret-123')},
  )

describe('resource on /authorize and the authorization code', () => {
  it("checklist 114: one resource → the code remembers it and the token's aud is that resource (a string)", async () => {
    const value = await code({resource: MCP})
    const row = server.db.prepare('SELECT resource FROM oauth_auth_codes ORDER BY id DESC LIMIT 1').get() as {
      resource: string
    }
    expect(JSON.parse(row.resource)).toEqual([MCP])
    const reply = await redeem(value)
    expect(reply.status).toBe(200)
    expect(claims(reply.json.access_token)).toMatchObject({aud: MCP, client_id: 'spa', sub: 'alice', scope: 'read'})
  })

  it('checklist 114: several resources → aud is an array; the token request may ask for a subset', async () => {
    const both = await redeem(await code({resource: [MCP, API]}))
    expect(both.status).toBe(200)
    expect(claims(both.json.access_token).aud).toEqual([MCP, API])

    const subset = await redeem(await code({resource: [MCP, API]}), {resource: API})
    expect(subset.status).toBe(200)
    expect(claims(subset.json.access_token).aud).toBe(API)
  })

  it('checklist 115: a token request for a resource the code was not for → 400 invalid_target, and the code stays unused', async () => {
    const value = await code({resource: MCP})
    const reply = await redeem(value, {resource: API})
    expect(reply.status).toBe(400)
    expect(reply.json).toEqual({
      error: 'invalid_target',
      error_description: `resource ${API} was not part of the authorization request (granted: ${MCP}); a token request may only ask for the same resources or fewer.`,
    })
    expect((await redeem(value)).status).toBe(200)
  })

  it('without resource the aud stays the client id', async () => {
    const reply = await redeem(await code())
    expect(claims(reply.json.access_token).aud).toBe('spa')
  })

  it('checklist 113: an unregistered, relative or fragment resource → redirect with error=invalid_target, state and iss', async () => {
    for (const [resource, description] of [
      [
        'http://localhost:9/unknown',
        `resource http://localhost:9/unknown is not registered with this authority (registered: ${MCP}, ${API}); add it to resources in the configuration or start passport serve with --resource http://localhost:9/unknown.`,
      ],
      ['/mcp', 'resource /mcp is not an absolute URI (e.g. http://localhost:3000/mcp) (RFC 8707 section 2).'],
      [`${MCP}#frag`, `resource ${MCP}#frag must not contain a fragment (#) (RFC 8707 section 2).`],
    ] as const) {
      const reply = await authorize(server, codeParams({resource}))
      expect(reply.status).toBe(302)
      const location = reply.location!
      expect(`${location.origin}${location.pathname}`).toBe(REDIRECT)
      expect(Object.fromEntries(location.searchParams)).toEqual({
        error: 'invalid_target',
        error_description: description,
        state: 's-1',
        iss: server.issuer,
      })
    }
  })

  it('an invalid resource with an unknown client is a page, never a redirect', async () => {
    const reply = await authorize(server, codeParams({client_id: 'nobody', resource: 'http://localhost:9/unknown'}))
    expect(reply.status).toBe(400)
    expect(reply.location).toBeUndefined()
  })

  it("checklist 116: a resource's scopes limit what may be granted for it (invalid_scope), OpenID Connect scopes excepted", async () => {
    const reply = await authorize(server, codeParams({resource: MCP, scope: 'read write'}))
    expect(Object.fromEntries(reply.location!.searchParams)).toMatchObject({
      error: 'invalid_scope',
      error_description: `Scope write may not be granted for resource ${MCP}; allowed: read.`,
    })
    const oidc = await redeem(await code({resource: MCP, scope: 'openid read'}))
    expect(oidc.status).toBe(200)
    expect(claims(oidc.json.access_token)).toMatchObject({aud: MCP, scope: 'openid read'})
  })
})

describe('refresh narrows, never widens', () => {
  it('checklist 115: refresh without resource keeps every resource; with one narrows; with another → invalid_target', async () => {
    const first = await redeem(await code({resource: [MCP, API]}), {resource: MCP})
    expect(claims(first.json.access_token).aud).toBe(MCP)
    const all = await refresh(first.json.refresh_token as string)
    expect(all.status).toBe(200)
    expect(claims(all.json.access_token).aud).toEqual([MCP, API])
    const narrowed = await refresh(all.json.refresh_token as string, {resource: API})
    expect(narrowed.status).toBe(200)
    expect(claims(narrowed.json.access_token).aud).toBe(API)
    // The grant is unchanged by narrowing: the next refresh may ask for the other resource again.
    const again = await refresh(narrowed.json.refresh_token as string, {resource: MCP})
    expect(claims(again.json.access_token).aud).toBe(MCP)

    const wider = await refresh(again.json.refresh_token as string, {resource: 'https://other.example.test/'})
    expect(wider.status).toBe(400)
    expect(wider.json.error).toBe('invalid_target')
    expect(wider.json.error_description).toBe(
      `resource https://other.example.test/ was not part of the grant of the refresh token (granted: ${MCP}, ${API}); a token request may only ask for the same resources or fewer.`,
    )
  })
})

describe('client credentials, device authorization, introspection', () => {
  it('checklist 116: client_credentials with resource → aud; unregistered → 400 invalid_target; scope outside the resource → invalid_scope', async () => {
    const ok = await cc({resource: MCP, scope: 'read'})
    expect(ok.status).toBe(200)
    expect(claims(ok.json.access_token)).toMatchObject({aud: MCP, sub: 'svc'})
    const two = await cc({resource: [MCP, API]})
    expect(claims(two.json.access_token).aud).toEqual([MCP, API])
    const unknown = await cc({resource: 'urn:example:nothing'})
    expect(unknown.status).toBe(400)
    expect(unknown.json.error).toBe('invalid_target')
    const scope = await cc({resource: MCP, scope: 'write'})
    expect(scope.status).toBe(400)
    expect(scope.json).toEqual({
      error: 'invalid_scope',
      error_description: `Scope write may not be granted for resource ${MCP}; allowed: read.`,
    })
  })

  it('checklist 117: device authorization remembers its resources; an unregistered one → 400 invalid_target', async () => {
    const bad = await postForm(server.endpoint('/device/code'), {client_id: 'tv', resource: 'http://localhost:9/x'})
    expect(bad.status).toBe(400)
    expect(bad.json.error).toBe('invalid_target')

    const started = await postForm(server.endpoint('/device/code'), {client_id: 'tv', scope: 'read', resource: MCP})
    expect(started.status).toBe(200)
    const {decideDeviceAuthorization} = await import('../../src/core/device.js')
    const {Store} = await import('../../src/store/index.js')
    const store = Store.open(server.db.name)
    try {
      decideDeviceAuthorization(store, started.json.user_code as string, 'alice', true)
    } finally {
      store.close()
    }
    const tokens = await postForm(server.endpoint('/token'), {
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      client_id: 'tv',
      device_code: started.json.device_code as string,
    })
    expect(tokens.status).toBe(200)
    expect(claims(tokens.json.access_token).aud).toBe(MCP)
  })

  it('checklist 114: introspection reports aud (an array for several resources)', async () => {
    const two = await cc({resource: [MCP, API], scope: 'read'})
    const reply = await postForm(
      server.endpoint('/introspect'),
      {token: two.json.access_token as string},
      {authorization: basic('svc', 'svc-secret-123')},
    )
    expect(reply.json).toMatchObject({active: true, aud: [MCP, API], client_id: 'svc'})
  })
})

describe('configuration and command line', () => {
  it('"resources" in the config: URIs checked, scopes known, unknown keys named', () => {
    expect(parseConfig({resources: {[MCP]: {name: 'x', scopes: ['read']}}}).resources[MCP]).toEqual({
      name: 'x',
      scopes: ['read'],
    })
    expect(parseConfig({resources: {[MCP]: {}}}).resources[MCP]).toEqual({name: MCP, scopes: null})
    expect(() => parseConfig({resources: {'/relative': {}}})).toThrow(
      /"resources\.\/relative" must be keyed by an absolute URI without a fragment/,
    )
    expect(() => parseConfig({resources: {[MCP]: {scopes: ['nope']}}})).toThrow(/unknown "nope"/)
    expect(() => parseConfig({resources: {[MCP]: {audience: 'x'}}})).toThrow(
      /"resources\.http:\/\/localhost:3000\/mcp\.audience" must be one of name, scopes/,
    )
  })

  it('checklist 117: serve --resource registers a resource; passport token --resource sets aud (lean path and oclif alike)', async () => {
    const {dir, cleanup} = tempDir()
    try {
      mkdirSync(join(dir, 'storage'))
      await generateKeys(join(dir, 'storage'))
      writeJson(join(dir, 'passport.config.json'), {scopes: CONFIG.scopes, resources: {[MCP]: {scopes: ['read']}}})
      for (const env of [{}, {PASSPORT_LEAN_TOKEN: 'off'}] as Record<string, string>[]) {
        const minted = await runCli(
          ['token', '--user', 'alice', '--scope', 'read', '--resource', MCP, '--resource', API],
          {cwd: dir, env},
        )
        expect(minted.stderr).toBe('')
        expect(claims(minted.stdout.trim()).aud).toEqual([MCP, API])
        if (env.PASSPORT_LEAN_TOKEN === 'off') continue
        const refused = await runCli(['token', '--user', 'alice', '--scope', 'write', '--resource', MCP], {
          cwd: dir,
          env,
        })
        expect(refused.code).toBe(1)
        expect(refused.stderr).toContain(`Scope write may not be granted for resource ${MCP}; allowed: read.`)
        const fragment = await runCli(['token', '--resource', `${MCP}#x`], {cwd: dir, env})
        expect(fragment.code).toBe(1)
        expect(fragment.stderr).toContain('must not contain a fragment')
      }
    } finally {
      cleanup()
    }
  })
})

describe('serve --resource', () => {
  it('a resource given on the command line is accepted at the token endpoint; --no-registration turns registration off', async () => {
    const served = await serveJson(['--resource', 'http://localhost:7777/mcp', '--no-registration'], {
      config: {clients: [CONFIG.clients[2]]},
    })
    try {
      const {issuer} = served.line
      const ok = await postForm(
        `${issuer}/oauth/token`,
        {grant_type: 'client_credentials', resource: 'http://localhost:7777/mcp'},
        {authorization: basic('svc', 'svc-secret-123')},
      )
      expect(ok.status).toBe(200)
      expect(claims(ok.json.access_token).aud).toBe('http://localhost:7777/mcp')
      const other = await postForm(
        `${issuer}/oauth/token`,
        {grant_type: 'client_credentials', resource: MCP},
        {authorization: basic('svc', 'svc-secret-123')},
      )
      expect(other.json.error).toBe('invalid_target')
      const meta = (await read(await fetch(`${issuer}/.well-known/oauth-authorization-server`))).json
      expect(meta.registration_endpoint).toBeUndefined()
      expect((await postJson(`${issuer}/oauth/register`, {grant_types: ['client_credentials']})).status).toBe(404)
    } finally {
      await served.stop()
    }
  })
})
