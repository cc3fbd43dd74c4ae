import * as client from 'openid-client'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {
  AUTO,
  Browser,
  WEB,
  authorizationUrl,
  field,
  relyingParty,
  startOidcServer,
  type OidcServer,
  type StartedLogin,
} from './harness.js'

/**
 * The browser side of OpenID Connect (no --login-as): a sign-in session driven through the login
 * form with fetch and a cookie jar; prompt=none / login / consent, max_age and RP-initiated
 * logout against it, with openid-client as the Relying Party.
 */

let server: OidcServer
let web: client.Configuration
let auto: client.Configuration

beforeAll(async () => {
  server = await startOidcServer()
  web = await relyingParty(server, WEB.id, WEB.secret)
  auto = await relyingParty(server, AUTO.id, AUTO.secret)
})
afterAll(() => server.close())

async function start(config: client.Configuration, params: Record<string, string> = {}): Promise<StartedLogin> {
  return authorizationUrl(config, config === web ? WEB.redirect : AUTO.redirect, {scope: 'openid profile', ...params})
}

/** Exchanges the callback URL through the library; returns the validated id token claims. */
async function finish(config: client.Configuration, login: StartedLogin, location: string) {
  const tokens = await client.authorizationCodeGrant(config, new URL(location), {
    pkceCodeVerifier: login.verifier,
    expectedNonce: login.nonce,
    expectedState: login.state,
    idTokenExpected: true,
  })
  return {tokens, claims: tokens.claims()!}
}

/** The error the library reads from a callback URL (prompt=none failures). */
async function callbackError(config: client.Configuration, login: StartedLogin, location: string) {
  const error = await client
    .authorizationCodeGrant(config, new URL(location), {
      pkceCodeVerifier: login.verifier,
      expectedNonce: login.nonce,
      expectedState: login.state,
    })
    .catch((e: unknown) => e)
  expect(error).toBeInstanceOf(client.AuthorizationResponseError)
  return (error as client.AuthorizationResponseError).error
}

/** GET the authorization URL; when it shows the sign-in page, sign in as `subject` through the form; returns the next answer. */
async function signInThroughForm(browser: Browser, url: URL | string, subject: string): Promise<Response> {
  const page = await browser.get(url)
  expect(page.status).toBe(200)
  const html = await page.text()
  expect(html).toContain('name="subject"')
  const res = await browser.post(`${server.url}/oauth/login`, {
    csrf: field(html, 'csrf'),
    return_to: field(html, 'return_to'),
    subject,
  })
  expect(res.status).toBe(303)
  return browser.get(`${server.url}${res.headers.get('location')!}`)
}

async function approve(browser: Browser, consent: Response): Promise<string> {
  expect(consent.status).toBe(200)
  const html = await consent.text()
  expect(html).toContain('wants to access your account')
  const res = await browser.post(`${server.url}/oauth/authorize`, {
    csrf: field(html, 'csrf'),
    request_id: field(html, 'request_id'),
    action: 'approve',
  })
  expect(res.status).toBe(303)
  return res.headers.get('location')!
}

function codeRedirect(res: Response): string {
  expect(res.status).toBe(302)
  const location = res.headers.get('location')!
  expect(new URL(location).searchParams.get('code')).toBeTruthy()
  return location
}

describe('prompt=none', () => {
  it('without a session → login_required on the callback, with state and iss', async () => {
    const login = await start(auto, {prompt: 'none'})
    const res = await new Browser().get(login.url)
    expect(res.status).toBe(302)
    const location = new URL(res.headers.get('location')!)
    expect(location.searchParams.get('state')).toBe(login.state)
    expect(location.searchParams.get('iss')).toBe(server.issuer)
    expect(await callbackError(auto, login, location.href)).toBe('login_required')
  })

  it('with a session → a code without any page; consent_required until the client is approved, then remembered', async () => {
    const browser = new Browser()
    const first = await start(auto)
    const signedIn = await finish(auto, first, codeRedirect(await signInThroughForm(browser, first.url, 'alice')))
    expect(signedIn.claims).toMatchObject({sub: 'alice', name: 'Alice Example', nonce: first.nonce})

    const silent = await start(auto, {prompt: 'none'})
    const again = await finish(auto, silent, codeRedirect(await browser.get(silent.url)))
    expect(again.claims.sub).toBe('alice')
    expect(again.claims.auth_time).toBe(signedIn.claims.auth_time)

    // web needs consent, which prompt=none cannot show.
    const noConsent = await start(web, {prompt: 'none'})
    const refused = await browser.get(noConsent.url)
    expect(await callbackError(web, noConsent, refused.headers.get('location')!)).toBe('consent_required')

    const ask = await start(web)
    await finish(web, ask, await approve(browser, await browser.get(ask.url)))
    const remembered = await start(web, {prompt: 'none'})
    expect((await finish(web, remembered, codeRedirect(await browser.get(remembered.url)))).claims.sub).toBe('alice')

    // prompt=consent shows the consent page again although the consent is remembered.
    const forced = await start(web, {prompt: 'consent'})
    await finish(web, forced, await approve(browser, await browser.get(forced.url)))
  })
})

describe('prompt=login and max_age', () => {
  it('prompt=login shows the sign-in page despite the session, then returns to the request (no loop) and keeps the consents', async () => {
    const browser = new Browser()
    const first = await start(web)
    await finish(web, first, await approve(browser, await signInThroughForm(browser, first.url, 'alice')))

    const login = await start(web, {prompt: 'login'})
    const page = await browser.get(login.url)
    expect(page.status).toBe(200)
    const html = await page.text()
    expect(html).toContain('again to continue to')
    expect(field(html, 'subject')).toBe('alice')
    // Signed in again as alice: back at the same request, the remembered consent applies.
    const post = await browser.post(`${server.url}/oauth/login`, {
      csrf: field(html, 'csrf'),
      return_to: field(html, 'return_to'),
      subject: 'alice',
    })
    const result = await finish(
      web,
      login,
      codeRedirect(await browser.get(`${server.url}${post.headers.get('location')!}`)),
    )
    expect(result.claims.sub).toBe('alice')

    // The same URL again is a new request: prompt=login asks again.
    expect((await browser.get(login.url)).status).toBe(200)
  })

  it('prompt=login can switch the user: an ad-hoc subject gets only sub', async () => {
    const browser = new Browser()
    const first = await start(auto)
    await finish(auto, first, codeRedirect(await signInThroughForm(browser, first.url, 'alice')))
    const login = await start(auto, {prompt: 'login', scope: 'openid profile email groups'})
    const result = await finish(auto, login, codeRedirect(await signInThroughForm(browser, login.url, 'dave')))
    const {iss: _i, aud: _a, exp: _e, iat: _t, auth_time: _at, nonce: _n, at_hash: _h, azp: _z, ...user} = result.claims
    expect(user).toEqual({sub: 'dave'})
    expect(await client.fetchUserInfo(auto, result.tokens.access_token, 'dave')).toEqual({sub: 'dave'})
  })

  it('max_age: a sign-in older than max_age (max_age=0) asks again, prompt=none then fails with login_required; a recent one passes', async () => {
    const browser = new Browser()
    const first = await start(auto)
    const signedIn = await finish(auto, first, codeRedirect(await signInThroughForm(browser, first.url, 'alice')))

    const recent = await start(auto, {max_age: '3600'})
    const ok = await client.authorizationCodeGrant(auto, new URL(codeRedirect(await browser.get(recent.url))), {
      pkceCodeVerifier: recent.verifier,
      expectedNonce: recent.nonce,
      expectedState: recent.state,
      maxAge: 3600,
    })
    expect(ok.claims()!.auth_time).toBe(signedIn.claims.auth_time)

    const silent = await start(auto, {max_age: '0', prompt: 'none'})
    const refused = await browser.get(silent.url)
    expect(await callbackError(auto, silent, refused.headers.get('location')!)).toBe('login_required')
    expect(new URL(refused.headers.get('location')!).searchParams.get('error_description')).toBe(
      'The sign-in is older than max_age=0 seconds and prompt=none forbids showing the sign-in page.',
    )

    const stale = await start(auto, {max_age: '0'})
    const page = await browser.get(stale.url)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('your last sign-in is too old')
    const fresh = await finish(auto, stale, codeRedirect(await signInThroughForm(browser, stale.url, 'alice')))
    expect(fresh.claims.auth_time).toBeGreaterThanOrEqual(signedIn.claims.auth_time as number)
  })
})

describe('RP-initiated logout with a session', () => {
  it('id_token_hint of the signed-in user + registered URI → signed out at once and sent back with state', async () => {
    const browser = new Browser()
    const first = await start(auto)
    const {tokens} = await finish(auto, first, codeRedirect(await signInThroughForm(browser, first.url, 'alice')))
    const res = await browser.get(
      client.buildEndSessionUrl(auto, {
        id_token_hint: tokens.id_token!,
        post_logout_redirect_uri: 'http://localhost:4000/',
        state: 'bye',
      }),
    )
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('http://localhost:4000/?state=bye')
    expect(browser.hasSession()).toBe(false)
    const silent = await start(auto, {prompt: 'none'})
    expect(await callbackError(auto, silent, (await browser.get(silent.url)).headers.get('location')!)).toBe(
      'login_required',
    )
  })

  it('checklist 151: an unregistered URI → 400 invalid_request error page saying why, and the session lives on (no redirect, nobody signed out)', async () => {
    const browser = new Browser()
    const first = await start(auto)
    const {tokens} = await finish(auto, first, codeRedirect(await signInThroughForm(browser, first.url, 'alice')))
    const res = await browser.get(
      client.buildEndSessionUrl(auto, {
        id_token_hint: tokens.id_token!,
        post_logout_redirect_uri: 'http://localhost:3000/callback',
        state: 'bye',
      }),
    )
    expect(res.status).toBe(400)
    expect(res.headers.get('location')).toBeNull()
    expect(res.headers.get('set-cookie')).toBeNull()
    const html = await res.text()
    expect(html).toContain('<h1>Sign-out refused</h1>')
    expect(html).toContain(
      'post_logout_redirect_uri http://localhost:3000/callback is not registered for client auto: it must be exactly one of its postLogoutRedirectUris or redirect URIs (http://localhost:4000/, http://localhost:4000/cb).',
    )
    expect(html).toContain('Nobody was signed out.')
    expect(browser.hasSession()).toBe(true)
    const still = await start(auto, {prompt: 'none'})
    codeRedirect(await browser.get(still.url))
  })

  it('without an id_token_hint the person confirms first (CSRF-protected); until then the session lives', async () => {
    const browser = new Browser()
    const first = await start(auto)
    await finish(auto, first, codeRedirect(await signInThroughForm(browser, first.url, 'alice')))
    const ask = await browser.get(
      `${server.url}/oauth/end_session?${new URLSearchParams({client_id: AUTO.id, post_logout_redirect_uri: AUTO.redirect, state: 'x'})}`,
    )
    expect(ask.status).toBe(200)
    const html = await ask.text()
    expect(html).toContain('Sign out of passport?')
    const still = await start(auto, {prompt: 'none'})
    codeRedirect(await browser.get(still.url))

    const forged = await browser.post(`${server.url}/oauth/end_session`, {
      client_id: AUTO.id,
      post_logout_redirect_uri: AUTO.redirect,
      state: 'x',
      confirm: 'yes',
      csrf: 'wrong',
    })
    expect(forged.status).toBe(403)
    const confirmed = await browser.post(`${server.url}/oauth/end_session`, {
      csrf: field(html, 'csrf'),
      client_id: field(html, 'client_id'),
      post_logout_redirect_uri: field(html, 'post_logout_redirect_uri'),
      state: field(html, 'state'),
      confirm: 'yes',
    })
    expect(confirmed.status).toBe(303)
    expect(confirmed.headers.get('location')).toBe(`${AUTO.redirect}?state=x`)
    const after = await start(auto, {prompt: 'none'})
    expect(await callbackError(auto, after, (await browser.get(after.url)).headers.get('location')!)).toBe(
      'login_required',
    )
  })
})
