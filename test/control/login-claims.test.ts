import {join} from 'node:path'

import {decodeJwt} from 'jose'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'

import {runCli, tempDir, writeJson} from '../helpers.js'
import {post} from '../server/harness.js'
import {authorizePath, Browser, field, location, pkce} from '../web/harness.js'
import {CONFIG, openidClientLogin, REDIRECT, serve, startHandle, stopServed, web, type Handle} from './support.js'

afterEach(stopServed)

async function userinfo(
  server: {endpoints: {userinfo: string}},
  accessToken: string,
): Promise<Record<string, unknown>> {
  return (await (
    await fetch(server.endpoints.userinfo, {headers: {authorization: `Bearer ${accessToken}`}})
  ).json()) as Record<string, unknown>
}

describe('--login-claim / startServer({loginClaims}): claims for every headless sign-in', () => {
  let server: Handle
  beforeAll(async () => {
    server = await startHandle({loginClaims: {role: 'auditor', groups: ['dev', 'ops'], email: 'alice@login.test'}})
  })
  afterAll(() => server.close())

  it('reach the id token and userinfo by the claims rules (profile releases custom claims); the access token does not carry them', async () => {
    const tokens = await openidClientLogin(server)
    expect(tokens.claims()).toMatchObject({
      sub: 'alice',
      name: 'Alice Example',
      role: 'auditor',
      groups: ['dev', 'ops'],
    })
    // email needs the email scope, which this login did not ask for.
    expect(tokens.claims()).not.toHaveProperty('email')
    expect(await userinfo(server, tokens.access_token)).toEqual({
      sub: 'alice',
      name: 'Alice Example',
      role: 'auditor',
      groups: ['dev', 'ops'],
    })
    const access = decodeJwt(tokens.access_token)
    expect(access).not.toHaveProperty('role')
    // A refresh keeps them: they belong to the sign-in's token family.
    const refreshed = await post(
      server.endpoints.token,
      {grant_type: 'refresh_token', refresh_token: tokens.refresh_token!},
      {auth: web},
    )
    expect(decodeJwt(refreshed.json.id_token as string)).toMatchObject({role: 'auditor', groups: ['dev', 'ops']})
  })

  it('the device flow too: approved on the device page as --login-as, the device gets the claims', async () => {
    const started = await post(server.endpoints.deviceAuthorization, {client_id: 'tv', scope: 'openid profile'})
    expect(started.status).toBe(200)
    const browser = new Browser(server.url())
    const page = await browser.get('/oauth/device', {Accept: 'application/json'})
    const {csrf_token: csrf} = (await page.json()) as {csrf_token: string}
    const approved = await browser.postJson(
      '/oauth/device/approve',
      {user_code: started.json.user_code, approved: true},
      {'X-CSRF-Token': csrf},
    )
    expect(approved.status).toBe(200)
    const tokens = await post(server.endpoints.token, {
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      device_code: started.json.device_code as string,
      client_id: 'tv',
    })
    expect(tokens.status).toBe(200)
    expect(decodeJwt(tokens.json.id_token as string)).toMatchObject({
      sub: 'alice',
      role: 'auditor',
      groups: ['dev', 'ops'],
    })
  })

  it('a reserved claim is refused at start', async () => {
    await expect(startHandle({loginClaims: {aud: 'x'}})).rejects.toThrow(
      'loginClaims cannot set "aud": passport sets it itself.',
    )
  })
})

describe('the sign-in page: claims for this sign-in (JSON, validated)', () => {
  let server: Handle
  beforeAll(async () => {
    server = await startHandle({loginAs: undefined as never})
  })
  afterAll(() => server.close())

  async function signIn(
    browser: Browser,
    claims: string,
    subject = 'carol',
  ): Promise<{status: number; html: string; verifier: string; path: string}> {
    const {verifier, challenge} = pkce()
    const path = authorizePath('/oauth', {
      response_type: 'code',
      client_id: 'web',
      redirect_uri: REDIRECT,
      scope: 'openid profile email',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      nonce: 'n-1',
    })
    const page = await (await browser.get(path)).text()
    expect(page).toContain('<textarea id="claims-user" name="claims"')
    expect(page).toContain('<textarea id="claims-subject" name="claims"')
    const login = await browser.post('/oauth/login', {
      csrf: field(page, 'csrf'),
      return_to: field(page, 'return_to'),
      subject,
      claims,
    })
    return {status: login.status, html: await login.text(), verifier, path}
  }

  it('valid JSON claims reach the id token and userinfo of that sign-in only', async () => {
    const browser = new Browser(server.url())
    const login = await signIn(
      browser,
      '{"role": "tester", "name": "Carol Claims", "email": "carol@example.test", "email_verified": true}',
    )
    expect(login.status).toBe(303)
    const answer = await browser.get(login.path)
    expect(answer.status).toBe(302)
    const code = location(answer).params.get('code')!
    const tokens = await post(
      server.endpoints.token,
      {grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: login.verifier},
      {auth: web},
    )
    expect(tokens.status).toBe(200)
    expect(decodeJwt(tokens.json.id_token as string)).toMatchObject({
      sub: 'carol',
      name: 'Carol Claims',
      role: 'tester',
      email: 'carol@example.test',
      email_verified: true,
    })
    expect(await userinfo(server, tokens.json.access_token as string)).toEqual({
      sub: 'carol',
      name: 'Carol Claims',
      role: 'tester',
      email: 'carol@example.test',
      email_verified: true,
    })

    // Signing in again without claims: the next sign-in has none.
    const again = new Browser(server.url())
    const plain = await signIn(again, '')
    expect(plain.status).toBe(303)
    const code2 = location(await again.get(plain.path)).params.get('code')!
    const tokens2 = await post(
      server.endpoints.token,
      {grant_type: 'authorization_code', code: code2, redirect_uri: REDIRECT, code_verifier: plain.verifier},
      {auth: web},
    )
    const id = decodeJwt(tokens2.json.id_token as string)
    expect(id.sub).toBe('carol')
    expect(id).not.toHaveProperty('role')
    expect(id).not.toHaveProperty('name')
  })

  it('checklist 159: invalid JSON, a non-object, a reserved claim or over 2 KB → 400 on the sign-in page with the reason, the text kept, nobody signed in', async () => {
    const cases: [string, string][] = [
      [
        '{"role": ',
        'The claims for this sign-in are not valid JSON; write an object such as {&quot;role&quot;: &quot;admin&quot;}.',
      ],
      ['["admin"]', 'The claims for this sign-in must be a JSON object such as {&quot;role&quot;: &quot;admin&quot;}.'],
      ['{"sub": "mallory"}', 'The claims for this sign-in cannot set &quot;sub&quot;: passport sets it itself.'],
      ['{"nonce": "x"}', 'The claims for this sign-in cannot set &quot;nonce&quot;: passport sets it itself.'],
      ['{"email_verified": "yes"}', 'The claims for this sign-in: &quot;email_verified&quot; must be true or false.'],
      [`{"bio": "${'x'.repeat(2040)}"}`, 'The claims for this sign-in are 2050 bytes of JSON; at most 2048 are kept.'],
    ]
    for (const [claims, message] of cases) {
      const browser = new Browser(server.url())
      const login = await signIn(browser, claims)
      expect(login.status, claims).toBe(400)
      expect(login.html).toContain(message)
      expect(login.html).toContain(
        `>${claims.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')}</textarea>`,
      )
      const retry = await browser.get(login.path)
      expect(retry.status).toBe(200)
      expect(await retry.text()).toContain('name="subject"')
    }
  })
})

describe('passport serve --login-as SUB --login-claim k=v', () => {
  it('adds the claims to the id token headlessly; without --login-as or with a reserved claim it refuses to start', async () => {
    const served = await serve([
      '--login-as',
      'alice',
      '--login-claim',
      'role=owner',
      '--login-claim',
      'groups=["a","b"]',
      '--login-claim',
      'level=3',
    ])
    const handle = {
      issuer: served.line.issuer,
      endpoints: {userinfo: `${served.line.url}/oauth/userinfo`},
      url: (path = '') => `${served.line.url}${path}`,
    } as never
    const tokens = await openidClientLogin(handle)
    expect(tokens.claims()).toMatchObject({sub: 'alice', role: 'owner', groups: ['a', 'b'], level: 3})
    expect(await userinfo(handle, tokens.access_token)).toMatchObject({
      sub: 'alice',
      role: 'owner',
      groups: ['a', 'b'],
      level: 3,
    })

    const {dir, cleanup} = tempDir()
    try {
      writeJson(join(dir, 'passport.config.json'), CONFIG)
      const alone = await runCli(['serve', '--port', '0', '--database', ':memory:', '--login-claim', 'role=x'], {
        cwd: dir,
      })
      expect(alone.code).toBe(2)
      expect(alone.stderr).toContain('--login-as')
      const reserved = await runCli(
        ['serve', '--port', '0', '--database', ':memory:', '--login-as', 'alice', '--login-claim', 'iss=x'],
        {cwd: dir},
      )
      expect([reserved.code, reserved.stderr.trim()]).toEqual([
        1,
        'Error: --login-claim cannot set "iss": passport sets it itself.',
      ])
      const malformed = await runCli(
        ['serve', '--port', '0', '--database', ':memory:', '--login-as', 'alice', '--login-claim', 'role'],
        {cwd: dir},
      )
      expect([malformed.code, malformed.stderr.trim()]).toEqual([
        2,
        'Error: --login-claim needs the form name=value; got "role".',
      ])
    } finally {
      cleanup()
    }
  })
})
