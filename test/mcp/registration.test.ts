import {join} from 'node:path'

import fc from 'fast-check'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {validateRedirectUri} from '../../src/core/uris.js'
import {
  MAX_REGISTERED_CLIENTS,
  REGISTRABLE_GRANTS,
  checkRegistration,
  saveRegisteredClient,
} from '../../src/core/registration.js'
import {defaultConfig} from '../../src/core/config.js'
import {Store} from '../../src/store/index.js'
import {runCli, tempDir} from '../helpers.js'
import {basic, claims, postForm, postJson, read, startMcpServer, type McpServer} from './support.js'

// SPEC §10.2: RFC 7591 dynamic client registration.

let server: McpServer
beforeAll(async () => {
  server = await startMcpServer()
})
afterAll(() => server.close())

const register = (body: unknown, headers: Record<string, string> = {}) =>
  postJson(server.endpoint('/register'), body, headers)
const row = (id: string) =>
  server.db.prepare('SELECT * FROM oauth_clients WHERE id = ?').get(id) as Record<string, unknown> | undefined
const JWK = {
  kty: 'EC',
  crv: 'P-256',
  x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
  y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
}

describe('registration answers (RFC 7591 §3.2.1)', () => {
  it('checklist 119: a public client (none) → 201 with every registered member, client_id and client_id_issued_at, no secret', async () => {
    const body = {
      redirect_uris: ['http://127.0.0.1:6274/oauth/callback'],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      client_name: 'MCP Inspector',
      scope: 'read write',
      application_type: 'native',
      client_uri: 'https://inspector.example.test/',
      logo_uri: 'https://inspector.example.test/logo.png',
      contacts: ['dev@example.test'],
      software_id: 'mcp-inspector',
      software_version: '1.2.3',
      some_extension: 'ignored',
    }
    const before = Math.floor(Date.now() / 1000)
    const reply = await register(body)
    expect(reply.status).toBe(201)
    expect(reply.headers.get('cache-control')).toBe('no-store')
    const {some_extension: _ignored, ...registered} = body
    expect(reply.json).toEqual({...registered, client_id: expect.any(String), client_id_issued_at: expect.any(Number)})
    expect(reply.json.client_id_issued_at as number).toBeGreaterThanOrEqual(before)
    expect(row(reply.json.client_id as string)).toMatchObject({
      source: 'registered',
      type: 'public',
      secret_hash: null,
      token_endpoint_auth_method: 'none',
      name: 'MCP Inspector',
      scopes: null,
    })
  })

  it('checklist 119: the default is client_secret_basic: a secret with client_secret_expires_at 0, stored only hashed, and it works', async () => {
    const reply = await register({grant_types: ['client_credentials'], scope: 'read'})
    expect(reply.status).toBe(201)
    expect(reply.json).toMatchObject({
      token_endpoint_auth_method: 'client_secret_basic',
      client_secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      client_secret_expires_at: 0,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      application_type: 'web',
    })
    const stored = row(reply.json.client_id as string)!
    expect(stored.secret_hash).not.toBe(reply.json.client_secret)
    expect(JSON.stringify(stored)).not.toContain(reply.json.client_secret as string)
    const token = await postForm(
      server.endpoint('/token'),
      {grant_type: 'client_credentials', scope: 'read'},
      {authorization: basic(reply.json.client_id as string, reply.json.client_secret as string)},
    )
    expect(token.status).toBe(200)
    expect(claims(token.json.access_token).sub).toBe(reply.json.client_id)
  })

  it('checklist 119: private_key_jwt stores jwks or jwks_uri for the token endpoint (and issues no secret)', async () => {
    const withKeys = await register({
      grant_types: ['client_credentials'],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: {keys: [JWK]},
    })
    expect(withKeys.status).toBe(201)
    expect(withKeys.json.client_secret).toBeUndefined()
    expect(withKeys.json.jwks).toEqual({keys: [JWK]})
    expect(row(withKeys.json.client_id as string)).toMatchObject({
      type: 'confidential',
      secret_hash: null,
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: JSON.stringify({keys: [JWK]}),
      jwks_uri: null,
    })
    const withUri = await register({
      grant_types: ['client_credentials'],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks_uri: 'https://client.example.test/jwks.json',
    })
    expect(withUri.status).toBe(201)
    expect(row(withUri.json.client_id as string)).toMatchObject({
      jwks: null,
      jwks_uri: 'https://client.example.test/jwks.json',
    })
  })

  it('checklist 119: the client is listed by client:list as registered and deleted by client:delete', async () => {
    const {dir, cleanup} = tempDir()
    try {
      const database = join(dir, 'passport.sqlite')
      const store = Store.open(database)
      const {client} = checkRegistration(defaultConfig(), {
        redirect_uris: ['http://localhost:3000/cb'],
        client_name: 'From registration',
        token_endpoint_auth_method: 'none',
      })
      saveRegisteredClient(store, client)
      store.close()
      const list = await runCli(['client:list', '--json', '--database', database], {cwd: dir})
      expect(JSON.parse(list.stdout)).toEqual([
        expect.objectContaining({
          client_id: client.id,
          name: 'From registration',
          source: 'registered',
          type: 'public',
        }),
      ])
      const deleted = await runCli(['client:delete', client.id, '--force', '--json', '--database', database], {
        cwd: dir,
      })
      expect(JSON.parse(deleted.stdout)).toMatchObject({client_id: client.id, deleted: true})
      const after = Store.open(database)
      expect(after.clients.find(client.id)).toBeUndefined()
      after.close()
    } finally {
      cleanup()
    }
  })
})

describe('every RFC 7591 error case: 400 with the check that failed', () => {
  const cases: [string, unknown, string, string][] = [
    [
      'not an object',
      [1, 2],
      'invalid_client_metadata',
      'The registration request must be a JSON object of client metadata (RFC 7591 section 2).',
    ],
    [
      'redirect_uris missing for authorization_code',
      {},
      'invalid_redirect_uri',
      'redirect_uris must list at least one redirect URI for the authorization_code grant.',
    ],
    [
      'redirect_uris not an array',
      {redirect_uris: 'http://localhost/cb'},
      'invalid_client_metadata',
      'redirect_uris must be an array of strings.',
    ],
    [
      'relative redirect URI',
      {redirect_uris: ['/cb']},
      'invalid_redirect_uri',
      "Redirect URI '/cb' is not an absolute URI (e.g. http://localhost:3000/callback).",
    ],
    [
      'fragment',
      {redirect_uris: ['https://app.example.test/cb#x']},
      'invalid_redirect_uri',
      "Redirect URI 'https://app.example.test/cb#x' must not contain a fragment (#).",
    ],
    [
      'plain http off loopback',
      {redirect_uris: ['http://app.example.test/cb']},
      'invalid_redirect_uri',
      "Redirect URI 'http://app.example.test/cb' uses plain http on a host that is not localhost or a loopback address; use https.",
    ],
    [
      'javascript: scheme',
      {redirect_uris: ['javascript:alert(1)'], application_type: 'native'},
      'invalid_redirect_uri',
      "Redirect URI 'javascript:alert(1)' uses the javascript: scheme, which cannot receive a redirect safely.",
    ],
    [
      'private-use scheme for a web client',
      {redirect_uris: ['com.example.app:/cb']},
      'invalid_redirect_uri',
      "Redirect URI 'com.example.app:/cb' uses the com.example.app: scheme; a web client uses http(s) (register application_type 'native' for a private-use scheme).",
    ],
    [
      'too many redirect URIs',
      {redirect_uris: Array.from({length: 21}, (_, i) => `http://localhost/cb${i}`)},
      'invalid_client_metadata',
      'redirect_uris may list at most 20 values.',
    ],
    [
      'unknown auth method',
      {redirect_uris: ['http://localhost/cb'], token_endpoint_auth_method: 'tls_client_auth'},
      'invalid_client_metadata',
      "token_endpoint_auth_method 'tls_client_auth' is not supported; use one of none, client_secret_basic, client_secret_post, private_key_jwt.",
    ],
    [
      'unknown grant',
      {redirect_uris: ['http://localhost/cb'], grant_types: ['implicit']},
      'invalid_client_metadata',
      "grant_types: 'implicit' is not supported; use authorization_code, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:device_code.",
    ],
    ['empty grant_types', {grant_types: []}, 'invalid_client_metadata', 'grant_types must name at least one grant.'],
    [
      'unknown response type',
      {redirect_uris: ['http://localhost/cb'], response_types: ['token']},
      'invalid_client_metadata',
      "response_types: 'token' is not supported; only 'code' is.",
    ],
    [
      'authorization_code without code',
      {redirect_uris: ['http://localhost/cb'], response_types: []},
      'invalid_client_metadata',
      "grant_types includes authorization_code, so response_types must include 'code' (RFC 7591 section 2.1).",
    ],
    [
      'code without authorization_code',
      {grant_types: ['client_credentials'], response_types: ['code']},
      'invalid_client_metadata',
      "response_types includes 'code', so grant_types must include authorization_code (RFC 7591 section 2.1).",
    ],
    [
      'refresh_token alone',
      {grant_types: ['refresh_token']},
      'invalid_client_metadata',
      'grant_types has refresh_token alone; it needs a grant that issues refresh tokens (authorization_code or the device code grant).',
    ],
    [
      'public client with client_credentials',
      {grant_types: ['client_credentials'], token_endpoint_auth_method: 'none'},
      'invalid_client_metadata',
      "A client with token_endpoint_auth_method 'none' cannot use the client_credentials grant; register a confidential client.",
    ],
    [
      'private_key_jwt without keys',
      {grant_types: ['client_credentials'], token_endpoint_auth_method: 'private_key_jwt'},
      'invalid_client_metadata',
      "token_endpoint_auth_method 'private_key_jwt' needs the client's public keys: send jwks or jwks_uri.",
    ],
    [
      'jwks and jwks_uri',
      {grant_types: ['client_credentials'], jwks: {keys: [JWK]}, jwks_uri: 'https://c.example.test/jwks'},
      'invalid_client_metadata',
      'Send either jwks or jwks_uri, not both (RFC 7591 section 2).',
    ],
    [
      'jwks not a set',
      {grant_types: ['client_credentials'], jwks: [JWK]},
      'invalid_client_metadata',
      "jwks must be a JWK Set: an object with a 'keys' array.",
    ],
    [
      'jwks with a private key',
      {grant_types: ['client_credentials'], jwks: {keys: [{...JWK, d: 'secret'}]}},
      'invalid_client_metadata',
      "jwks.keys[0] holds the private member 'd'; register public keys only.",
    ],
    [
      'jwks with a symmetric key',
      {grant_types: ['client_credentials'], jwks: {keys: [{kty: 'oct', k: 'c2VjcmV0'}]}},
      'invalid_client_metadata',
      'jwks.keys[0].kty must be RSA, EC or OKP (a public key).',
    ],
    [
      'jwks_uri over http',
      {grant_types: ['client_credentials'], jwks_uri: 'http://c.example.test/jwks'},
      'invalid_client_metadata',
      'jwks_uri must be an https URL (http only on localhost or a loopback address).',
    ],
    [
      'unknown scope',
      {grant_types: ['client_credentials'], scope: 'read launch'},
      'invalid_client_metadata',
      'scope names unknown scope launch; known: openid, profile, email, offline_access, read, write, admin.',
    ],
    [
      'scope not a string',
      {grant_types: ['client_credentials'], scope: ['read']},
      'invalid_client_metadata',
      'scope must be a string.',
    ],
    [
      'client_name not a string',
      {grant_types: ['client_credentials'], client_name: 42},
      'invalid_client_metadata',
      'client_name must be a string.',
    ],
    [
      'client_name too long',
      {grant_types: ['client_credentials'], client_name: 'x'.repeat(256)},
      'invalid_client_metadata',
      'client_name must be at most 255 characters.',
    ],
    [
      'client_name with a control character',
      {grant_types: ['client_credentials'], client_name: 'a\nb'},
      'invalid_client_metadata',
      'client_name must not contain control characters.',
    ],
    [
      'application_type',
      {grant_types: ['client_credentials'], application_type: 'browser'},
      'invalid_client_metadata',
      "application_type must be 'web' or 'native', not 'browser'.",
    ],
    [
      'client_uri not a URL',
      {grant_types: ['client_credentials'], client_uri: 'example'},
      'invalid_client_metadata',
      'client_uri must be an absolute http(s) URL.',
    ],
    [
      'logo_uri with another scheme',
      {grant_types: ['client_credentials'], logo_uri: 'data:image/png;base64,AA'},
      'invalid_client_metadata',
      'logo_uri must be an http(s) URL, not data:.',
    ],
    [
      'contacts not strings',
      {grant_types: ['client_credentials'], contacts: [1]},
      'invalid_client_metadata',
      'contacts must be an array of strings.',
    ],
    [
      'software_id not a string',
      {grant_types: ['client_credentials'], software_id: {}},
      'invalid_client_metadata',
      'software_id must be a string.',
    ],
    [
      'software_version not a string',
      {grant_types: ['client_credentials'], software_version: 1},
      'invalid_client_metadata',
      'software_version must be a string.',
    ],
  ]
  it.each(cases)('checklist 118: %s', async (_name, body, error, description) => {
    const before = (
      server.db.prepare("SELECT COUNT(*) AS n FROM oauth_clients WHERE source = 'registered'").get() as {n: number}
    ).n
    const reply = await register(body)
    expect(reply.status).toBe(400)
    expect(reply.json).toEqual({error, error_description: description})
    expect(
      (server.db.prepare("SELECT COUNT(*) AS n FROM oauth_clients WHERE source = 'registered'").get() as {n: number}).n,
    ).toBe(before)
  })

  it('checklist 118: a body that is not JSON, or not sent as application/json → 400 invalid_client_metadata', async () => {
    expect((await register('{"redirect_uris": [')).json).toEqual({
      error: 'invalid_client_metadata',
      error_description: 'The registration request body is not valid JSON (UTF-8).',
    })
    const form = await read(
      await fetch(server.endpoint('/register'), {
        method: 'POST',
        headers: {'content-type': 'application/x-www-form-urlencoded'},
        body: 'redirect_uris=x',
      }),
    )
    expect(form.status).toBe(400)
    expect(form.json).toEqual({
      error: 'invalid_client_metadata',
      error_description:
        'The registration request must be sent as application/json, not application/x-www-form-urlencoded (RFC 7591 section 3.1).',
    })
  })

  it('checklist 150: a member repeated in the registration body (at any depth) → 400 invalid_client_metadata naming it, nothing stored', async () => {
    const count = () =>
      (server.db.prepare("SELECT COUNT(*) AS n FROM oauth_clients WHERE source = 'registered'").get() as {n: number}).n
    const before = count()
    const key = JSON.stringify(JWK).slice(1, -1)
    for (const [text, member] of [
      // JSON.parse would keep the last value: a public client would have become a confidential one.
      [
        '{"redirect_uris":["http://localhost/cb"],"token_endpoint_auth_method":"none","token_endpoint_auth_method":"client_secret_basic"}',
        'token_endpoint_auth_method',
      ],
      [
        `{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[{${key}},{${key},"crv":"P-384"}]}}`,
        'jwks.keys[1].crv',
      ],
    ] as const) {
      const reply = await register(text)
      expect(reply.status).toBe(400)
      expect(reply.json).toEqual({
        error: 'invalid_client_metadata',
        error_description: `The registration request repeats the member ${member}; send each member once.`,
      })
    }
    expect(count()).toBe(before)
    // The same name in two objects, or inside a string, is no repetition.
    const fine = await register(
      `{"grant_types":["client_credentials"],"client_name":"\\"jwks\\":","token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[{${key},"kid":"a"},{${key},"kid":"b"}]}}`,
    )
    expect(fine.status, JSON.stringify(fine.json)).toBe(201)
  })
})

describe('turning registration off, initial access tokens, the cap', () => {
  it('checklist 120: registration is advertised exactly when it is on; "registration": false and --no-registration turn it off', async () => {
    for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
      const meta = (await read(await fetch(`${server.url}${path}`))).json
      expect(meta.registration_endpoint).toBe(server.endpoint('/register'))
    }
    for (const options of [{config: {registration: false}}, {registration: false}]) {
      const off = await startMcpServer(options)
      try {
        for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
          expect((await read(await fetch(`${off.url}${path}`))).json.registration_endpoint).toBeUndefined()
        }
        const reply = await postJson(off.endpoint('/register'), {redirect_uris: ['http://localhost/cb']})
        expect(reply.status).toBe(404)
        expect(off.db.prepare("SELECT COUNT(*) AS n FROM oauth_clients WHERE source = 'registered'").get()).toEqual({
          n: 0,
        })
      } finally {
        await off.close()
      }
    }
  })

  it('checklist 120: with an initial access token, registration needs that bearer (401 invalid_token otherwise)', async () => {
    const token = 'initial-access-token-0123456789'
    const guarded = await startMcpServer({config: {registration: {initialAccessToken: token}}})
    try {
      const body = {grant_types: ['client_credentials']}
      const missing = await postJson(guarded.endpoint('/register'), body)
      expect(missing.status).toBe(401)
      expect(missing.headers.get('www-authenticate')).toBe('Bearer')
      expect(missing.json).toEqual({
        error: 'invalid_token',
        error_description: 'Registration needs an initial access token: send Authorization: Bearer <token>.',
      })
      const wrong = await postJson(guarded.endpoint('/register'), body, {authorization: `Bearer ${token}x`})
      expect(wrong.status).toBe(401)
      expect(wrong.json.error).toBe('invalid_token')
      const basicAuth = await postJson(guarded.endpoint('/register'), body, {authorization: basic('a', token)})
      expect(basicAuth.status).toBe(401)
      const right = await postJson(guarded.endpoint('/register'), body, {authorization: `Bearer ${token}`})
      expect(right.status).toBe(201)
    } finally {
      await guarded.close()
    }
  })

  it(`checklist 121: registered clients are capped (${MAX_REGISTERED_CLIENTS}): the oldest registration makes room, with its tokens`, () => {
    const store = Store.open(':memory:')
    try {
      const ids: string[] = []
      for (let i = 0; i < 4; i++) {
        const {client} = checkRegistration(defaultConfig(), {grant_types: ['client_credentials']}, Date.now() + i)
        const {evicted} = saveRegisteredClient(store, client, 3)
        expect(evicted).toEqual(i < 3 ? [] : [ids[0]])
        ids.push(client.id)
      }
      expect(store.clients.list().map((c) => c.id)).toEqual(ids.slice(1))
    } finally {
      store.close()
    }
  })
})

describe('fast-check: generated registration bodies', () => {
  const uri = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.constantFrom(
        'http://localhost:3000/cb',
        'http://127.0.0.1/cb',
        'https://app.example.test/cb?x=1',
        'http://[::1]:8080/cb',
      ),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'com.example.app:/cb',
        'http://evil.example.test/cb',
        'javascript:alert(1)',
        '/relative',
        'https://a.test/#f',
        '',
      ),
    },
    {weight: 1, arbitrary: fc.webUrl()},
    {weight: 1, arbitrary: fc.string({maxLength: 30})},
  )
  const anyValue = fc.oneof(
    fc.string({maxLength: 20}),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.string({maxLength: 10}), {maxLength: 3}),
    fc.dictionary(fc.string({maxLength: 5}), fc.string({maxLength: 5}), {maxKeys: 2}),
  )
  const biased = (valid: fc.Arbitrary<unknown>, invalid: fc.Arbitrary<unknown>) =>
    fc.oneof({weight: 8, arbitrary: valid}, {weight: 1, arbitrary: invalid})
  const member = <T>(arb: fc.Arbitrary<T>) => fc.oneof({weight: 12, arbitrary: arb}, {weight: 1, arbitrary: anyValue})
  const body = fc.record(
    {
      redirect_uris: member(fc.array(uri, {maxLength: 4})),
      token_endpoint_auth_method: member(
        biased(
          fc.constantFrom('none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt'),
          fc.constant('tls_client_auth'),
        ),
      ),
      grant_types: member(
        biased(
          fc.constantFrom(
            ['authorization_code'],
            ['authorization_code', 'refresh_token'],
            ['client_credentials'],
            [REGISTRABLE_GRANTS[3]!],
          ),
          fc.subarray([...REGISTRABLE_GRANTS, 'implicit', 'password']),
        ),
      ),
      response_types: member(biased(fc.constant(['code']), fc.subarray(['code', 'token', 'id_token']))),
      client_name: member(fc.string({maxLength: 40})),
      scope: member(fc.constantFrom('read', 'read write', 'openid profile', 'launch', '')),
      jwks: member(fc.constantFrom({keys: [JWK]}, {keys: [JWK]}, {keys: []}, {keys: [{...JWK, d: 'x'}]})),
      jwks_uri: member(
        fc.constantFrom('https://c.example.test/jwks', 'http://localhost/jwks', 'http://c.example.test/jwks'),
      ),
      application_type: member(biased(fc.constantFrom('web', 'native'), fc.constant('browser'))),
      client_uri: member(fc.webUrl()),
      logo_uri: member(fc.webUrl()),
      contacts: member(fc.array(fc.emailAddress(), {maxLength: 3})),
      software_id: member(fc.uuid()),
      software_version: member(fc.string({maxLength: 10})),
      extension: anyValue,
    },
    {requiredKeys: [], noNullPrototype: false},
  )

  // Bodies that are coherent by construction (a profile plus random optional members), mostly valid.
  const coherent = fc
    .tuple(
      fc.constantFrom(
        {
          redirect_uris: ['http://127.0.0.1/cb'],
          token_endpoint_auth_method: 'none',
          grant_types: ['authorization_code', 'refresh_token'],
        },
        {redirect_uris: ['https://app.example.test/cb'], grant_types: ['authorization_code']},
        {grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_post'},
        {grant_types: ['client_credentials'], token_endpoint_auth_method: 'private_key_jwt', jwks: {keys: [JWK]}},
        {grant_types: [REGISTRABLE_GRANTS[3]!], token_endpoint_auth_method: 'none'},
      ),
      fc.record(
        {
          client_name: fc.string({maxLength: 300}),
          contacts: fc.array(fc.emailAddress(), {maxLength: 12}),
          software_version: fc.string({maxLength: 10}),
          client_uri: fc.webUrl(),
          application_type: fc.constantFrom('web', 'native'),
          redirect_uris: fc.array(uri, {maxLength: 3}),
        },
        {requiredKeys: []},
      ),
    )
    .map(([profile, extra]) => ({...profile, ...extra}))

  it('checklist 122: 2,000 bodies → only 201 or 400 (invalid_client_metadata / invalid_redirect_uri), and every stored client is valid', async () => {
    const fuzz = await startMcpServer()
    let created = 0
    let sent = 0
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.oneof(body, coherent), {minLength: 10, maxLength: 10}), async (batch) => {
          const replies = await Promise.all(batch.map((b) => postJson(fuzz.endpoint('/register'), b)))
          for (const reply of replies) {
            sent++
            if (reply.status === 201) {
              created++
              continue
            }
            expect(reply.status, reply.text).toBe(400)
            expect(['invalid_client_metadata', 'invalid_redirect_uri']).toContain(reply.json.error)
            expect(typeof reply.json.error_description).toBe('string')
          }
        }),
        {numRuns: 200, endOnFailure: true},
      )
      expect(sent).toBe(2000)
      const rows = fuzz.db.prepare("SELECT * FROM oauth_clients WHERE source = 'registered'").all() as Record<
        string,
        string | null
      >[]
      expect(rows.length).toBe(Math.min(created, MAX_REGISTERED_CLIENTS))
      expect(created).toBeGreaterThan(200)
      for (const r of rows) {
        const grants = JSON.parse(r.grant_types!) as string[]
        const redirects = JSON.parse(r.redirect_uris!) as string[]
        expect(grants.length).toBeGreaterThan(0)
        for (const grant of grants) expect(REGISTRABLE_GRANTS).toContain(grant)
        for (const redirect of redirects) expect(() => validateRedirectUri(redirect)).not.toThrow()
        if (grants.includes('authorization_code')) expect(redirects.length).toBeGreaterThan(0)
        const method = r.token_endpoint_auth_method!
        expect(['none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt']).toContain(method)
        expect(r.type).toBe(method === 'none' ? 'public' : 'confidential')
        expect(r.secret_hash !== null).toBe(method === 'client_secret_basic' || method === 'client_secret_post')
        if (method === 'none') expect(grants).not.toContain('client_credentials')
        if (method === 'private_key_jwt') expect(r.jwks !== null || r.jwks_uri !== null).toBe(true)
      }
    } finally {
      await fuzz.close()
    }
  }, 120_000)
})
