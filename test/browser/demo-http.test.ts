import {afterAll, beforeAll, describe, expect, test} from 'vitest'

import {startServer} from '../../src/api.js'
import {Browser, expectPageHeaders, location} from '../web/harness.js'

/**
 * The dashboard, the demo routes and the script asset over plain HTTP (no browser): the edge
 * cases the Chromium tests do not walk through.
 */

let server: {url: string; issuer: string; close(): Promise<void>}
let limited: {url: string; issuer: string; close(): Promise<void>}

beforeAll(async () => {
  const config = {
    users: {alice: {name: 'Alice'}},
    clients: [{id: 'web', name: 'Web', secret: 'web-secret-123456', redirectUris: ['http://localhost:3000/cb']}],
  }
  server = await startServer({config, port: 0}).then((h) => ({...h, url: h.url()}))
  limited = await startServer({config, port: 0, except: ['token']}).then((h) => ({...h, url: h.url()}))
})

afterAll(async () => {
  await server?.close()
  await limited?.close()
})

describe('dashboard and demo over HTTP', () => {
  test("GET / is a page with the strict headers, allowing only passport's own script; the script is served with nosniff", async () => {
    const res = await fetch(`${server.url}/`)
    expect(res.status).toBe(200)
    expectPageHeaders(res)
    expect(res.headers.get('content-security-policy')).toBe(
      "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self' http: https:; frame-ancestors 'none'; base-uri 'none'",
    )
    const html = await res.text()
    expect(html).toContain('<script src="/assets/passport.js" defer></script>')
    expect(html).not.toContain('web-secret-123456')
    expect(html).toContain('href="/demo/start"')
    const script = await fetch(`${server.url}/assets/passport.js`)
    expect(script.status).toBe(200)
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(script.headers.get('x-content-type-options')).toBe('nosniff')
    const favicon = await fetch(`${server.url}/favicon.ico`)
    expect(favicon.headers.get('content-type')).toBe('image/svg+xml')
  })

  test('/demo/start registers __demo__ and redirects to /authorize with PKCE S256, state and nonce', async () => {
    const browser = new Browser(server.url)
    const start = await browser.get('/demo/start')
    expect(start.status).toBe(302)
    const {base, params} = location(start)
    expect(base).toBe('/oauth/authorize')
    expect(Object.fromEntries(params)).toMatchObject({
      response_type: 'code',
      client_id: '__demo__',
      redirect_uri: `${server.issuer}/demo/callback`,
      scope: 'openid profile email',
      code_challenge_method: 'S256',
    })
    expect(params.get('code_challenge')).toMatch(/^[\w-]{43}$/)
    expect(params.get('state')).toBeTruthy()
    expect(params.get('nonce')).toBeTruthy()
    expect(browser.cookies.get(`passport_session_${new URL(server.url).port}`)).toBeTruthy()
    // The authorization endpoint accepts the demo client (sign-in page, not an error page).
    const authorize = await browser.get(start.headers.get('location')!)
    expect(authorize.status).toBe(200)
    expect(await authorize.text()).toContain('to continue to passport demo')
  })

  test('/demo/callback refuses a missing flow, a wrong state and a wrong iss, and explains a denial', async () => {
    const none = await new Browser(server.url).get('/demo/callback?code=x&state=y')
    expect(none.status).toBe(400)
    expectPageHeaders(none)
    expect(await none.text()).toContain('No demo flow in progress')

    const browser = new Browser(server.url)
    const state = () => browser.get('/demo/start').then((res) => location(res).params.get('state')!)
    await state()
    const wrongState = await browser.get('/demo/callback?code=x&state=nope')
    expect(wrongState.status).toBe(400)
    expect(await wrongState.text()).toContain('does not match the one this session sent')

    const s2 = await state()
    const wrongIss = await browser.get(
      `/demo/callback?code=x&state=${s2}&iss=${encodeURIComponent('http://evil.test')}`,
    )
    expect(wrongIss.status).toBe(400)
    expect(await wrongIss.text()).toContain('not this server&#39;s issuer')

    const s3 = await state()
    const denied = await browser.get(
      `/demo/callback?error=access_denied&state=${s3}&iss=${encodeURIComponent(server.issuer)}`,
    )
    expect(denied.status).toBe(403)
    expect(await denied.text()).toContain('You denied the demo client')

    const s4 = await state()
    const badCode = await browser.get(
      `/demo/callback?code=not-a-code&state=${s4}&iss=${encodeURIComponent(server.issuer)}`,
    )
    expect(badCode.status).toBe(400)
    expect(await badCode.text()).toContain('invalid_grant — The authorization code is unknown.')
  })

  test('with --except token the dashboard says why "try it" is unavailable and /demo/start explains', async () => {
    const page = await (await fetch(`${limited.url}/`)).text()
    expect(page).not.toContain('href="/demo/start"')
    expect(page).toContain('needs the token route, which this server drops (--except token)')
    expect(page).not.toContain(`${limited.issuer}/oauth/token`)
    const start = await fetch(`${limited.url}/demo/start`, {redirect: 'manual'})
    expect(start.status).toBe(404)
    expect(await start.text()).toContain('Demo unavailable')
  })
})
