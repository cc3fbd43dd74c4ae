import {join} from 'node:path'

import Database from 'better-sqlite3'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'

import {runCli, tempDir} from '../helpers.js'
import {
  Browser,
  authorizePath,
  expectPageHeaders,
  expectSelfContained,
  field,
  location,
  pkce,
  sha256Hex,
  signInToConsent,
  startTestServer,
  type TestServer,
} from './harness.js'

/**
 * SECURITY-CHECKLIST.md §/authorize, lines 1–19. `headless` signs in as alice and approves
 * everything, so one GET shows whether a code is issued; `plain` has the sign-in and consent pages.
 */
let headless: TestServer
let plain: TestServer

beforeAll(async () => {
  headless = await startTestServer({loginAs: 'alice', autoApprove: true})
  plain = await startTestServer()
})

afterAll(async () => {
  await headless?.close()
  await plain?.close()
})

const WEB_CB = 'http://localhost:3000/callback'

function get(server: TestServer, params: Record<string, string | undefined>, accept = 'text/html'): Promise<Response> {
  return fetch(`${server.url}${authorizePath(server.prefix, params)}`, {redirect: 'manual', headers: {Accept: accept}})
}

/** The request must end on an error page (400), never a redirect, and issue no code. */
async function expectErrorPage(
  server: TestServer,
  params: Record<string, string | undefined>,
  text?: string,
): Promise<string> {
  const before = server.authCodes().length
  const res = await get(server, params)
  expect(res.status).toBe(400)
  expect(res.headers.get('location')).toBeNull()
  expectPageHeaders(res)
  const html = await res.text()
  if (text) expect(html).toContain(text)
  expect(server.authCodes().length).toBe(before)
  return html
}

/** The request must redirect (302) back to `base` with `error`, `state` and `iss`, and issue no code. */
async function expectErrorRedirect(
  server: TestServer,
  params: Record<string, string | undefined>,
  base: string,
  error: string,
): Promise<URLSearchParams> {
  const before = server.authCodes().length
  const res = await get(server, params)
  expect(res.status).toBe(302)
  const loc = location(res)
  expect(loc.base).toBe(base)
  expect(loc.params.get('error')).toBe(error)
  expect(loc.params.get('error_description')).toBeTruthy()
  expect(loc.params.get('iss')).toBe(server.issuer)
  expect(loc.params.get('code')).toBeNull()
  if (params.state !== undefined && params.state !== '') expect(loc.params.get('state')).toBe(params.state)
  expect(server.authCodes().length).toBe(before)
  return loc.params
}

/** The request must succeed in one 302 to `href` (exact, before the appended parameters) with a fresh code row. */
async function expectCode(server: TestServer, params: Record<string, string | undefined>, href: string) {
  const res = await get(server, params)
  expect(res.status).toBe(302)
  const loc = location(res)
  expect(loc.href.startsWith(`${href}${href.includes('?') ? '&' : '?'}code=`)).toBe(true)
  const code = loc.params.get('code')!
  expect(loc.params.get('iss')).toBe(server.issuer)
  const row = server.authCodes().find((r) => r.code_hash === sha256Hex(code))
  expect(row).toBeDefined()
  return {loc, code, row: row!}
}

const web = (extra: Record<string, string | undefined> = {}) => ({
  response_type: 'code',
  client_id: 'web',
  redirect_uri: WEB_CB,
  state: 's1',
  scope: 'read',
  ...extra,
})

describe('/authorize checklist', () => {
  test('checklist 1: unknown or missing client_id → an HTML error page (400), never a redirect', async () => {
    const missing = await expectErrorPage(
      headless,
      {response_type: 'code', redirect_uri: WEB_CB, state: 'x'},
      'The authorization request has no client_id.',
    )
    expect(missing).toContain('passport client:list')
    const unknown = await expectErrorPage(
      headless,
      {response_type: 'code', client_id: 'nope', redirect_uri: WEB_CB, state: 'x'},
      'No client with id nope.',
    )
    expect(unknown).toContain('&quot;passport client:list&quot; shows the registered clients')
    await expectErrorPage(headless, {response_type: 'code', client_id: '', redirect_uri: WEB_CB}, 'has no client_id')
    // The page must be HTML even for the unknown-client case on a server that auto-approves.
    const json = await get(
      headless,
      {response_type: 'code', client_id: 'nope', redirect_uri: WEB_CB},
      'application/json',
    )
    expect(json.status).toBe(400)
    expect(json.headers.get('location')).toBeNull()
    expect(await json.json()).toMatchObject({error: 'invalid_client'})
  })

  test('checklist 2: unregistered redirect_uri (case change, trailing slash, port, prefix) → error page, no redirect', async () => {
    // A port change on an http loopback host matches since SPEC §10.3 (RFC 8252 §7.3); ports of
    // other hosts and of https stay exact: test/mcp/loopback.test.ts.
    const variants = [
      'http://LOCALHOST:3000/callback',
      'HTTP://localhost:3000/callback',
      'http://localhost:3000/Callback',
      'http://localhost:3000/callback/',
      'http://localhost:3000/callback/more',
      'http://localhost:3000/call',
      'https://localhost:3000/callback',
      'http://localhost:3000/callback?x=1',
      'http://localhost:3000//callback',
      'http://localhost:3000/callback%2F',
    ]
    for (const uri of variants) {
      const html = await expectErrorPage(headless, web({redirect_uri: uri}))
      expect(html).toContain(`redirect_uri ${uri} is not registered for client web; registered: ${WEB_CB}.`)
    }
    // Even with other errors present, an unverified redirect URI is never redirected to.
    await expectErrorPage(
      headless,
      web({redirect_uri: 'http://localhost:3001/callback/', response_type: undefined, scope: 'nope'}),
    )
    await expectCode(headless, web(), WEB_CB)
  })

  test('checklist 3: a query added to or differing from the registered one → error page; the exact one → success keeping it', async () => {
    for (const uri of [
      'http://localhost:3000/cb',
      'http://localhost:3000/cb?tenant=acme&x=1',
      'http://localhost:3000/cb?tenant=other',
      'http://localhost:3000/cb?TENANT=acme',
      'http://localhost:3000/cb?tenant=acme&',
    ]) {
      await expectErrorPage(
        headless,
        {response_type: 'code', client_id: 'query', redirect_uri: uri},
        'is not registered for client query',
      )
    }
    const {loc, row} = await expectCode(
      headless,
      {response_type: 'code', client_id: 'query', redirect_uri: 'http://localhost:3000/cb?tenant=acme', state: 'q'},
      'http://localhost:3000/cb?tenant=acme',
    )
    expect(loc.base).toBe('http://localhost:3000/cb')
    expect(loc.params.get('tenant')).toBe('acme')
    expect(loc.params.get('state')).toBe('q')
    expect(row.redirect_uri).toBe('http://localhost:3000/cb?tenant=acme')
    // Errors after validation keep the registered query too.
    const params = await expectErrorRedirect(
      headless,
      {client_id: 'query', redirect_uri: 'http://localhost:3000/cb?tenant=acme', state: 'q'},
      'http://localhost:3000/cb',
      'invalid_request',
    )
    expect(params.get('tenant')).toBe('acme')
  })

  test('checklist 4: two URIs registered and none sent → error page; exactly one registered → omitting it is allowed', async () => {
    await expectErrorPage(
      headless,
      {response_type: 'code', client_id: 'two', state: 'x'},
      'client two registers 2 (http://localhost:3000/a, http://localhost:3000/b)',
    )
    const {row} = await expectCode(
      headless,
      {response_type: 'code', client_id: 'two', redirect_uri: 'http://localhost:3000/b'},
      'http://localhost:3000/b',
    )
    expect(row.redirect_uri).toBe('http://localhost:3000/b')
    const omitted = await expectCode(headless, {response_type: 'code', client_id: 'web', state: 'o'}, WEB_CB)
    // Omitted in the request → stored as null, so the token request must omit it as well.
    expect(omitted.row.redirect_uri).toBeNull()
    expect(omitted.loc.params.get('state')).toBe('o')
  })

  test('checklist 5: loopback IP literals match on any port with exact path and query; localhost.evil.test never matches', async () => {
    const {challenge} = pkce()
    const native = (uri: string) => ({
      response_type: 'code',
      client_id: 'native',
      redirect_uri: uri,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    })
    for (const uri of [
      'http://127.0.0.1:53123/cb',
      'http://127.0.0.1/cb',
      'http://127.0.0.1:1/cb',
      'http://[::1]:8080/cb?x=1',
      'http://[::1]/cb?x=1',
    ]) {
      const {row} = await expectCode(headless, native(uri), uri)
      expect(row.redirect_uri).toBe(uri)
    }
    for (const uri of [
      'http://127.0.0.1:53123/cb/',
      'http://127.0.0.1:53123/other',
      'http://127.0.0.1:53123/cb?x=1',
      'http://[::1]:8080/cb',
      'http://[::1]:8080/cb?x=2',
      'http://127.0.0.2:53123/cb',
      'https://127.0.0.1:53123/cb',
      'http://localhost:53123/cb',
      'http://localhost.evil.test/cb',
      'http://127.0.0.1.evil.test/cb',
      'http://127.0.0.1:80@evil.test/cb',
      'http://127.0.0.1:99999/cb',
      'http://127.0.0.1:53123/cb#x',
    ]) {
      await expectErrorPage(headless, native(uri), 'is not registered for client native')
    }
  })

  test('checklist 6: user@host@evil, ..;/, %2e%2e and fragments are rejected by the exact compare', async () => {
    for (const uri of [
      'http://localhost:3000@evil.test/callback',
      'http://user@localhost:3000@evil.test/callback',
      'http://evil.test@localhost:3000/callback',
      'http://localhost:3000/callback/..;/evil',
      'http://localhost:3000/callback/../callback',
      'http://localhost:3000/callback/%2e%2e/evil',
      'http://localhost:3000/%2e%2e/callback',
      'http://localhost:3000/callback#',
      'http://localhost:3000/callback#frag',
      'http://evil.test/?http://localhost:3000/callback',
    ]) {
      await expectErrorPage(headless, web({redirect_uri: uri}), 'is not registered for client web')
    }
  })

  test('checklist 7: passport client refuses fragments and relative URIs; plain http elsewhere needs --allow-insecure-redirect', async () => {
    const {dir, cleanup} = tempDir()
    try {
      const database = join(dir, 'cli.sqlite')
      const create = (...args: string[]) =>
        runCli(['client', 'Test app', '--database', database, '--json', ...args], {cwd: dir})
      const fragment = await create('--redirect-uri', 'http://localhost:3000/cb#x')
      expect(fragment.code).toBe(1)
      expect(fragment.stderr).toContain('must not contain a fragment')
      const relative = await create('--redirect-uri', '/callback')
      expect(relative.code).toBe(1)
      expect(relative.stderr).toContain('is not an absolute URI')
      const insecure = await create('--redirect-uri', 'http://app.example.test/cb')
      expect(insecure.code).toBe(1)
      expect(insecure.stderr).toContain('--allow-insecure-redirect')
      const optedIn = await create('--redirect-uri', 'http://app.example.test/cb', '--allow-insecure-redirect')
      expect(optedIn.code).toBe(0)
      const loopback = await create(
        '--redirect-uri',
        'http://127.0.0.1:8080/cb',
        '--redirect-uri',
        'http://localhost/cb',
      )
      expect(loopback.code).toBe(0)
      const db = new Database(database, {readonly: true})
      const uris = (
        db.prepare("SELECT redirect_uris FROM oauth_clients WHERE source = 'cli'").all() as {redirect_uris: string}[]
      ).map((r) => JSON.parse(r.redirect_uris) as string[])
      db.close()
      expect(uris).toEqual([['http://app.example.test/cb'], ['http://127.0.0.1:8080/cb', 'http://localhost/cb']])
    } finally {
      cleanup()
    }
  })

  test('checklist 8: response_type missing or not code → redirect with invalid_request / unsupported_response_type, state and iss', async () => {
    await expectErrorRedirect(headless, web({response_type: undefined, state: 'st8'}), WEB_CB, 'invalid_request')
    await expectErrorRedirect(headless, web({response_type: '', state: 'st8'}), WEB_CB, 'invalid_request')
    for (const type of ['token', 'code id_token', 'CODE', 'id_token']) {
      await expectErrorRedirect(headless, web({response_type: type, state: 'st8'}), WEB_CB, 'unsupported_response_type')
    }
    // A client without the authorization code grant.
    await expectErrorRedirect(
      headless,
      {response_type: 'code', client_id: 'machine', redirect_uri: 'http://localhost:3000/m', state: 'm'},
      'http://localhost:3000/m',
      'unauthorized_client',
    )
  })

  test('checklist 9: public client without code_challenge → redirect invalid_request', async () => {
    const spa = {response_type: 'code', client_id: 'spa', redirect_uri: 'http://localhost:4000/cb', state: 'p9'}
    const params = await expectErrorRedirect(headless, spa, 'http://localhost:4000/cb', 'invalid_request')
    expect(params.get('error_description')).toContain('must use PKCE')
    const {challenge} = pkce()
    const {row} = await expectCode(
      headless,
      {...spa, code_challenge: challenge, code_challenge_method: 'S256'},
      'http://localhost:4000/cb',
    )
    expect(row.code_challenge).toBe(challenge)
    // A confidential client may skip PKCE; the code then carries no challenge.
    const confidential = await expectCode(headless, web(), WEB_CB)
    expect(confidential.row.code_challenge).toBeNull()
    expect(confidential.row.code_challenge_method).toBeNull()
  })

  test('checklist 10: code_challenge_method plain or omitted → invalid_request (S256 only)', async () => {
    const {challenge} = pkce()
    for (const method of ['plain', undefined, 's256', 'S512']) {
      await expectErrorRedirect(
        headless,
        web({code_challenge: challenge, code_challenge_method: method, state: 'p10'}),
        WEB_CB,
        'invalid_request',
      )
    }
    await expectErrorRedirect(headless, web({code_challenge_method: 'S256', state: 'p10'}), WEB_CB, 'invalid_request')
    const {row} = await expectCode(headless, web({code_challenge: challenge, code_challenge_method: 'S256'}), WEB_CB)
    expect(row.code_challenge).toBe(challenge)
    expect(row.code_challenge_method).toBe('S256')
  })

  test('checklist 11: code_challenge shorter than 43, longer than 128 or outside [A-Za-z0-9-._~] → invalid_request', async () => {
    const bad = [
      'a'.repeat(42),
      'a'.repeat(129),
      `${'a'.repeat(42)}+`,
      `${'a'.repeat(42)}/`,
      `${'a'.repeat(42)}=`,
      `${'a'.repeat(42)}é`,
      `${'a'.repeat(21)} ${'a'.repeat(21)}`,
    ]
    for (const challenge of bad) {
      await expectErrorRedirect(
        headless,
        web({code_challenge: challenge, code_challenge_method: 'S256', state: 'p11'}),
        WEB_CB,
        'invalid_request',
      )
    }
    for (const challenge of ['a'.repeat(43), `${'Az09-._~'.repeat(16)}`]) {
      const {row} = await expectCode(headless, web({code_challenge: challenge, code_challenge_method: 'S256'}), WEB_CB)
      expect(row.code_challenge).toBe(challenge)
    }
  })

  test('checklist 12: unknown parameters ignored; a repeated parameter → invalid_request; an empty value counts as absent', async () => {
    await expectCode(headless, web({foo: 'bar', claims_locales: 'de', request_uri_x: 'y'}), WEB_CB)
    const base = `${headless.url}${authorizePath(headless.prefix, web({state: 'r12'}))}`
    for (const repeat of [
      '&scope=write',
      '&response_type=code',
      '&code_challenge_method=S256&code_challenge_method=S256',
      '&nonce=a&nonce=b',
    ]) {
      const before = headless.authCodes().length
      const res = await fetch(`${base}${repeat}`, {redirect: 'manual'})
      expect(res.status).toBe(302)
      const loc = location(res)
      expect(loc.base).toBe(WEB_CB)
      expect(loc.params.get('error')).toBe('invalid_request')
      expect(loc.params.get('error_description')).toContain('repeated')
      expect(loc.params.get('state')).toBe('r12')
      expect(headless.authCodes().length).toBe(before)
    }
    // Repeated state cannot be echoed: the error goes back without one.
    const twoStates = await fetch(`${base}&state=other`, {redirect: 'manual'})
    expect(location(twoStates).params.get('error')).toBe('invalid_request')
    expect(location(twoStates).params.get('state')).toBeNull()
    // Repeated client_id or redirect_uri: nothing is verified, so a page.
    for (const repeat of ['&client_id=web', `&redirect_uri=${encodeURIComponent(WEB_CB)}`]) {
      const res = await fetch(`${base}${repeat}`, {redirect: 'manual'})
      expect(res.status).toBe(400)
      expect(res.headers.get('location')).toBeNull()
      expect(await res.text()).toContain('is repeated')
    }
    // Empty values are absent: no state out, no scope, and a public client's empty challenge is missing PKCE.
    const empty = await expectCode(headless, web({state: '', scope: '', nonce: ''}), WEB_CB)
    expect(empty.loc.params.has('state')).toBe(false)
    expect(JSON.parse(empty.row.scopes)).toEqual([])
    expect(empty.row.nonce).toBeNull()
    await expectErrorRedirect(
      headless,
      {
        response_type: 'code',
        client_id: 'spa',
        redirect_uri: 'http://localhost:4000/cb',
        code_challenge: '',
        code_challenge_method: '',
        state: 'e',
      },
      'http://localhost:4000/cb',
      'invalid_request',
    )
  })

  test('checklist 13: unknown or not-allowed scope → redirect invalid_scope, only after client and redirect URI were validated', async () => {
    const unknown = await expectErrorRedirect(
      headless,
      web({scope: 'read unknown', state: 's13'}),
      WEB_CB,
      'invalid_scope',
    )
    expect(unknown.get('error_description')).toContain("Unknown scope 'unknown'")
    const notAllowed = await expectErrorRedirect(
      headless,
      web({scope: 'read admin', state: 's13'}),
      WEB_CB,
      'invalid_scope',
    )
    expect(notAllowed.get('error_description')).toContain("Scope 'admin' is not allowed for client web")
    await expectErrorRedirect(headless, web({scope: '*', state: 's13'}), WEB_CB, 'invalid_scope')
    // Scope errors never come before the client and redirect URI checks.
    await expectErrorPage(headless, {...web({scope: 'unknown'}), client_id: 'nope'}, 'No client with id nope')
    await expectErrorPage(
      headless,
      web({scope: 'unknown', redirect_uri: 'http://localhost:9999/cb'}),
      'is not registered for client web',
    )
    const {row} = await expectCode(headless, web({scope: 'read write openid'}), WEB_CB)
    expect(JSON.parse(row.scopes)).toEqual(['read', 'write', 'openid'])
  })

  test('checklist 14: the user denies → redirect error=access_denied with state and iss', async () => {
    const browser = new Browser(plain.url)
    const consent = await signInToConsent(browser, plain, web({state: 'deny-14'}), 'alice')
    const before = plain.authCodes().length
    const res = await browser.post(`${plain.prefix}/authorize`, {
      csrf: field(consent, 'csrf'),
      request_id: field(consent, 'request_id'),
      action: 'deny',
    })
    expect(res.status).toBe(303)
    const loc = location(res)
    expect(loc.base).toBe(WEB_CB)
    expect(loc.params.get('error')).toBe('access_denied')
    expect(loc.params.get('state')).toBe('deny-14')
    expect(loc.params.get('iss')).toBe(plain.issuer)
    expect(loc.params.get('code')).toBeNull()
    expect(plain.authCodes().length).toBe(before)
    // The request is answered: approving it afterwards does nothing.
    const again = await browser.post(`${plain.prefix}/authorize`, {
      csrf: field(consent, 'csrf'),
      request_id: field(consent, 'request_id'),
      action: 'approve',
    })
    expect(again.status).toBe(400)
    expect(plain.authCodes().length).toBe(before)
  })

  test('checklist 15: success → code, the exact state, iss equal to the metadata issuer; no state in, none out', async () => {
    const metadata = (await (await fetch(`${headless.url}/.well-known/oauth-authorization-server`)).json()) as {
      issuer: string
    }
    const state = 'a b&c=d/é+%20?#x'
    const {loc, row} = await expectCode(headless, web({state}), WEB_CB)
    expect(loc.params.get('state')).toBe(state)
    expect(loc.params.get('iss')).toBe(metadata.issuer)
    expect([...loc.params.keys()].sort()).toEqual(['code', 'iss', 'state'])
    expect(row.client_id).toBe('web')
    expect(row.user_id).toBe('alice')
    const none = await expectCode(headless, web({state: undefined}), WEB_CB)
    expect([...none.loc.params.keys()].sort()).toEqual(['code', 'iss'])
  })

  test('checklist 16: after a login or consent POST the redirect is 302/303, never 307', async () => {
    const browser = new Browser(plain.url)
    const path = authorizePath(plain.prefix, web({state: 's16'}))
    const signIn = await browser.get(path)
    expect(signIn.status).toBe(200)
    const html = await signIn.text()
    const login = await browser.post(`${plain.prefix}/login`, {
      csrf: field(html, 'csrf'),
      return_to: field(html, 'return_to'),
      subject: 'alice',
    })
    expect(login.status).toBe(303)
    expect(login.headers.get('location')).toBe(path)
    const consent = await (await browser.get(path)).text()
    const approve = await browser.post(`${plain.prefix}/authorize`, {
      csrf: field(consent, 'csrf'),
      request_id: field(consent, 'request_id'),
      action: 'approve',
    })
    expect(approve.status).toBe(303)
    expect(location(approve).params.get('code')).toBeTruthy()
    const consent2 = await (await browser.get(authorizePath(plain.prefix, web({state: 's16b', scope: 'write'})))).text()
    const deny = await browser.post(`${plain.prefix}/authorize`, {
      csrf: field(consent2, 'csrf'),
      request_id: field(consent2, 'request_id'),
      action: 'deny',
    })
    expect(deny.status).toBe(303)
    expect(location(deny).params.get('error')).toBe('access_denied')
  })

  test('checklist 17: sign-in, consent, device and error pages forbid framing, send no referrer and load nothing from elsewhere', async () => {
    const browser = new Browser(plain.url)
    const pages: Response[] = []
    pages.push(await browser.get(authorizePath(plain.prefix, web({state: 's17'})))) // sign-in
    const signIn = await pages[0]!.clone().text()
    await browser.post(`${plain.prefix}/login`, {
      csrf: field(signIn, 'csrf'),
      return_to: field(signIn, 'return_to'),
      subject: 'bob',
    })
    pages.push(await browser.get(authorizePath(plain.prefix, web({state: 's17'})))) // consent
    pages.push(await browser.get(authorizePath(plain.prefix, {client_id: 'nope'}))) // error
    pages.push(await browser.get(authorizePath(plain.prefix, web({redirect_uri: 'http://localhost:3001/cb'})))) // error
    pages.push(await browser.get(`${plain.prefix}/device`)) // device: enter
    const {userCode} = plain.deviceAuthorization('tv', ['read'])
    pages.push(await browser.get(`${plain.prefix}/device?user_code=${userCode}`)) // device: confirm
    const confirm = await pages.at(-1)!.clone().text()
    pages.push(
      await browser.post(`${plain.prefix}/device/approve`, {
        csrf: field(confirm, 'csrf'),
        user_code: userCode,
        action: 'approve',
      }),
    ) // device: done
    pages.push(await browser.get(`${plain.prefix}/device?user_code=BBBB-BBBB`)) // device: wrong code
    pages.push(await browser.post(`${plain.prefix}/authorize`, {request_id: 'x', action: 'approve'})) // 403
    for (const page of pages) {
      expectPageHeaders(page)
      expectSelfContained(await page.text())
    }
    expect(pages.map((p) => p.status)).toEqual([200, 200, 400, 400, 200, 200, 200, 400, 403])
  })

  test('checklist 18: consent and device-approval POSTs need a valid CSRF token bound to the session; without it no code is issued', async () => {
    const browser = new Browser(plain.url)
    const consent = await signInToConsent(browser, plain, web({state: 's18'}), 'alice')
    const requestId = field(consent, 'request_id')
    const csrf = field(consent, 'csrf')
    const other = new Browser(plain.url)
    const otherConsent = await signInToConsent(other, plain, web({state: 'other'}), 'alice')
    const before = plain.authCodes().length
    const attempts: [Browser, Record<string, string>][] = [
      [browser, {request_id: requestId, action: 'approve'}],
      [browser, {request_id: requestId, action: 'approve', csrf: ''}],
      [browser, {request_id: requestId, action: 'approve', csrf: `${csrf}x`}],
      [browser, {request_id: requestId, action: 'approve', csrf: field(otherConsent, 'csrf')}],
      [new Browser(plain.url), {request_id: requestId, action: 'approve', csrf}],
    ]
    for (const [who, form] of attempts) {
      const res = await who.post(`${plain.prefix}/authorize`, form)
      expect(res.status).toBe(403)
      expect(res.headers.get('location')).toBeNull()
      expectPageHeaders(res)
      expect(await res.text()).toContain('nothing was changed')
    }
    // The seed-style POST with the full parameters needs the token as well.
    const full = await browser.post(`${plain.prefix}/authorize`, {...web({state: 's18'}), approved: 'true'})
    expect(full.status).toBe(403)
    expect(plain.authCodes().length).toBe(before)

    // The device approval likewise.
    const {userCode, id} = plain.deviceAuthorization('tv', ['read'])
    for (const form of [
      {user_code: userCode, action: 'approve'},
      {user_code: userCode, action: 'approve', csrf: 'wrong'},
    ] as Record<string, string>[]) {
      const res = await browser.post(`${plain.prefix}/device/approve`, form)
      expect(res.status).toBe(403)
    }
    const json = await browser.postJson(`${plain.prefix}/device/approve`, {user_code: userCode, approved: true})
    expect(json.status).toBe(403)
    expect(plain.deviceRow(id)).toEqual({status: 'pending', user_id: null})

    // With the right token, the same request still works.
    const ok = await browser.post(`${plain.prefix}/authorize`, {request_id: requestId, action: 'approve', csrf})
    expect(ok.status).toBe(303)
    expect(location(ok).params.get('code')).toBeTruthy()
    expect(plain.authCodes().length).toBe(before + 1)
  })

  test('checklist 19: codes carry at least 128 bits of randomness and only their SHA-256 is stored', async () => {
    const codes = new Set<string>()
    for (let i = 0; i < 5; i++) {
      const {code, row} = await expectCode(headless, web({state: `s19-${i}`}), WEB_CB)
      expect(code).toMatch(/^[A-Za-z0-9_-]+$/)
      expect(Buffer.from(code, 'base64url').length).toBeGreaterThanOrEqual(16)
      expect(Buffer.from(code, 'base64url').length).toBe(32)
      expect(row.code_hash).toBe(sha256Hex(code))
      expect(JSON.stringify(row)).not.toContain(code)
      // Expires after authCodesExpireIn (10 minutes by default).
      expect(row.expires_at - row.created_at).toBe(600_000)
      codes.add(code)
    }
    expect(codes.size).toBe(5)
  })

  test('checklist 156: an error redirected to the client carries its error_description in the RFC 6749 section 5.2 character set, like every JSON error', async () => {
    const rfc = /^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/
    // Echoed request values with quotes, a backslash, control characters and non-ASCII.
    const prompt = await expectErrorRedirect(
      headless,
      web({prompt: 'f\u00fc"r\t\\x', state: 's152'}),
      WEB_CB,
      'invalid_request',
    )
    expect(prompt.get('error_description')).toBe("prompt 'f?'r?/x' is not one of none, login, consent, select_account.")
    const scope = await expectErrorRedirect(
      headless,
      web({scope: 'read caf\u00e9\u2014"x"', state: 's152'}),
      WEB_CB,
      'invalid_scope',
    )
    expect(scope.get('error_description')).toMatch(rfc)
    expect(scope.get('error_description')).toContain("Unknown scope 'caf?-'x''")
    const method = await expectErrorRedirect(
      headless,
      web({code_challenge: 'a'.repeat(43), code_challenge_method: 'S256\r\n\u2026', state: 's152'}),
      WEB_CB,
      'invalid_request',
    )
    expect(method.get('error_description')).toBe("code_challenge_method 'S256??...' is not supported; use S256.")
  })
})
