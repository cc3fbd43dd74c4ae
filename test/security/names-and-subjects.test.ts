import {afterAll, beforeAll, describe, expect, test} from 'vitest'

import {Authority} from '../../src/core/authority.js'
import {userViews} from '../../src/core/claims.js'
import {parseConfig} from '../../src/core/config.js'
import {decideDeviceAuthorization, createDeviceAuthorization} from '../../src/core/device.js'
import {generateKeys, keyLocation} from '../../src/core/keys.js'
import {mintToken} from '../../src/core/mint.js'
import {subjectProblem} from '../../src/core/subjects.js'
import {ConfigError, SubjectError} from '../../src/errors.js'
import {startServer} from '../../src/api.js'
import {runCli, tempDir, writeJson} from '../helpers.js'
import {Browser, authorizePath, field, location, pkce} from '../web/harness.js'

/**
 * Issue 18 items 5, 7 and 13 (subjects): names inherited from Object.prototype are not scopes or
 * users; one subject rule (no control or bidi characters, no leading or trailing space) holds in
 * the configuration, minting, sign-in, device approval and --login-as; and a user token is never
 * made for a subject equal to its client's id.
 */

const PROTOTYPE_NAMES = ['toString', 'constructor', '__proto__', 'hasOwnProperty']
const BAD_SUBJECTS = [
  ' bob',
  'bob ',
  '',
  'a\u0000b',
  'a\u0085b',
  'a\u009bb',
  'evil\u202egnp.exe',
  'a\u2066b',
  'a\u200eb',
  'a\u061cb',
  'x'.repeat(256),
]

const CONFIG = {
  scopes: {read: 'Read your data', write: 'Change your data'},
  users: {alice: {name: 'Alice'}},
  clients: [
    {
      id: 'web',
      name: 'Web app',
      secret: 'web-secret-123',
      redirectUris: ['http://localhost:3000/callback'],
      scopes: ['read', 'write', 'openid'],
    },
    {id: 'spa', name: 'Single-page app', redirectUris: ['http://localhost:4000/cb']},
    {id: 'machine', name: 'Cron job', secret: 'machine-secret-123', grants: ['client_credentials']},
    {id: 'tv', name: 'TV', grants: ['device_code']},
  ],
}

describe('subject rule (core/subjects.ts)', () => {
  test('checklist 111: refuses empty, padded, over-long, C0/C1 control and bidi-control subjects; accepts ordinary ones', () => {
    for (const subject of BAD_SUBJECTS) expect(subjectProblem(subject), JSON.stringify(subject)).toBeDefined()
    for (const subject of ['alice', 'user@example.test', 'Zoë', '名前', 'a b', 'x'.repeat(255)])
      expect(subjectProblem(subject), subject).toBeUndefined()
  })

  test('checklist 111: the configuration refuses a user keyed by a bad subject (" bob" was accepted before)', () => {
    for (const subject of [' bob', 'evil\u202egnp', 'a\u0085b']) {
      expect(() => parseConfig({users: {[subject]: {}}}, 'passport.config.json')).toThrow(ConfigError)
    }
    expect(() => parseConfig({users: {' bob': {}}}, 'passport.config.json')).toThrow(
      'passport.config.json: "users. bob" is not a subject: A subject must not start or end with spaces.',
    )
  })

  test('checklist 110: Object.prototype names are ordinary user names: a user keyed "__proto__" or "toString" is listed with its claims', () => {
    const config = parseConfig(JSON.parse('{"users": {"__proto__": {"name": "Proto"}, "toString": {"name": "Str"}}}'))
    expect(userViews(config).map((u) => [u.sub, u.name])).toEqual([
      ['__proto__', 'Proto'],
      ['toString', 'Str'],
    ])
    // An unconfigured name is still not a user.
    expect(Object.hasOwn(config.users, 'constructor')).toBe(false)
  })
})

describe('library: mintToken and device approval', () => {
  let authority: Authority
  let cleanup: () => void
  beforeAll(async () => {
    const temp = tempDir('passport-subjects-')
    cleanup = temp.cleanup
    await generateKeys(temp.dir, {bits: 2048})
    authority = Authority.open({config: parseConfig(CONFIG), database: ':memory:', keys: keyLocation(temp.dir, {})})
  })
  afterAll(() => {
    authority?.close()
    cleanup?.()
  })

  test('checklist 111: mintToken refuses control and bidi characters in the user (it accepted them before)', async () => {
    for (const user of ['a\u0085b', 'evil\u202egnp', 'a\u0007b']) {
      const failure = mintToken(authority, {user})
      await expect(failure).rejects.toThrow(SubjectError)
      // The message shows the refused characters escaped, never raw.
      await expect(failure).rejects.toThrow(/\\u\{/)
    }
  })

  test('checklist 110: mintToken refuses Object.prototype names as scopes', async () => {
    for (const scope of PROTOTYPE_NAMES) {
      await expect(mintToken(authority, {user: 'alice', scopes: [scope]})).rejects.toThrow(`Unknown scope "${scope}"`)
    }
  })

  test('checklist 111, 112: device approval refuses a bad subject and a subject equal to the client id; the code stays pending', () => {
    const created = createDeviceAuthorization(authority.store, {id: 'tv'}, [], 600_000)
    expect(() => decideDeviceAuthorization(authority.store, created.userCode, 'evil\u202egnp', true)).toThrow(
      SubjectError,
    )
    expect(() => decideDeviceAuthorization(authority.store, created.userCode, 'tv', true)).toThrow(
      'The user "tv" has the id of the client it would be issued to; such a token would read as a client-credentials token (sub = client_id).',
    )
    expect(authority.store.deviceCodes.findByUserCodeHash(created.row.userCodeHash)?.status).toBe('pending')
    expect(decideDeviceAuthorization(authority.store, created.userCode, 'alice', true).status).toBe('approved')
  })
})

describe('server', () => {
  let server: Awaited<ReturnType<typeof startServer>>
  beforeAll(async () => {
    server = await startServer({config: CONFIG})
  })
  afterAll(async () => {
    await server?.close()
  })

  test('checklist 110: authorize: Object.prototype names as scopes are invalid_scope, never a consent page', async () => {
    for (const scope of PROTOTYPE_NAMES) {
      const browser = new Browser(server.url())
      const res = await browser.get(
        authorizePath('/oauth', {
          response_type: 'code',
          client_id: 'spa',
          redirect_uri: 'http://localhost:4000/cb',
          scope,
          state: 's',
          code_challenge: pkce().challenge,
          code_challenge_method: 'S256',
        }),
      )
      expect(res.status, scope).toBe(302)
      const {params} = location(res)
      expect(params.get('error')).toBe('invalid_scope')
      expect(params.get('error_description')).toBe(
        `Unknown scope '${scope}'; known scopes: openid, profile, email, offline_access, read, write.`,
      )
    }
  })

  test('checklist 110: token endpoint (client_credentials): Object.prototype names as scopes are invalid_scope', async () => {
    for (const scope of PROTOTYPE_NAMES) {
      const res = await fetch(`${server.url()}/oauth/token`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          Authorization: `Basic ${Buffer.from('machine:machine-secret-123').toString('base64')}`,
        },
        body: new URLSearchParams({grant_type: 'client_credentials', scope}).toString(),
      })
      expect(res.status, scope).toBe(400)
      expect(await res.json()).toEqual({
        error: 'invalid_scope',
        error_description: `Unknown scope '${scope}'; known scopes: openid, profile, email, offline_access, read, write.`,
      })
    }
  })

  test('checklist 111: sign-in refuses bidi and C1 control subjects with the page and 400', async () => {
    for (const subject of ['evil\u202egnp', 'a\u0085b']) {
      const browser = new Browser(server.url())
      const page = await (await browser.get('/oauth/device')).text()
      const res = await browser.post('/oauth/login', {
        csrf: field(page, 'csrf'),
        return_to: field(page, 'return_to'),
        subject,
      })
      expect(res.status).toBe(400)
      expect(await res.text()).toContain('A subject must not contain')
    }
  })

  test('checklist 112: a subject equal to the client id signs in but gets no code for that client (400, sign-in page again)', async () => {
    const browser = new Browser(server.url())
    const path = authorizePath('/oauth', {
      response_type: 'code',
      client_id: 'spa',
      redirect_uri: 'http://localhost:4000/cb',
      state: 's',
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
    })
    const page = await (await browser.get(path)).text()
    const login = await browser.post('/oauth/login', {
      csrf: field(page, 'csrf'),
      return_to: field(page, 'return_to'),
      subject: 'spa',
    })
    expect(login.status).toBe(303)
    const again = await browser.get(login.headers.get('location')!)
    expect(again.status).toBe(400)
    expect(await again.text()).toContain('has the id of the client it would be issued to')
    const json = await browser.get(path, {Accept: 'application/json'})
    expect(json.status).toBe(400)
    expect(await json.json()).toEqual({
      error: 'invalid_request',
      error_description:
        "The signed-in user cannot use client spa: The user 'spa' has the id of the client it would be issued to; such a token would read as a client-credentials token (sub = client_id).",
    })
  })

  test('checklist 112: device approval as the client id is refused with invalid_request and does not count as a wrong code', async () => {
    const browser = new Browser(server.url())
    const page = await (await browser.get('/oauth/device')).text()
    await browser.post('/oauth/login', {csrf: field(page, 'csrf'), return_to: field(page, 'return_to'), subject: 'tv'})
    const {csrf_token: csrf} = (await (await browser.get('/oauth/device', {Accept: 'application/json'})).json()) as {
      csrf_token: string
    }
    const res = await fetch(`${server.url()}/oauth/device/code`, {
      method: 'POST',
      headers: {'Content-Type': 'application/x-www-form-urlencoded'},
      body: 'client_id=tv',
    })
    const {user_code: userCode} = (await res.json()) as {user_code: string}
    for (let i = 0; i < 6; i++) {
      const answer = await browser.postJson(
        '/oauth/device/approve',
        {user_code: userCode, approved: true},
        {'X-CSRF-Token': csrf},
      )
      expect(answer.status).toBe(400)
      expect(((await answer.json()) as {error: string}).error).toBe('invalid_request')
    }
  })
})

describe('startServer and the CLI', () => {
  test('checklist 111, 112: --login-as must be a subject; --login-as equal to the client id redirects invalid_request', async () => {
    for (const loginAs of ['', ' bob', 'evil\u202egnp'])
      await expect(startServer({config: CONFIG, loginAs})).rejects.toThrow(SubjectError)
    const server = await startServer({config: CONFIG, loginAs: 'spa', autoApprove: true})
    try {
      const res = await fetch(
        `${server.url()}${authorizePath('/oauth', {response_type: 'code', client_id: 'spa', redirect_uri: 'http://localhost:4000/cb', state: 's', code_challenge: pkce().challenge, code_challenge_method: 'S256'})}`,
        {redirect: 'manual'},
      )
      expect(res.status).toBe(302)
      const {params} = location(res)
      expect(params.get('error')).toBe('invalid_request')
      expect(params.get('error_description')).toMatch(
        /^login_hint cannot be used as a subject: The user 'spa' has the id of the client/,
      )
      expect(params.get('code')).toBeNull()
    } finally {
      await server.close()
    }
  })

  test('checklist 110, 111: passport token refuses Object.prototype names as scopes and a bidi subject (exit 1, one line)', async () => {
    const {dir, cleanup} = tempDir('passport-names-')
    try {
      writeJson(`${dir}/passport.config.json`, CONFIG)
      for (const scope of ['toString', '__proto__']) {
        const result = await runCli(['token', '--user', 'alice', '--scope', scope], {cwd: dir})
        expect(result.code, result.stderr).toBe(1)
        expect(result.stdout).toBe('')
        expect(result.stderr).toContain(`Unknown scope "${scope}"`)
      }
      const bidi = await runCli(['token', '--user', 'evil\u202egnp'], {cwd: dir})
      expect(bidi.code).toBe(1)
      expect(bidi.stderr).toContain(
        'The user "evil\\u{202e}gnp" is not a subject: A subject must not contain bidirectional control characters',
      )
      expect(bidi.stderr).not.toContain('\u202e')
    } finally {
      cleanup()
    }
  })
})
