import Database from 'better-sqlite3'
import type {Browser} from 'playwright-core'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'

import {basic, pkce} from '../fixtures/oauth.js'
import {type Handle, startFileServer} from '../fixtures/server.js'
import {launchChromium, startClientApp, Tab} from './harness.js'

/**
 * The pages in a real browser (Debian's Chromium): sign-in, consent (approve and deny), device
 * approval, an error page and the dashboard's "try it". Every test also checks for console
 * errors, requests leaving 127.0.0.1 and serious or critical axe-core violations. With
 * PASSPORT_SCREENSHOTS=1 (`npm run screenshots`) the tests write the screenshots in docs/images/.
 */

const WEB_SECRET = 'web-secret-browser-123'

let chromium: {browser: Browser; close(): Promise<void>}
let server: {url: string; issuer: string; dbPath: string; handle: Handle; close(): Promise<void>}
let app: Awaited<ReturnType<typeof startClientApp>>
let callback: string

beforeAll(async () => {
  app = await startClientApp()
  callback = `${app.url}/callback`
  server = await startFileServer(
    {
      port: 0,
      host: '127.0.0.1',
      config: {
        scopes: {'orders:read': 'Read your orders', 'orders:write': 'Place and cancel orders'},
        users: {
          alice: {name: 'Alice Example', email: 'alice@example.test'},
          bob: {name: 'Bob Builder', email: 'bob@example.test'},
        },
        clients: [
          {id: 'web', name: 'Acme Shop', secret: WEB_SECRET, redirectUris: [callback]},
          {id: 'tv', name: 'Living-room TV', grants: ['device_code'], scopes: ['openid', 'orders:read']},
        ],
      },
    },
    'passport-browser-',
  ).then((running) => ({
    url: running.handle.url(),
    issuer: running.handle.issuer,
    dbPath: running.dbPath,
    handle: running.handle,
    close: () => running.close(),
  }))
  chromium = await launchChromium()
})

afterAll(async () => {
  await shared?.close()
  await chromium?.close()
  await server?.close()
  await app?.close()
})

function authorizeUrl(params: Record<string, string>): string {
  return `${server.url}/oauth/authorize?${new URLSearchParams({response_type: 'code', client_id: 'web', redirect_uri: callback, ...params}).toString()}`
}

/**
 * The tab of the tests with JavaScript, reset before each (Tab.reset: no cookies, permissions or
 * recorded errors carried over); a page without JavaScript needs a context of its own.
 */
let shared: Tab | undefined

async function withTab(run: (tab: Tab) => Promise<void>, options: Parameters<typeof Tab.open>[1] = {}): Promise<void> {
  if (options.javaScriptEnabled === false || options.colorScheme !== undefined) {
    const tab = await Tab.open(chromium.browser, options)
    try {
      await run(tab)
      tab.expectClean()
    } finally {
      await tab.close()
    }
    return
  }
  shared ??= await Tab.open(chromium.browser)
  await shared.reset()
  await run(shared)
  shared.expectClean()
}

function query(db: string, sql: string, ...params: unknown[]): unknown[] {
  const handle = new Database(db, {readonly: true, fileMustExist: true})
  try {
    return handle.prepare(sql).all(...params)
  } finally {
    handle.close()
  }
}

describe('pages in Chromium', () => {
  test('sign-in: configured users as one-click choices, any subject by keyboard, page headers', async () => {
    await withTab(async (tab) => {
      const {page} = tab
      const {challenge} = pkce()
      const response = await page.goto(
        authorizeUrl({scope: 'orders:read', state: 's1', code_challenge: challenge, code_challenge_method: 'S256'}),
      )
      expect(response?.status()).toBe(200)
      const headers = response!.headers()
      expect(headers['x-frame-options']).toBe('DENY')
      expect(headers['referrer-policy']).toBe('no-referrer')
      expect(headers['content-security-policy']).toContain("default-src 'none'")

      await expect.poll(() => page.title()).toBe('Sign in · passport')
      await expect.poll(() => page.locator('h1').innerText()).toContain('to continue to Acme Shop')
      const alice = page.getByRole('button', {name: /Alice Example/})
      expect(await alice.innerText()).toContain('alice@example.test')
      expect(await page.getByRole('button', {name: /Bob Builder/}).innerText()).toContain('bob@example.test')
      await tab.screenshot('sign-in.png')
      await tab.expectAccessible('sign-in')

      // Keyboard only: the subject field has a label; Enter submits.
      await page.getByLabel('Subject (user id)').focus()
      await page.keyboard.type('carol')
      await page.keyboard.press('Enter')
      await page.waitForURL(/\/oauth\/authorize\?/)
      await expect.poll(() => page.locator('header').innerText()).toContain('Signed in as carol')
      expect(await page.locator('h1').innerText()).toBe('Acme Shop wants to access your account')
    })
  })

  test('consent approve: client name and scope descriptions; Approve redirects to the client with a code that redeems', async () => {
    await withTab(async (tab) => {
      const {page} = tab
      const {verifier, challenge} = pkce()
      await page.goto(
        authorizeUrl({
          scope: 'openid orders:read orders:write',
          state: 'approve-me',
          nonce: 'n-1',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        }),
      )
      await page.getByRole('button', {name: /Alice Example/}).click()
      await page.waitForURL(/\/oauth\/authorize\?/)
      expect(await page.locator('h1').innerText()).toBe('Acme Shop wants to access your account')
      const scopes = await page.locator('ul.scopes li').allInnerTexts()
      expect(scopes).toEqual([
        'openid — Sign you in (OpenID Connect)',
        'orders:read — Read your orders',
        'orders:write — Place and cancel orders',
      ])
      expect(await page.locator('.facts').innerText()).toContain(callback)
      await tab.screenshot('consent.png')
      await tab.expectAccessible('consent (light)')
      await page.emulateMedia({colorScheme: 'dark'})
      await tab.expectAccessible('consent (dark)')
      await page.emulateMedia({colorScheme: 'light'})
      await tab.expectFitsPhone('consent')

      await page.getByRole('button', {name: 'Approve'}).click()
      await page.waitForURL(`${callback}?**`)
      const got = new URL(page.url()).searchParams
      expect(got.get('state')).toBe('approve-me')
      expect(got.get('iss')).toBe(server.issuer)
      const code = got.get('code')!
      expect(code).toBeTruthy()

      const token = await fetch(`${server.url}/oauth/token`, {
        method: 'POST',
        headers: {'Content-Type': 'application/x-www-form-urlencoded', Authorization: basic('web', WEB_SECRET)},
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          redirect_uri: callback,
          code_verifier: verifier,
        }).toString(),
      })
      expect(token.status).toBe(200)
      const body = (await token.json()) as {scope: string; id_token?: string}
      expect(body.scope).toBe('openid orders:read orders:write')
      expect(body.id_token).toBeTruthy()
    })
  })

  test('consent deny: the client gets error=access_denied with its state, and no code is issued', async () => {
    await withTab(async (tab) => {
      const {page} = tab
      const {challenge} = pkce()
      await page.goto(
        authorizeUrl({
          scope: 'orders:write',
          state: 'deny-me',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        }),
      )
      await page.getByRole('button', {name: /Bob Builder/}).click()
      await page.waitForURL(/\/oauth\/authorize\?/)
      const codesBefore = query(server.dbPath, "SELECT id FROM oauth_auth_codes WHERE user_id = 'bob'").length
      // Keyboard: Tab from Approve to Deny, then Enter.
      await page.getByRole('button', {name: 'Approve'}).focus()
      await page.keyboard.press('Tab')
      expect(await page.evaluate('document.activeElement?.textContent')).toBe('Deny')
      await page.keyboard.press('Enter')
      await page.waitForURL(`${callback}?**`)
      const got = new URL(page.url()).searchParams
      expect(got.get('error')).toBe('access_denied')
      expect(got.get('state')).toBe('deny-me')
      expect(got.get('code')).toBeNull()
      expect(query(server.dbPath, "SELECT id FROM oauth_auth_codes WHERE user_id = 'bob'").length).toBe(codesBefore)
      await tab.expectAccessible('client callback after deny')
    })
  })

  test('device approval: the code is formatted as typed, the confirmation shows client and scopes, wrong and used codes are explained', async () => {
    const started = await fetch(`${server.url}/oauth/device/code`, {
      method: 'POST',
      headers: {'Content-Type': 'application/x-www-form-urlencoded'},
      body: new URLSearchParams({client_id: 'tv', scope: 'openid orders:read'}).toString(),
    })
    expect(started.status).toBe(200)
    const device = (await started.json()) as {device_code: string; user_code: string; verification_uri: string}
    const bare = device.user_code.replace('-', '').toLowerCase()

    await withTab(async (tab) => {
      const {page} = tab
      await page.goto(device.verification_uri)
      await page.getByRole('button', {name: /Alice Example/}).click()
      await page.waitForURL(/\/oauth\/device$/)
      expect(await page.locator('h1').innerText()).toBe('Connect a device')

      // A wrong code: a clear message, the field keeps it.
      const input = page.getByLabel('Code')
      await input.fill('')
      await input.pressSequentially('bbbbbbbb')
      expect(await input.inputValue()).toBe('BBBB-BBBB')
      await page.keyboard.press('Enter')
      await page.waitForURL(/user_code=/)
      expect(await page.getByRole('alert').innerText()).toContain('No device authorization has the code BBBB-BBBB')
      await tab.expectAccessible('device: wrong code')
      await page.goto(`${server.url}/oauth/device`)

      // Typed in lower case without the hyphen: formatted as XXXX-XXXX while typing.
      await input.fill('')
      await input.pressSequentially(bare.slice(0, 3))
      expect(await input.inputValue()).toBe(bare.slice(0, 3).toUpperCase())
      await input.pressSequentially(bare.slice(3))
      expect(await input.inputValue()).toBe(device.user_code)
      await tab.screenshot('device.png')
      await tab.expectAccessible('device: enter code')
      await page.getByRole('button', {name: 'Continue'}).click()

      await page.waitForURL(/user_code=/)
      expect(await page.locator('h1').innerText()).toBe('Connect Living-room TV?')
      expect(await page.locator('.usercode-display').innerText()).toBe(device.user_code)
      expect(await page.locator('ul.scopes li').allInnerTexts()).toEqual([
        'openid — Sign you in (OpenID Connect)',
        'orders:read — Read your orders',
      ])
      await tab.screenshot('device-confirm.png')
      await tab.expectAccessible('device: confirm')
      await page.getByRole('button', {name: 'Approve'}).click()
      await expect.poll(() => page.locator('h1').innerText()).toBe('Device connected')
      await tab.expectAccessible('device: connected')

      // The device's next poll gets its tokens.
      const polled = await fetch(`${server.url}/oauth/token`, {
        method: 'POST',
        headers: {'Content-Type': 'application/x-www-form-urlencoded'},
        body: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
          device_code: device.device_code,
          client_id: 'tv',
        }).toString(),
      })
      expect(polled.status).toBe(200)

      // The same code again: already used.
      await page.goto(`${server.url}/oauth/device?user_code=${device.user_code}`)
      expect(await page.getByRole('alert').innerText()).toContain('already approved')
    })

    // Without JavaScript the page still works: the unformatted code is accepted as typed.
    const second = (await (
      await fetch(`${server.url}/oauth/device/code`, {
        method: 'POST',
        headers: {'Content-Type': 'application/x-www-form-urlencoded'},
        body: 'client_id=tv&scope=orders:read',
      })
    ).json()) as {user_code: string}
    await withTab(
      async ({page}) => {
        await page.goto(`${server.url}/oauth/device`)
        await page.getByRole('button', {name: /Bob Builder/}).click()
        await page.waitForURL(/\/oauth\/device$/)
        await page.getByLabel('Code').fill(` ${second.user_code.replace('-', ' ').toLowerCase()} `)
        expect(await page.getByLabel('Code').inputValue()).not.toBe(second.user_code)
        await page.getByRole('button', {name: 'Continue'}).click()
        await page.waitForURL(/user_code=/)
        expect(await page.locator('.usercode-display').innerText()).toBe(second.user_code)
        await page.getByRole('button', {name: 'Deny'}).click()
        await expect.poll(() => page.locator('h1').innerText()).toBe('Device denied')
      },
      {javaScriptEnabled: false},
    )
  })

  test('error page: an unregistered redirect_uri names the URI, the registered ones and the fix; nothing is redirected', async () => {
    await withTab(async (tab) => {
      const {page} = tab
      const wrong = `${app.url}/elsewhere`
      const before = app.callbacks.length
      const response = await page.goto(
        authorizeUrl({
          redirect_uri: wrong,
          state: 'x',
          code_challenge: pkce().challenge,
          code_challenge_method: 'S256',
        }),
      )
      expect(response?.status()).toBe(400)
      expect(response!.headers()['x-frame-options']).toBe('DENY')
      expect(await page.locator('h1').innerText()).toBe('Redirect URI not accepted')
      expect(await page.getByRole('alert').innerText()).toBe(
        `redirect_uri ${wrong} is not registered for client web; registered: ${callback}.`,
      )
      expect(await page.locator('.fix').innerText()).toContain(`Add ${wrong} to "redirectUris" of client "web"`)
      expect(page.url()).toContain('/oauth/authorize?')
      expect(app.callbacks.length).toBe(before)
      await tab.screenshot('error.png')
      await tab.expectAccessible('error: redirect_uri')

      const unknown = await page.goto(
        `${server.url}/oauth/authorize?response_type=code&client_id=nobody&redirect_uri=${encodeURIComponent(callback)}`,
      )
      expect(unknown?.status()).toBe(400)
      expect(await page.locator('h1').innerText()).toBe('Unknown client')
      expect(await page.getByRole('alert').innerText()).toBe('No client with id nobody.')
      await tab.expectAccessible('error: unknown client')
    })
  })

  test('dashboard: endpoints with copy buttons, clients without secrets, recent tokens, and "try it" shows the decoded tokens', async () => {
    // A token of its own for the "recent tokens" table (not one another test left behind).
    await server.handle.mint({client: 'web', user: 'alice', scopes: ['openid', 'orders:read', 'orders:write']})
    await withTab(async (tab) => {
      const {page, context} = tab
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], {origin: server.url})
      const response = await page.goto(`${server.url}/`)
      expect(response?.status()).toBe(200)
      expect(response!.headers()['content-security-policy']).toContain("script-src 'self';")
      expect(await page.locator('#issuer').innerText()).toBe(server.issuer)
      const urls = await page.locator('td .url code').allInnerTexts()
      expect(urls).toContain(`${server.issuer}/.well-known/openid-configuration`)
      expect(urls).toContain(`${server.issuer}/oauth/token`)
      const html = await page.content()
      expect(html).not.toContain(WEB_SECRET)
      const clientRows = await page.locator('section[aria-labelledby="clients-heading"] tbody tr').allInnerTexts()
      expect(clientRows.map((r) => r.split('\t')[0])).toEqual(['Living-room TV', 'Acme Shop'])
      const tokenRows = await page.locator('section[aria-labelledby="tokens-heading"] tbody tr').allInnerTexts()
      expect(
        tokenRows.some(
          (r) =>
            r.includes('alice') &&
            r.includes('Acme Shop') &&
            r.includes('openid orders:read orders:write') &&
            r.includes('active'),
        ),
      ).toBe(true)

      // Copy buttons appear with JavaScript and copy the URL.
      await page.getByRole('button', {name: 'Copy issuer URL'}).click()
      await expect.poll(() => page.locator('button[data-copy="issuer"] .label').innerText()).toBe('Copied')
      await expect.poll(() => page.locator('#live').innerText()).toBe(`Copied ${server.issuer}`)
      expect(await page.evaluate('navigator.clipboard.readText()')).toBe(server.issuer)
      await tab.expectAccessible('dashboard')
      await tab.expectFitsPhone('dashboard')

      // "Try it": sign in, approve the demo client, see the decoded tokens.
      await page.getByRole('link', {name: /Try it/}).click()
      await page.getByRole('button', {name: /Alice Example/}).click()
      await page.waitForURL(/\/oauth\/authorize\?/)
      expect(await page.locator('h1').innerText()).toBe('passport demo wants to access your account')
      await page.getByRole('button', {name: 'Approve'}).click()
      await page.waitForURL(/\/demo\/callback\?/)
      expect(await page.locator('h1').innerText()).toBe('It worked: the demo client got its tokens')
      const access = JSON.parse(await page.getByLabel('Access token payload').innerText()) as Record<string, unknown>
      expect(access).toMatchObject({
        iss: server.issuer,
        sub: 'alice',
        client_id: '__demo__',
        scope: 'openid profile email',
      })
      const id = JSON.parse(await page.getByLabel('ID token payload').innerText()) as Record<string, unknown>
      expect(id).toMatchObject({
        iss: server.issuer,
        sub: 'alice',
        aud: '__demo__',
        name: 'Alice Example',
        email: 'alice@example.test',
      })
      expect(JSON.parse(await page.getByLabel('ID token header').innerText())).toMatchObject({alg: 'RS256'})
      expect(await page.locator('main').innerText()).toContain('Nonce matches the one sent')
      expect(await page.content()).not.toMatch(/refresh_token|eyJ[\w-]+\.eyJ/)
      await tab.screenshot('try-it.png', true)
      await tab.expectAccessible('try it: tokens')

      // The demo's token is now on the dashboard; the internal client is not listed.
      await page.getByRole('link', {name: 'Back to the dashboard'}).click()
      await page.waitForURL(`${server.url}/`)
      const after = await page.locator('section[aria-labelledby="tokens-heading"] tbody tr').first().innerText()
      expect(after).toContain('passport demo')
      expect(after).toContain('openid profile email')
      expect(await page.locator('section[aria-labelledby="clients-heading"] tbody tr').count()).toBe(2)
      await tab.screenshot('dashboard.png', true)

      // The callback is one-shot: reloading it explains instead of redeeming again.
      await page.goBack()
      expect(await page.locator('h1').innerText()).toBe('No demo flow in progress')
    })
  })
})
