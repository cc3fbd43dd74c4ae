import {afterAll, beforeAll, describe, expect, test} from 'vitest'

import {serveJson} from '../fixtures/serve.js'
import {
  Browser,
  CONFIG,
  authorizePath,
  expectPageHeaders,
  field,
  location,
  pkce,
  sha256Hex,
  signInToConsent,
  startTestServer,
  type TestServer,
} from './harness.js'

let server: TestServer

beforeAll(async () => {
  server = await startTestServer()
})

afterAll(async () => {
  await server?.close()
})

const WEB_CB = 'http://localhost:3000/callback'

describe('authorization code flow through the pages', () => {
  test('sign in with a configured user → consent → approve stores the code with its challenge, redirect URI, user, nonce and resource', async () => {
    const browser = new Browser(server.url)
    const {verifier, challenge} = pkce()
    const params = {
      response_type: 'code',
      client_id: 'spa',
      redirect_uri: 'http://localhost:4000/cb',
      scope: 'openid read',
      state: 'flow-1',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      nonce: 'n-1',
      resource: 'https://api.example.test/',
    }
    const path = authorizePath(server.prefix, params)

    const signIn = await browser.get(path)
    expect(signIn.status).toBe(200)
    expectPageHeaders(signIn)
    // The cookie is named after the port: another server on localhost does not overwrite it.
    const cookie = `passport_session_${new URL(server.url).port}`
    expect(signIn.headers.get('set-cookie')).toMatch(new RegExp(`^${cookie}=[\\w-]+; Path=/; HttpOnly; SameSite=Lax`))
    const signInHtml = await signIn.text()
    expect(signInHtml).toContain('to continue to Single-page app')
    // Configured users as one-click choices, names escaped.
    expect(signInHtml).toMatch(
      /<button type="submit" name="subject" value="alice">.*<span class="name">Alice Example<\/span><span class="email">alice@example.test<\/span>.*<\/button>/,
    )
    expect(signInHtml).toContain('Bob &lt;Builder&gt;')
    expect(signInHtml).not.toContain('Bob <Builder>')
    const sessionBefore = browser.cookies.get(cookie)

    const login = await browser.post(`${server.prefix}/login`, {
      csrf: field(signInHtml, 'csrf'),
      return_to: field(signInHtml, 'return_to'),
      subject: 'bob',
    })
    expect(login.status).toBe(303)
    expect(login.headers.get('location')).toBe(path)
    // A new session id after signing in (no session fixation).
    expect(browser.cookies.get(cookie)).not.toBe(sessionBefore)

    const consent = await browser.get(path)
    expect(consent.status).toBe(200)
    expectPageHeaders(consent)
    const html = await consent.text()
    expect(html).toContain('Single-page app')
    expect(html).toContain('<code>openid</code></span> — Sign you in (OpenID Connect)')
    expect(html).toContain('<code>read</code></span> — Read your data')
    expect(html).toContain('Signed in as <code>bob</code>')
    // The request itself is kept server-side: the form carries only an id and the CSRF token.
    expect(html).not.toMatch(/name="(code_challenge|redirect_uri|scope|client_id|state)"/)
    expect(server.authCodes().filter((r) => r.client_id === 'spa' && r.user_id === 'bob')).toHaveLength(0)

    const approve = await browser.post(`${server.prefix}/authorize`, {
      csrf: field(html, 'csrf'),
      request_id: field(html, 'request_id'),
      action: 'approve',
    })
    expect(approve.status).toBe(303)
    const loc = location(approve)
    expect(loc.base).toBe('http://localhost:4000/cb')
    expect(loc.params.get('state')).toBe('flow-1')
    expect(loc.params.get('iss')).toBe(server.issuer)
    const code = loc.params.get('code')!
    const row = server.authCodes().find((r) => r.code_hash === sha256Hex(code))!
    expect(row).toMatchObject({
      client_id: 'spa',
      user_id: 'bob',
      redirect_uri: 'http://localhost:4000/cb',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      nonce: 'n-1',
      resource: '["https://api.example.test/"]',
    })
    expect(JSON.parse(row.scopes)).toEqual(['openid', 'read'])
    expect(row.auth_time).toBeGreaterThan(0)
    expect(verifier).toBeTruthy()

    // The same scopes again in this session: consent is remembered, one 302.
    const again = await browser.get(authorizePath(server.prefix, {...params, state: 'flow-2', scope: 'read'}))
    expect(again.status).toBe(302)
    expect(location(again).params.get('state')).toBe('flow-2')
    // …unless prompt=consent asks for the page.
    const forced = await browser.get(authorizePath(server.prefix, {...params, state: 'flow-3', prompt: 'consent'}))
    expect(forced.status).toBe(200)
    // More scopes than granted: consent again.
    const wider = await browser.get(authorizePath(server.prefix, {...params, state: 'flow-4', scope: 'read write'}))
    expect(wider.status).toBe(200)
  })

  test('typing any subject signs in as that subject; an empty one is refused', async () => {
    const browser = new Browser(server.url)
    const path = authorizePath(server.prefix, {
      response_type: 'code',
      client_id: 'web',
      scope: 'read',
      state: 't',
      login_hint: 'dora@example.test',
    })
    const html = await (await browser.get(path)).text()
    expect(html).toContain('value="dora@example.test"')
    const empty = await browser.post(`${server.prefix}/login`, {
      csrf: field(html, 'csrf'),
      return_to: field(html, 'return_to'),
      subject: '  ',
    })
    expect(empty.status).toBe(400)
    expect(await empty.text()).toContain('Enter a subject')
    const ok = await browser.post(`${server.prefix}/login`, {
      csrf: field(html, 'csrf'),
      return_to: field(html, 'return_to'),
      subject: 'dora@example.test',
    })
    expect(ok.status).toBe(303)
    const consent = await (await browser.get(path)).text()
    const approve = await browser.post(`${server.prefix}/authorize`, {
      csrf: field(consent, 'csrf'),
      request_id: field(consent, 'request_id'),
      action: 'approve',
    })
    const row = server.authCodes().find((r) => r.code_hash === sha256Hex(location(approve).params.get('code')!))!
    expect(row.user_id).toBe('dora@example.test')
    expect(row.redirect_uri).toBeNull()
  })

  test('the sign-in form needs its CSRF token and only returns to this server', async () => {
    const browser = new Browser(server.url)
    const html = await (
      await browser.get(authorizePath(server.prefix, {response_type: 'code', client_id: 'web'}))
    ).text()
    const forged = await browser.post(`${server.prefix}/login`, {
      return_to: field(html, 'return_to'),
      subject: 'mallory',
    })
    expect(forged.status).toBe(403)
    for (const target of [
      'https://evil.test/',
      '//evil.test/oauth/authorize',
      '/oauth/authorize/../../evil',
      '/elsewhere',
    ]) {
      const fresh = new Browser(server.url)
      const page = await (
        await fresh.get(authorizePath(server.prefix, {response_type: 'code', client_id: 'web'}))
      ).text()
      const res = await fresh.post(`${server.prefix}/login`, {
        csrf: field(page, 'csrf'),
        return_to: target,
        subject: 'alice',
      })
      expect(res.status).toBe(303)
      expect(res.headers.get('location')).toBe(`${server.prefix}/device`)
    }
  })

  test('a client with autoApprove skips consent for a signed-in user', async () => {
    const browser = new Browser(server.url)
    const params = {response_type: 'code', client_id: 'auto', redirect_uri: WEB_CB, scope: 'read', state: 'auto-1'}
    const html = await (await browser.get(authorizePath(server.prefix, params))).text()
    expect(html).toContain('Sign in')
    await browser.post(`${server.prefix}/login`, {
      csrf: field(html, 'csrf'),
      return_to: field(html, 'return_to'),
      subject: 'alice',
    })
    const res = await browser.get(authorizePath(server.prefix, params))
    expect(res.status).toBe(302)
    const loc = location(res)
    expect(loc.params.get('state')).toBe('auto-1')
    expect(server.authCodes().find((r) => r.code_hash === sha256Hex(loc.params.get('code')!))?.user_id).toBe('alice')
  })

  test('prompt=none: login_required without a user, consent_required without consent', async () => {
    const browser = new Browser(server.url)
    const params = {response_type: 'code', client_id: 'web', scope: 'read', state: 'pn', prompt: 'none'}
    const noUser = await browser.get(authorizePath(server.prefix, params))
    expect(noUser.status).toBe(302)
    expect(location(noUser).params.get('error')).toBe('login_required')
    await signInToConsent(browser, server, {...params, prompt: undefined}, 'alice')
    const noConsent = await browser.get(authorizePath(server.prefix, {...params, scope: 'write'}))
    expect(location(noConsent).params.get('error')).toBe('consent_required')
    expect(location(noConsent).params.get('state')).toBe('pn')
  })

  test('the seed JSON API: 401 before sign-in; {client, scopes, redirect_uri, state} after; POST {request_id, approved}', async () => {
    const params = {response_type: 'code', client_id: 'web', redirect_uri: WEB_CB, scope: 'read write', state: 'json-1'}
    const anonymous = await fetch(`${server.url}${authorizePath(server.prefix, params)}`, {
      headers: {Accept: 'application/json'},
      redirect: 'manual',
    })
    expect(anonymous.status).toBe(401)
    expect(await anonymous.json()).toMatchObject({error: 'login_required'})

    const browser = new Browser(server.url)
    await signInToConsent(browser, server, {...params, scope: 'read', state: 'warm-up'}, 'alice')
    const res = await browser.get(authorizePath(server.prefix, params), {Accept: 'application/json'})
    expect(res.status).toBe(200)
    const body = (await res.json()) as Record<string, unknown> & {request_id: string; csrf_token: string}
    expect(body).toMatchObject({
      client: {id: 'web', name: 'Web app'},
      scopes: [
        {id: 'read', description: 'Read your data'},
        {id: 'write', description: 'Change your data'},
      ],
      redirect_uri: WEB_CB,
      state: 'json-1',
    })
    const notBoolean = await browser.postJson(
      `${server.prefix}/authorize`,
      {request_id: body.request_id, approved: 'maybe'},
      {'X-CSRF-Token': body.csrf_token},
    )
    expect(notBoolean.status).toBe(400)
    const approve = await browser.postJson(
      `${server.prefix}/authorize`,
      {request_id: body.request_id, approved: true},
      {'X-CSRF-Token': body.csrf_token},
    )
    expect(approve.status).toBe(303)
    expect(location(approve).params.get('state')).toBe('json-1')
    expect(location(approve).params.get('code')).toBeTruthy()

    // The seed's form: the full authorization parameters posted back with the decision.
    const seed = await browser.postJson(`${server.prefix}/authorize`, {
      ...params,
      state: 'json-2',
      scope: 'write',
      approved: false,
      csrf: body.csrf_token,
    })
    expect(seed.status).toBe(303)
    expect(location(seed).params.get('error')).toBe('access_denied')
    expect(location(seed).params.get('state')).toBe('json-2')
    const seedBad = await browser.postJson(`${server.prefix}/authorize`, {
      ...params,
      redirect_uri: 'http://evil.test/cb',
      approved: true,
      csrf: body.csrf_token,
    })
    expect(seedBad.status).toBe(400)
    expect(seedBad.headers.get('location')).toBeNull()
  })

  test('error pages say exactly what is wrong and how to fix it', async () => {
    const res = await fetch(
      `${server.url}${authorizePath(server.prefix, {response_type: 'code', client_id: 'web', redirect_uri: 'http://localhost:3001/cb'})}`,
      {redirect: 'manual'},
    )
    expect(res.status).toBe(400)
    const html = await res.text()
    expect(html).toContain('Redirect URI not accepted')
    expect(html).toContain(
      `redirect_uri http://localhost:3001/cb is not registered for client web; registered: ${WEB_CB}.`,
    )
    expect(html).toContain(
      'Add http://localhost:3001/cb to &quot;redirectUris&quot; of client &quot;web&quot; in the configuration file',
    )
    const unknown = await (await fetch(`${server.url}${authorizePath(server.prefix, {client_id: '<script>'})}`)).text()
    expect(unknown).toContain('No client with id &lt;script&gt;.')
    expect(unknown).not.toContain('<script>')
  })

  test('a stale or foreign request id is refused without a code', async () => {
    const browser = new Browser(server.url)
    const html = await signInToConsent(
      browser,
      server,
      {response_type: 'code', client_id: 'web', scope: 'write', state: 'stale'},
      'alice',
    )
    const before = server.authCodes().length
    const res = await browser.post(`${server.prefix}/authorize`, {
      csrf: field(html, 'csrf'),
      request_id: 'not-a-request',
      action: 'approve',
    })
    expect(res.status).toBe(400)
    expect(await res.text()).toContain('no longer waiting for an answer')
    const noAction = await browser.post(`${server.prefix}/authorize`, {
      csrf: field(html, 'csrf'),
      request_id: field(html, 'request_id'),
    })
    expect(noAction.status).toBe(400)
    expect(server.authCodes().length).toBe(before)
  })

  test('switching user signs out and returns to the request', async () => {
    const browser = new Browser(server.url)
    const params = {response_type: 'code', client_id: 'web', scope: 'read', state: 'switch'}
    const html = await signInToConsent(browser, server, params, 'alice')
    const logout = await browser.post(`${server.prefix}/logout`, {
      csrf: field(html, 'csrf'),
      return_to: authorizePath(server.prefix, params),
    })
    expect(logout.status).toBe(303)
    const page = await (await browser.get(logout.headers.get('location')!)).text()
    expect(page).toContain('name="subject"')
  })

  test('a custom-scheme redirect URI is allowed as a form target of its consent page', async () => {
    const browser = new Browser(server.url)
    const {challenge} = pkce()
    const params = {
      response_type: 'code',
      client_id: 'app-scheme',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: 'm',
    }
    await signInToConsent(browser, server, params, 'alice')
    const res = await browser.get(authorizePath(server.prefix, params))
    expect(res.headers.get('content-security-policy')).toContain("form-action 'self' http: https: com.example.app:")
  })
})

describe('headless mode', () => {
  test('--login-as with --auto-approve: one GET answers with the 302 to the callback (startServer)', async () => {
    const headless = await startTestServer({loginAs: 'alice', autoApprove: true, prefix: '/auth'})
    try {
      const {challenge} = pkce()
      const res = await fetch(
        `${headless.url}${authorizePath('/auth', {response_type: 'code', client_id: 'spa', redirect_uri: 'http://localhost:4000/cb', scope: 'read', state: 'h1', code_challenge: challenge, code_challenge_method: 'S256'})}`,
        {redirect: 'manual'},
      )
      expect(res.status).toBe(302)
      expect(res.headers.get('set-cookie')).toBeNull()
      const loc = location(res)
      expect(loc.base).toBe('http://localhost:4000/cb')
      expect(loc.params.get('state')).toBe('h1')
      expect(loc.params.get('iss')).toBe(headless.issuer)
      expect(headless.authCodes().find((r) => r.code_hash === sha256Hex(loc.params.get('code')!))).toMatchObject({
        user_id: 'alice',
        code_challenge: challenge,
      })
      // login_hint overrides --login-as.
      const hinted = await fetch(
        `${headless.url}${authorizePath('/auth', {response_type: 'code', client_id: 'web', login_hint: 'bob', state: 'h2'})}`,
        {redirect: 'manual'},
      )
      expect(
        headless.authCodes().find((r) => r.code_hash === sha256Hex(location(hinted).params.get('code')!))?.user_id,
      ).toBe('bob')
    } finally {
      await headless.close()
    }
  })

  test('--login-as without --auto-approve shows consent to the signed-in subject', async () => {
    const loginAs = await startTestServer({loginAs: 'alice'})
    try {
      const browser = new Browser(loginAs.url)
      const res = await browser.get(
        authorizePath(loginAs.prefix, {response_type: 'code', client_id: 'web', scope: 'read', state: 'la'}),
      )
      expect(res.status).toBe(200)
      const html = await res.text()
      expect(html).toContain('Signed in as <code>alice</code>')
      expect(html).not.toContain('Sign in as someone else')
      const approve = await browser.post(`${loginAs.prefix}/authorize`, {
        csrf: field(html, 'csrf'),
        request_id: field(html, 'request_id'),
        action: 'approve',
      })
      expect(approve.status).toBe(303)
      expect(
        loginAs.authCodes().find((r) => r.code_hash === sha256Hex(location(approve).params.get('code')!))?.user_id,
      ).toBe('alice')
    } finally {
      await loginAs.close()
    }
  })

  test('passport serve --port 0 --json --login-as alice --auto-approve: the flow needs no browser', async () => {
    const served = await serveJson(['--login-as', 'alice', '--auto-approve', '--database', 'db.sqlite'], {
      config: CONFIG,
    })
    try {
      const {issuer, port} = served.line
      const res = await fetch(
        `http://127.0.0.1:${port}/oauth/authorize?response_type=code&client_id=web&scope=read&state=cli`,
        {redirect: 'manual'},
      )
      expect(res.status).toBe(302)
      const loc = location(res)
      expect(loc.base).toBe(WEB_CB)
      expect(loc.params.get('state')).toBe('cli')
      expect(loc.params.get('iss')).toBe(issuer)
      expect(loc.params.get('code')).toMatch(/^[\w-]{43}$/)
    } finally {
      await served.stop()
    }
  })
})
