import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startServer} from '../../src/api.js'
import type {AuthorityHandle} from '../../src/control/handle.js'
import {createClient, type NewClient} from '../../src/core/clients.js'
import {defaultConfig} from '../../src/core/config.js'
import {Store} from '../../src/store/index.js'
import {tempDir} from '../helpers.js'
import {defaultDb, expectOneLineError, openDb, passport, passportJson} from '../cli/support.js'

/**
 * Post-logout redirect URIs set without a configuration file (issue 18 finding 6): `passport client
 * --post-logout-redirect-uri` and `post_logout_redirect_uris` in RFC 7591 registration, then
 * followed by `end_session` exactly.
 */

interface ClientView {
  client_id: string
  redirect_uris: string[]
  post_logout_redirect_uris?: string[]
}

const SIGNED_OUT = 'http://localhost:3000/signed-out'

/** end_session with client_id and a post_logout_redirect_uri: [status, Location]. */
async function endSession(server: AuthorityHandle, clientId: string, uri: string): Promise<[number, string | null]> {
  const res = await fetch(
    server.url(
      `/oauth/end_session?${new URLSearchParams({client_id: clientId, post_logout_redirect_uri: uri, state: 's1'})}`,
    ),
    {redirect: 'manual', headers: {accept: 'application/json'}},
  )
  await res.arrayBuffer()
  return [res.status, res.headers.get('location')]
}

describe('passport client --post-logout-redirect-uri', () => {
  let dir: string
  let cleanup: () => void
  beforeAll(() => ({dir, cleanup} = tempDir()))
  afterAll(() => cleanup())

  it('checklist 152: stores the URIs, shows them (text, --json, client:show) and end_session follows exactly them', async () => {
    const created = await passport(dir, [
      'client',
      'Shop',
      '--id',
      'shop',
      '--public',
      '--redirect-uri',
      'http://localhost:3000/callback',
      '--post-logout-redirect-uri',
      SIGNED_OUT,
      '--post-logout-redirect-uri',
      'https://shop.example.test/bye',
    ])
    expect(created.code, created.stderr).toBe(0)
    expect(created.stdout).toContain(
      `  Redirect URIs: http://localhost:3000/callback\n  Post-logout:   ${SIGNED_OUT}, https://shop.example.test/bye\n`,
    )
    const view = await passportJson<ClientView>(dir, ['client:show', 'shop'])
    expect(view.post_logout_redirect_uris).toEqual([SIGNED_OUT, 'https://shop.example.test/bye'])
    const show = await passport(dir, ['client:show', 'shop'])
    expect(show.stdout).toMatch(
      /\nredirect_uris +http:\/\/localhost:3000\/callback\npost_logout_redirect_uris +http:\/\/localhost:3000\/signed-out https:\/\/shop\.example\.test\/bye\n/,
    )
    // A client without any shows no such field.
    const plain = await passportJson<ClientView>(dir, [
      'client',
      'Plain',
      '--public',
      '--redirect-uri',
      'http://localhost:3000/callback',
    ])
    expect(plain).not.toHaveProperty('post_logout_redirect_uris')

    const server = await startServer({database: defaultDb(dir)})
    try {
      expect(await endSession(server, 'shop', SIGNED_OUT)).toEqual([302, `${SIGNED_OUT}?state=s1`])
      expect(await endSession(server, 'shop', 'https://shop.example.test/bye')).toEqual([
        302,
        'https://shop.example.test/bye?state=s1',
      ])
      expect(await endSession(server, 'shop', 'http://localhost:3000/signed-out/')).toEqual([400, null])
      expect(await endSession(server, plain.client_id, SIGNED_OUT)).toEqual([400, null])
    } finally {
      await server.close()
    }
  })

  it('checklist 152: validates each URI with the redirect URI rules, naming it as a post-logout redirect URI', async () => {
    expectOneLineError(
      await passport(dir, [
        'client',
        'Bad',
        '--public',
        '--redirect-uri',
        'http://localhost:3000/callback',
        '--post-logout-redirect-uri',
        'http://localhost:3000/bye#top',
      ]),
      1,
      /^Error: Post-logout redirect URI "http:\/\/localhost:3000\/bye#top" must not contain a fragment \(#\)\.$/,
    )
    // The same rules in-process (createClient is what the command calls), without a process per case.
    const store = Store.open(`${dir}/rules.sqlite`)
    try {
      const create =
        (uri: string, extra: Partial<NewClient> = {}) =>
        () =>
          createClient(store, defaultConfig(), {
            name: 'Bad',
            kind: 'public',
            redirectUris: ['http://localhost:3000/callback'],
            postLogoutRedirectUris: [uri],
            ...extra,
          })
      expect(create('/bye')).toThrow(
        'Post-logout redirect URI "/bye" is not an absolute URI (e.g. http://localhost:3000/callback).',
      )
      expect(create('http://example.com/bye')).toThrow(
        'Post-logout redirect URI "http://example.com/bye" uses plain http on a host that is not localhost or a loopback address; use https, or pass --allow-insecure-redirect.',
      )
      expect(create('javascript:alert(1)')).toThrow(
        'Post-logout redirect URI "javascript:alert(1)" uses the javascript: scheme, which cannot receive a redirect safely.',
      )
      expect(create('http://localhost:3000/ bye')).toThrow(
        'Post-logout redirect URI "http://localhost:3000/ bye" must not contain whitespace.',
      )
      expect(create(SIGNED_OUT, {kind: 'client-credentials', redirectUris: []})).toThrow(
        '--post-logout-redirect-uri is for clients that sign people in (the authorization code grant); a client-credentials client has no sign-in to end.',
      )
      expect(create('http://example.com/bye', {allowInsecureRedirects: true})().client.postLogoutRedirectUris).toEqual([
        'http://example.com/bye',
      ])
      expect(store.clients.list().map((c) => c.name)).toEqual(['Bad'])
    } finally {
      store.close()
    }
  })
})

describe('post_logout_redirect_uris in dynamic client registration (RFC 7591, RP-Initiated Logout §3.1)', () => {
  let server: AuthorityHandle
  let database: string
  let cleanup: () => void
  beforeAll(async () => {
    const temp = tempDir()
    cleanup = temp.cleanup
    database = `${temp.dir}/passport.sqlite`
    server = await startServer({database})
  })
  afterAll(async () => {
    await server.close()
    cleanup()
  })

  const register = async (body: Record<string, unknown>) => {
    const res = await fetch(server.url('/oauth/register'), {
      method: 'POST',
      headers: {'content-type': 'application/json'},
      body: JSON.stringify(body),
    })
    return {status: res.status, json: (await res.json()) as Record<string, unknown>}
  }
  const base = {redirect_uris: ['http://localhost:3000/callback'], token_endpoint_auth_method: 'none'}

  it('are stored, echoed in the 201 answer and followed by end_session exactly; discovery keeps end_session_endpoint', async () => {
    const reply = await register({
      ...base,
      post_logout_redirect_uris: [SIGNED_OUT, SIGNED_OUT, 'https://app.example.test/bye'],
    })
    expect(reply.status).toBe(201)
    expect(reply.json.post_logout_redirect_uris).toEqual([SIGNED_OUT, 'https://app.example.test/bye'])
    const id = reply.json.client_id as string
    expect(await endSession(server, id, SIGNED_OUT)).toEqual([302, `${SIGNED_OUT}?state=s1`])
    expect(await endSession(server, id, 'https://app.example.test/bye?x=1')).toEqual([400, null])
    // Without the member the answer has none.
    expect((await register(base)).json).not.toHaveProperty('post_logout_redirect_uris')
    const discovery = (await (await fetch(server.url('/.well-known/openid-configuration'))).json()) as Record<
      string,
      unknown
    >
    expect(discovery.end_session_endpoint).toBe(server.url('/oauth/end_session'))
  })

  it('checklist 152: a bad value is 400 invalid_client_metadata naming the member and the problem; nothing is stored', async () => {
    const cases: [unknown, string][] = [
      ['http://localhost:3000/bye', 'post_logout_redirect_uris must be an array of strings.'],
      [[42], 'post_logout_redirect_uris must be an array of strings.'],
      [
        ['http://localhost:3000/bye#x'],
        "post_logout_redirect_uris: Post-logout redirect URI 'http://localhost:3000/bye#x' must not contain a fragment (#).",
      ],
      [
        ['http://example.com/bye'],
        "post_logout_redirect_uris: Post-logout redirect URI 'http://example.com/bye' uses plain http on a host that is not localhost or a loopback address; use https.",
      ],
      [
        ['com.example.app:/bye'],
        "post_logout_redirect_uris: Post-logout redirect URI 'com.example.app:/bye' uses the com.example.app: scheme; a web client uses http(s) (register application_type 'native' for a private-use scheme).",
      ],
      [
        Array.from({length: 21}, (_, i) => `http://localhost:3000/bye${i}`),
        'post_logout_redirect_uris may list at most 20 values.',
      ],
    ]
    for (const [value, description] of cases) {
      const reply = await register({...base, client_name: 'refused', post_logout_redirect_uris: value})
      expect(reply, JSON.stringify(value)).toEqual({
        status: 400,
        json: {error: 'invalid_client_metadata', error_description: description},
      })
    }
    const machine = await register({grant_types: ['client_credentials'], post_logout_redirect_uris: [SIGNED_OUT]})
    expect(machine).toEqual({
      status: 400,
      json: {
        error: 'invalid_client_metadata',
        error_description:
          'post_logout_redirect_uris needs the authorization_code grant: without a sign-in there is no logout to return from.',
      },
    })
    const db = openDb(database)
    expect(
      db
        .prepare(
          "SELECT count(*) AS n FROM oauth_clients WHERE name = 'refused' OR grant_types LIKE '%client_credentials%'",
        )
        .get(),
    ).toEqual({n: 0})
    db.close()
  })
})
