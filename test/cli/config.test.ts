import {existsSync, mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {tempDir, writeJson} from '../helpers.js'
import {expectOneLineError, passport, passportJson} from './support.js'

describe('configuration and precedence', () => {
  let dir: string
  let cleanup: () => void
  beforeEach(() => ({dir, cleanup} = tempDir()))
  afterEach(() => cleanup())

  const created = () =>
    ['storage/passport.sqlite', 'config.sqlite', 'env.sqlite', 'flag.sqlite'].filter((f) => existsSync(join(dir, f)))

  it('database: flag > environment > config file > default', async () => {
    await passportJson(dir, ['client:list'])
    expect(created()).toEqual(['storage/passport.sqlite'])

    writeJson(join(dir, 'passport.config.json'), {database: 'config.sqlite'})
    await passportJson(dir, ['client:list'])
    expect(created()).toEqual(['storage/passport.sqlite', 'config.sqlite'])

    await passportJson(dir, ['client:list'], {env: {PASSPORT_DATABASE: 'env.sqlite'}})
    expect(created()).toEqual(['storage/passport.sqlite', 'config.sqlite', 'env.sqlite'])

    await passportJson(dir, ['client:list', '--database', 'flag.sqlite'], {env: {PASSPORT_DATABASE: 'env.sqlite'}})
    expect(created()).toEqual(['storage/passport.sqlite', 'config.sqlite', 'env.sqlite', 'flag.sqlite'])
  })

  it('config file: --config > PASSPORT_CONFIG > ./passport.config.json', async () => {
    writeJson(join(dir, 'passport.config.json'), {scopes: {local: 'From ./passport.config.json'}})
    writeJson(join(dir, 'env.json'), {scopes: {env: 'From PASSPORT_CONFIG'}})
    writeJson(join(dir, 'flag.json'), {scopes: {flag: 'From --config'}})
    const configured = async (args: string[], env?: Record<string, string>) =>
      (await passportJson<Array<{id: string}>>(dir, ['scopes', ...args], env ? {env} : {}))
        .map((s) => s.id)
        .filter((id) => !['openid', 'profile', 'email', 'offline_access'].includes(id))
    expect(await configured([])).toEqual(['local'])
    expect(await configured([], {PASSPORT_CONFIG: 'env.json'})).toEqual(['env'])
    expect(await configured(['--config', 'flag.json'], {PASSPORT_CONFIG: 'env.json'})).toEqual(['flag'])
    expectOneLineError(
      await passport(dir, ['scopes', '--config', 'missing.json']),
      1,
      /Configuration file .*missing\.json does not exist\./,
    )
  })

  it('key path: flag > environment > config file > default; relative paths in the file resolve against it', async () => {
    mkdirSync(join(dir, 'conf'))
    writeJson(join(dir, 'conf', 'passport.json'), {keyPath: 'keys'})
    const where = async (args: string[], env: Record<string, string> = {}) =>
      (await passportJson<{private_key_path: string}>(dir, ['keys', '--config', 'conf/passport.json', ...args], {env}))
        .private_key_path
    expect(await where([])).toBe(join(dir, 'conf', 'keys', 'oauth-private.key'))
    expect(await where([], {PASSPORT_KEY_PATH: 'env-keys'})).toBe(join(dir, 'env-keys', 'oauth-private.key'))
    expect(await where(['--key-path', 'flag-keys'], {PASSPORT_KEY_PATH: 'env-keys'})).toBe(
      join(dir, 'flag-keys', 'oauth-private.key'),
    )
    const bare = tempDir()
    try {
      expect((await passportJson<{private_key_path: string}>(bare.dir, ['keys'])).private_key_path).toBe(
        join(bare.dir, 'storage', 'oauth-private.key'),
      )
    } finally {
      bare.cleanup()
    }
  })

  it.each([
    ['bad JSON', '{"issuer": ', /passport\.config\.json is not valid JSON/],
    [
      'an unknown key',
      JSON.stringify({issuer: 'http://localhost:9000', colour: 'blue'}),
      /passport\.config\.json: unknown key "colour"/,
    ],
    [
      'a wrong type',
      JSON.stringify({tokensExpireIn: true}),
      /passport\.config\.json: "tokensExpireIn" must be milliseconds or a duration like "15m"/,
    ],
    [
      'a bad nested value',
      JSON.stringify({clients: [{id: 'web', autoApprove: 'yes'}]}),
      /passport\.config\.json: "clients\[0\]\.autoApprove" must be true or false\./,
    ],
    [
      'an unknown nested key',
      JSON.stringify({users: {alice: {nmae: 'Alice'}}}),
      /passport\.config\.json: "users\.alice\.nmae" must be one of/,
    ],
  ])(
    'a config file with %s stops every command with one line naming the file and key (exit 1)',
    async (_what, text, message) => {
      writeFileSync(join(dir, 'passport.config.json'), text)
      for (const command of [['scopes'], ['client:list'], ['purge'], ['keys']]) {
        const result = await passport(dir, command)
        expectOneLineError(result, 1, message)
        expect(result.stderr).toContain(join(dir, 'passport.config.json'))
        expect(result.stdout).toBe('')
      }
      expect(existsSync(join(dir, 'storage'))).toBe(false)
    },
  )

  it('a config client with a bad redirect URI names the client', async () => {
    writeJson(join(dir, 'passport.config.json'), {
      clients: [{id: 'web', secret: 'dev-secret', redirectUris: ['http://localhost/cb#x']}],
    })
    expectOneLineError(
      await passport(dir, ['client:list']),
      1,
      /passport\.config\.json: clients\[0\]\.redirectUris: Redirect URI "http:\/\/localhost\/cb#x" must not contain a fragment/,
    )
  })

  it('--json errors are one JSON document on stdout as well as one line on stderr', async () => {
    writeFileSync(join(dir, 'passport.config.json'), '[]')
    const result = await passport(dir, ['scopes', '--json'])
    expectOneLineError(result, 1)
    expect(JSON.parse(result.stdout)).toEqual({
      error: {code: 'ERR_CONFIG', message: expect.stringContaining('"(top level)" must be a JSON object')},
    })
  })
})

describe('passport scopes', () => {
  let dir: string
  let cleanup: () => void
  beforeEach(() => ({dir, cleanup} = tempDir()))
  afterEach(() => cleanup())

  it('lists the OpenID scopes and the configured (or default) scopes', async () => {
    const plain = await passport(dir, ['scopes'])
    expect(plain.stdout).toBe(
      [
        'SCOPE           DESCRIPTION',
        'openid          Sign you in (OpenID Connect)',
        'profile         Your name and profile',
        'email           Your email address',
        'offline_access  Stay signed in (refresh tokens)',
        'read            Read access',
        'write           Write access',
        'admin           Full administrative access',
        '',
      ].join('\n'),
    )
    writeJson(join(dir, 'passport.config.json'), {scopes: {'orders:read': 'Read orders'}})
    expect(await passportJson(dir, ['scopes'])).toEqual([
      {id: 'openid', description: 'Sign you in (OpenID Connect)'},
      {id: 'profile', description: 'Your name and profile'},
      {id: 'email', description: 'Your email address'},
      {id: 'offline_access', description: 'Stay signed in (refresh tokens)'},
      {id: 'orders:read', description: 'Read orders'},
    ])
  })
})
