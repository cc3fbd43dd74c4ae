import {afterAll, beforeAll, describe, expect, test} from 'vitest'

import {Browser, expectPageHeaders, expectSelfContained, field, startTestServer, type TestServer} from './harness.js'

/** SECURITY-CHECKLIST.md §Device authorization, lines 46–47, through the verification page. */
let server: TestServer

beforeAll(async () => {
  server = await startTestServer()
})

afterAll(async () => {
  await server?.close()
})

async function signedIn(subject = 'alice'): Promise<Browser> {
  const browser = new Browser(server.url)
  const page = await browser.get(`${server.prefix}/device`)
  expect(page.status).toBe(200)
  const html = await page.text()
  expect(html).toContain('Sign in')
  const login = await browser.post(`${server.prefix}/login`, {
    csrf: field(html, 'csrf'),
    return_to: field(html, 'return_to'),
    subject,
  })
  expect(login.status).toBe(303)
  expect(login.headers.get('location')).toBe(`${server.prefix}/device`)
  return browser
}

async function confirmPage(browser: Browser, typed: string): Promise<{res: Response; html: string}> {
  const res = await browser.get(`${server.prefix}/device?user_code=${encodeURIComponent(typed)}`)
  return {res, html: await res.text()}
}

describe('device verification page', () => {
  test('checklist 46: user codes are 8 letters of BCDFGHJKLMNPQRSTVWXZ, case-insensitive, hyphens and spaces ignored; others rejected; 5 wrong codes lock the subject', async () => {
    // A subject of its own: the lock outlives this test's browser session.
    const browser = await signedIn('guesser')
    const {userCode, id} = server.deviceAuthorization('tv', ['read'])
    expect(userCode).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/)
    const bare = userCode.replace('-', '')
    let csrf = ''
    for (const typed of [
      userCode,
      userCode.toLowerCase(),
      bare,
      `${bare.slice(0, 2)} ${bare.slice(2, 6)} ${bare.slice(6)}`,
      ` ${bare.toLowerCase()}-`,
    ]) {
      const {res, html} = await confirmPage(browser, typed)
      expect(res.status).toBe(200)
      expect(html).toContain(userCode)
      expect(html).toContain('Living-room TV')
      csrf = field(html, 'csrf')
    }
    expect(server.deviceRow(id).status).toBe('pending')

    // Characters outside the alphabet: a clear message, and it counts as a wrong code.
    const vowels = await confirmPage(browser, 'BCDA-EFGH')
    expect(vowels.res.status).toBe(400)
    expectPageHeaders(vowels.res)
    expect(vowels.html).toContain('is not a user code: it has 8 letters from BCDFGHJKLMNPQRSTVWXZ')
    expect(vowels.html).toContain('4 attempts left')
    const short = await confirmPage(browser, 'BCD')
    expect(short.res.status).toBe(400)
    expect(short.html).toContain('3 attempts left')

    // Well-formed but unknown codes count too; the fifth wrong code locks the session.
    const unknown = await confirmPage(browser, 'BBBB-BBBB')
    expect(unknown.res.status).toBe(400)
    expect(unknown.html).toContain('No device authorization has the code BBBB-BBBB')
    expect((await confirmPage(browser, 'BBBB-BBBC')).res.status).toBe(400)
    const wrongApprove = await browser.post(`${server.prefix}/device/approve`, {
      csrf,
      user_code: 'CCCC-CCCC',
      action: 'approve',
    })
    expect(wrongApprove.status).toBe(429)
    expect(wrongApprove.headers.get('retry-after')).toBe('300')
    expect(await wrongApprove.text()).toContain('codes cannot be entered for 5 minutes')

    // Locked: even the right code is refused, by the page and by the approval POST.
    const locked = await confirmPage(browser, userCode)
    expect(locked.res.status).toBe(429)
    expect(locked.html).toContain('Too many wrong codes (5)')
    expect(locked.html).not.toContain('name="user_code"')
    const approve = await browser.post(`${server.prefix}/device/approve`, {
      csrf,
      user_code: userCode,
      action: 'approve',
    })
    expect(approve.status).toBe(429)
    expect(server.deviceRow(id)).toEqual({status: 'pending', user_id: null})

    // Signing in again does not lift the lock, nor does a new browser session (issue 18 finding 4).
    const page = await browser.get(`${server.prefix}/device`)
    expect(page.status).toBe(429)
    expect((await (await signedIn('guesser')).get(`${server.prefix}/device`)).status).toBe(429)

    // Another subject is not affected.
    const other = await signedIn('bob')
    const ok = await confirmPage(other, userCode)
    expect(ok.res.status).toBe(200)
  })

  test('checklist 47: the page needs a signed-in user and CSRF, shows client and scopes, needs an explicit approve even via verification_uri_complete, and a denial is final', async () => {
    const {userCode, id} = server.deviceAuthorization('tv', ['read', 'write'])

    // verification_uri_complete without a session: the sign-in page, nothing decided.
    const anonymous = new Browser(server.url)
    const first = await anonymous.get(`${server.prefix}/device?user_code=${userCode}`)
    expect(first.status).toBe(200)
    expectPageHeaders(first)
    const signIn = await first.text()
    expect(signIn).toContain('Sign in')
    expect(signIn).not.toContain('Living-room TV')
    expect(field(signIn, 'return_to')).toBe(`${server.prefix}/device?user_code=${userCode}`)
    const noSession = await anonymous.post(`${server.prefix}/device/approve`, {
      csrf: field(signIn, 'csrf'),
      user_code: userCode,
      action: 'approve',
    })
    expect(noSession.status).toBe(403)
    expect(server.deviceRow(id)).toEqual({status: 'pending', user_id: null})

    const login = await anonymous.post(`${server.prefix}/login`, {
      csrf: field(signIn, 'csrf'),
      return_to: field(signIn, 'return_to'),
      subject: 'alice',
    })
    expect(login.status).toBe(303)
    expect(login.headers.get('location')).toBe(`${server.prefix}/device?user_code=${userCode}`)

    // Following verification_uri_complete shows the confirmation, but decides nothing.
    const confirm = await anonymous.get(login.headers.get('location')!)
    expect(confirm.status).toBe(200)
    expectPageHeaders(confirm)
    const html = await confirm.text()
    expectSelfContained(html)
    expect(html).toContain('Living-room TV')
    expect(html).toContain('<code>read</code></span> — Read your data')
    expect(html).toContain('<code>write</code></span> — Change your data')
    expect(html).toContain('value="approve"')
    expect(html).toContain('value="deny"')
    expect(server.deviceRow(id)).toEqual({status: 'pending', user_id: null})

    // Without the session's CSRF token: refused.
    const forged = await anonymous.post(`${server.prefix}/device/approve`, {user_code: userCode, action: 'approve'})
    expect(forged.status).toBe(403)
    expect(server.deviceRow(id).status).toBe('pending')

    // Deny; the denial is final.
    const deny = await anonymous.post(`${server.prefix}/device/approve`, {
      csrf: field(html, 'csrf'),
      user_code: userCode,
      action: 'deny',
    })
    expect(deny.status).toBe(200)
    expectPageHeaders(deny)
    expect(await deny.text()).toContain('Device denied')
    expect(server.deviceRow(id)).toEqual({status: 'denied', user_id: 'alice'})
    const retry = await anonymous.post(`${server.prefix}/device/approve`, {
      csrf: field(html, 'csrf'),
      user_code: userCode,
      action: 'approve',
    })
    expect(retry.status).toBe(400)
    expect(await retry.text()).toContain(`The code ${userCode} was already denied.`)
    const again = await confirmPage(anonymous, userCode)
    expect(again.res.status).toBe(400)
    expect(server.deviceRow(id)).toEqual({status: 'denied', user_id: 'alice'})

    // Approve another through the form.
    const second = server.deviceAuthorization('tv', ['read'])
    const page = await confirmPage(anonymous, second.userCode.toLowerCase())
    const approve = await anonymous.post(`${server.prefix}/device/approve`, {
      csrf: field(page.html, 'csrf'),
      user_code: field(page.html, 'user_code'),
      action: 'approve',
    })
    expect(approve.status).toBe(200)
    expect(await approve.text()).toContain('You approved <strong>Living-room TV</strong>')
    expect(server.deviceRow(second.id)).toEqual({status: 'approved', user_id: 'alice'})
    const twice = await anonymous.post(`${server.prefix}/device/approve`, {
      csrf: field(page.html, 'csrf'),
      user_code: second.userCode,
      action: 'approve',
    })
    expect(twice.status).toBe(400)
    expect(await twice.text()).toContain('was already approved')
  })

  test('the seed JSON API {user_code, approved} needs a session and CSRF, and a strict boolean', async () => {
    const browser = await signedIn('bob')
    const {userCode, id} = server.deviceAuthorization('tv', ['read'])
    const info = await browser.get(`${server.prefix}/device?user_code=${userCode}`, {Accept: 'application/json'})
    expect(info.status).toBe(200)
    const body = (await info.json()) as {
      csrf_token: string
      client: {id: string; name: string}
      scopes: unknown
      user_code: string
      user: string
    }
    expect(body).toMatchObject({
      user: 'bob',
      user_code: userCode,
      client: {id: 'tv', name: 'Living-room TV'},
      scopes: [{id: 'read', description: 'Read your data'}],
    })

    for (const approved of ['true', 1, null, 'yes']) {
      const res = await browser.postJson(
        `${server.prefix}/device/approve`,
        {user_code: userCode, approved},
        {'X-CSRF-Token': body.csrf_token},
      )
      expect(res.status).toBe(400)
      expect(((await res.json()) as {error: string}).error).toBe('invalid_request')
    }
    expect(server.deviceRow(id).status).toBe('pending')
    const noToken = await browser.postJson(`${server.prefix}/device/approve`, {user_code: userCode, approved: true})
    expect(noToken.status).toBe(403)
    const ok = await browser.postJson(
      `${server.prefix}/device/approve`,
      {user_code: userCode, approved: true},
      {'X-CSRF-Token': body.csrf_token},
    )
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({user_code: userCode, status: 'approved', client_id: 'tv'})
    expect(server.deviceRow(id)).toEqual({status: 'approved', user_id: 'bob'})

    const denied = server.deviceAuthorization('tv', ['read'])
    const no = await browser.postJson(`${server.prefix}/device/approve`, {
      user_code: denied.userCode,
      approved: false,
      csrf: body.csrf_token,
    })
    expect(await no.json()).toEqual({user_code: denied.userCode, status: 'denied', client_id: 'tv'})
    expect(server.deviceRow(denied.id)).toEqual({status: 'denied', user_id: 'bob'})

    const used = await browser.postJson(`${server.prefix}/device/approve`, {
      user_code: denied.userCode,
      approved: true,
      csrf: body.csrf_token,
    })
    expect(used.status).toBe(400)
    expect(await used.json()).toMatchObject({error: 'invalid_grant'})

    const anonymous = await new Browser(server.url).get(`${server.prefix}/device`, {Accept: 'application/json'})
    expect(anonymous.status).toBe(401)
  })

  test('an expired code gets a clear message', async () => {
    const browser = await signedIn()
    // Created two minutes ago with a one-minute lifetime: expired without waiting.
    const {userCode, id} = server.deviceAuthorization('tv', ['read'], 60_000, Date.now() - 120_000)
    const {res, html} = await confirmPage(browser, userCode)
    expect(res.status).toBe(400)
    expect(html).toContain('has expired; start the device sign-in again')
    expect(server.deviceRow(id).status).toBe('pending')
  })

  test('--login-as signs the device page in directly', async () => {
    const headless = await startTestServer({loginAs: 'carol'})
    try {
      const browser = new Browser(headless.url)
      const {userCode, id} = headless.deviceAuthorization('tv', ['read'])
      const page = await browser.get(`${headless.prefix}/device?user_code=${userCode}`)
      expect(page.status).toBe(200)
      const html = await page.text()
      expect(html).toContain('Signed in as <code>carol</code>')
      expect(headless.deviceRow(id).status).toBe('pending')
      const approve = await browser.post(`${headless.prefix}/device/approve`, {
        csrf: field(html, 'csrf'),
        user_code: userCode,
        action: 'approve',
      })
      expect(approve.status).toBe(200)
      expect(headless.deviceRow(id)).toEqual({status: 'approved', user_id: 'carol'})
    } finally {
      await headless.close()
    }
  })
})
