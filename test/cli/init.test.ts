import {existsSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {tempDir} from '../helpers.js'
import {
  defaultDb,
  expectOneLineError,
  hasScript,
  openDb,
  passport,
  passportJson,
  passportOnTty,
  sha256Hex,
} from './support.js'

describe('passport init', () => {
  let dir: string
  let cleanup: () => void
  beforeEach(() => ({dir, cleanup} = tempDir()))
  afterEach(() => cleanup())

  it('writes the starter config, generates keys and creates the database', async () => {
    const result = await passport(dir, ['init'])
    expect(result.code, result.stderr).toBe(0)
    const kid = /key id ([\w-]{43})/.exec(result.stdout)?.[1]
    expect(result.stdout).toBe(
      'Wrote passport.config.json (issuer: the server\'s own address, example client "web").\n' +
        `Generated signing keys in storage/ (key id ${kid}).\n` +
        'Database ready: storage/passport.sqlite.\n' +
        'Next: passport serve\n',
    )
    const config = JSON.parse(readFileSync(join(dir, 'passport.config.json'), 'utf8'))
    expect(config).not.toHaveProperty('issuer')
    expect(config).toMatchObject({
      $schema: './node_modules/passport-authority/passport.config.schema.json',
      scopes: {read: 'Read access', write: 'Write access', admin: 'Full administrative access'},
      tokensExpireIn: '15d',
      refreshTokensExpireIn: '30d',
      personalAccessTokensExpireIn: '180d',
      users: {alice: {name: 'Alice Example', email: 'alice@example.test', claims: {role: 'admin'}}},
      clients: [
        {
          id: 'web',
          name: 'Web app',
          redirectUris: ['http://localhost:3000/callback'],
          grants: ['authorization_code', 'refresh_token'],
          scopes: ['read', 'write'],
          autoApprove: true,
        },
      ],
    })
    expect(config.clients[0].secret).toMatch(/^[\w-]{32}$/)
    expect(result.stdout).not.toContain(config.clients[0].secret)
    expect(statSync(join(dir, 'storage')).mode & 0o777).toBe(0o700)
    expect(statSync(join(dir, 'storage', 'oauth-private.key')).mode & 0o777).toBe(0o600)
    const db = openDb(defaultDb(dir))
    const row = db.prepare('SELECT id, secret_hash, source FROM oauth_clients').all()
    db.close()
    expect(row).toEqual([{id: 'web', secret_hash: sha256Hex(config.clients[0].secret), source: 'config'}])
  })

  it('--json returns the paths and key id; --issuer is written', async () => {
    const out = await passportJson<Record<string, unknown>>(dir, ['init', '--yes', '--issuer', 'http://localhost:8080'])
    expect(out).toEqual({
      config_file: join(dir, 'passport.config.json'),
      private_key_path: join(dir, 'storage', 'oauth-private.key'),
      public_key_path: join(dir, 'storage', 'oauth-public.key'),
      kid: expect.stringMatching(/^[\w-]{43}$/),
      keys_created: true,
      database: defaultDb(dir),
    })
    expect(JSON.parse(readFileSync(join(dir, 'passport.config.json'), 'utf8')).issuer).toBe('http://localhost:8080')
  })

  it('refuses to overwrite an existing config without --force, and keeps existing keys with it', async () => {
    const first = await passportJson<{kid: string}>(dir, ['init'])
    writeFileSync(join(dir, 'passport.config.json'), '{"issuer": "http://localhost:1234"}\n')
    const refused = await passport(dir, ['init'])
    expectOneLineError(refused, 1, /passport\.config\.json already exists; pass --force to overwrite it\.$/)
    expect(readFileSync(join(dir, 'passport.config.json'), 'utf8')).toContain('1234')
    const forced = await passportJson<{kid: string; keys_created: boolean}>(dir, ['init', '--force'])
    expect(forced).toMatchObject({kid: first.kid, keys_created: false})
    expect(readFileSync(join(dir, 'passport.config.json'), 'utf8')).not.toContain('1234')
  })

  it('rejects a bad --issuer before writing anything', async () => {
    const result = await passport(dir, ['init', '--issuer', 'not a url'])
    expectOneLineError(result, 1, /"issuer" must be an absolute http\(s\) URL/)
    expect(existsSync(join(dir, 'passport.config.json'))).toBe(false)
  })

  it('asks for the issuer and the example client on a terminal', async (ctx) => {
    if (!(await hasScript())) ctx.skip()
    const result = await passportOnTty(
      dir,
      ['init'],
      [
        {expect: /Issuer URL/, send: 'http://localhost:7000\r'},
        {expect: /example client/, send: 'n\r'},
      ],
    )
    expect(result.code, result.output).toBe(0)
    const config = JSON.parse(readFileSync(join(dir, 'passport.config.json'), 'utf8'))
    expect(config.issuer).toBe('http://localhost:7000')
    expect(config.clients).toEqual([])
  })
})
