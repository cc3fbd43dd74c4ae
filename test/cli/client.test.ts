import {mkdirSync} from 'node:fs'
import {dirname, join} from 'node:path'

import Database from 'better-sqlite3'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {MIGRATIONS} from '../../src/store/migrations.js'
import {tempDir, writeJson} from '../helpers.js'
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

interface ClientView {
  client_id: string
  client_secret?: string
  name: string
  type: string
  grant_types: string[]
  redirect_uris: string[]
  scopes: string[] | null
  auto_approve: boolean
  source: string
  created_at: string
}

describe('passport client commands', () => {
  let dir: string
  let cleanup: () => void
  beforeEach(() => ({dir, cleanup} = tempDir()))
  afterEach(() => cleanup())

  it('client creates a confidential client, shows its secret once and stores only its SHA-256', async () => {
    const result = await passport(dir, [
      'client',
      'My App',
      '--redirect-uri',
      'http://localhost:3000/callback',
      '--id',
      'my-app',
    ])
    expect(result.code, result.stderr).toBe(0)
    const secret = /Client secret: (\S+)/.exec(result.stdout)?.[1]
    expect(secret).toMatch(/^[\w-]{43}$/)
    expect(result.stdout).toBe(
      'Client created: My App\n' +
        '  Client ID:     my-app\n' +
        `  Client secret: ${secret}\n` +
        '  Store the secret now; it cannot be shown again.\n' +
        '  Type:          confidential\n' +
        '  Grants:        authorization_code, refresh_token, urn:ietf:params:oauth:grant-type:token-exchange\n' +
        '  Redirect URIs: http://localhost:3000/callback\n',
    )
    const db = openDb(defaultDb(dir))
    expect(db.prepare('SELECT secret_hash FROM oauth_clients WHERE id = ?').get('my-app')).toEqual({
      secret_hash: sha256Hex(secret!),
    })
    db.close()
    // Never shown again.
    expect((await passport(dir, ['client:show', 'my-app'])).stdout).not.toContain(secret)
    expect((await passport(dir, ['client:show', 'my-app', '--json'])).stdout).not.toContain('secret')
  })

  it('client --json is the snake_case client view', async () => {
    const view = await passportJson<ClientView>(dir, [
      'client',
      'SPA',
      '--public',
      '--redirect-uri',
      'http://127.0.0.1:5173/cb',
      '--scope',
      'read',
    ])
    expect(view).toEqual({
      client_id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      name: 'SPA',
      type: 'public',
      grant_types: ['authorization_code', 'refresh_token'],
      redirect_uris: ['http://127.0.0.1:5173/cb'],
      scopes: ['read'],
      auto_approve: false,
      source: 'cli',
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    })
  })

  it('validates redirect URIs: fragment, relative and non-loopback plain http are refused', async () => {
    for (const [uri, message] of [
      ['http://localhost:3000/cb#frag', /must not contain a fragment/],
      ['/callback', /is not an absolute URI/],
      ['http://example.com/callback', /uses plain http on a host that is not localhost/],
    ] as const) {
      const result = await passport(dir, ['client', 'Bad', '--redirect-uri', uri])
      expectOneLineError(result, 1, message)
    }
    const allowed = await passportJson<ClientView>(dir, [
      'client',
      'LAN',
      '--redirect-uri',
      'http://example.com/callback',
      '--allow-insecure-redirect',
    ])
    expect(allowed.redirect_uris).toEqual(['http://example.com/callback'])
    const https = await passportJson<ClientView>(dir, [
      'client',
      'Prod',
      '--redirect-uri',
      'https://app.example.com/callback',
    ])
    expect(https.redirect_uris).toEqual(['https://app.example.com/callback'])
  })

  it('client without NAME and without a terminal is a usage error (exit 2)', async () => {
    const result = await passport(dir, ['client'])
    expectOneLineError(result, 2, /Missing the client NAME argument/)
  })

  it('bad flags are usage errors (exit 2)', async () => {
    expectOneLineError(await passport(dir, ['client', 'x', '--nope']), 2, /Nonexistent flag: --nope/)
    expectOneLineError(await passport(dir, ['client', 'x', '--public', '--device']), 2)
    expectOneLineError(await passport(dir, ['client:show']), 2, /needs the argument ID/)
    expectOneLineError(await passport(dir, ['purge', '--hours', 'soon']), 2)
  })

  it('asks for name, type and redirect URIs on a terminal', async (ctx) => {
    if (!(await hasScript())) ctx.skip()
    const result = await passportOnTty(
      dir,
      ['client', '--id', 'tty-app'],
      [
        {expect: /Client name/, send: 'Tty App\r'},
        {expect: /Client type/, send: '\x1b[B\r'}, // arrow down: the public client
        {expect: /Redirect URIs/, send: 'http://localhost:4000/cb http://localhost:4001/cb\r'},
      ],
    )
    expect(result.code, result.output).toBe(0)
    expect(result.output).toContain('Client created: Tty App')
    const show = await passportJson<ClientView>(dir, ['client:show', 'tty-app'])
    expect(show).toMatchObject({
      name: 'Tty App',
      type: 'public',
      redirect_uris: ['http://localhost:4000/cb', 'http://localhost:4001/cb'],
    })
  })

  it('client:list and client:show render a table, or the client views with --json', async () => {
    const empty = await passport(dir, ['client:list'])
    expect(empty.stdout).toBe(
      'No clients yet; create one with: passport client "My App" --redirect-uri http://localhost:3000/callback\n',
    )
    expect(await passportJson(dir, ['client:list'])).toEqual([])

    await passportJson(dir, [
      'client',
      'Web',
      '--id',
      'web',
      '--redirect-uri',
      'http://localhost:3000/callback',
      '--scope',
      'read',
      '--scope',
      'write',
    ])
    await passportJson(dir, ['client', 'Service', '--id', 'svc', '--client-credentials'])
    const list = await passport(dir, ['client:list'])
    expect(list.stdout).toBe(
      'CLIENT ID  NAME     TYPE          GRANTS                                                                              SOURCE\n' +
        'web        Web      confidential  authorization_code, refresh_token, urn:ietf:params:oauth:grant-type:token-exchange  cli\n' +
        'svc        Service  confidential  client_credentials, urn:ietf:params:oauth:grant-type:token-exchange                 cli\n',
    )
    const json = await passportJson<ClientView[]>(dir, ['client:list'])
    expect(json.map((c) => c.client_id)).toEqual(['web', 'svc'])
    expect(json.every((c) => !('client_secret' in c))).toBe(true)

    const show = await passport(dir, ['client:show', 'web'])
    expect(show.stdout).toMatch(
      /^FIELD {10}VALUE\nclient_id {6}web\nname {11}Web\ntype {11}confidential\ngrant_types {4}authorization_code refresh_token urn:ietf:params:oauth:grant-type:token-exchange\nredirect_uris {2}http:\/\/localhost:3000\/callback\nscopes {9}read write\nauto_approve {3}false\nsource {9}cli\ncreated_at {5}\d{4}-.*Z\n$/,
    )
    expect(await passportJson(dir, ['client:show', 'web'])).toEqual(json[0])
    expectOneLineError(await passport(dir, ['client:show', 'nope']), 1, /No client with id nope/)
  })

  it('client:delete removes the client and, by cascade, all its tokens and codes', async () => {
    await passportJson(dir, ['client', 'Web', '--id', 'web', '--redirect-uri', 'http://localhost:3000/callback'])
    await passportJson(dir, ['client', 'Other', '--id', 'other', '--redirect-uri', 'http://localhost:3000/callback'])
    const db = openDb(defaultDb(dir))
    // Schema 3 has no client_id index on the token tables: the cascade scans them.
    expect(db.pragma('user_version', {simple: true})).toBe(MIGRATIONS.length)
    expect(
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE '%_client' ORDER BY name").all(),
    ).toEqual([
      {name: 'oauth_auth_codes_client'},
      {name: 'oauth_device_codes_client'},
      {name: 'oauth_pushed_requests_client'},
    ])
    const now = Date.now()
    for (const client of ['web', 'other']) {
      db.prepare(
        `INSERT INTO oauth_access_tokens (id, client_id, user_id, scopes, audience, grant_type, family_id, created_at, expires_at) VALUES (?, ?, 'alice', '[]', ?, 'authorization_code', ?, ?, ?)`,
      ).run(`at-${client}`, client, client, `fam-${client}`, now, now + 60_000)
      db.prepare(
        `INSERT INTO oauth_refresh_tokens (id, token_hash, access_token_id, family_id, client_id, user_id, scopes, created_at, expires_at) VALUES (?, ?, ?, ?, ?, 'alice', '[]', ?, ?)`,
      ).run(`rt-${client}`, `hash-${client}`, `at-${client}`, `fam-${client}`, client, now, now + 60_000)
      db.prepare(
        `INSERT INTO oauth_auth_codes (id, code_hash, client_id, user_id, scopes, created_at, expires_at) VALUES (?, ?, ?, 'alice', '[]', ?, ?)`,
      ).run(`ac-${client}`, `code-${client}`, client, now, now + 60_000)
    }

    expectOneLineError(
      await passport(dir, ['client:delete', 'web']),
      2,
      /Deleting client web needs --force \(no terminal to confirm on\)\./,
    )
    expect(db.prepare('SELECT COUNT(*) AS n FROM oauth_access_tokens WHERE client_id = ?').get('web')).toEqual({n: 1})

    const deleted = await passport(dir, ['client:delete', 'web', '--force'])
    expect(deleted.code).toBe(0)
    expect(deleted.stdout).toBe('Deleted client "Web" (web) with all its tokens and codes.\n')
    for (const table of ['oauth_clients', 'oauth_access_tokens', 'oauth_refresh_tokens', 'oauth_auth_codes']) {
      const column = table === 'oauth_clients' ? 'id' : 'client_id'
      expect(db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${column} = 'web'`).get(), table).toEqual({n: 0})
      expect(db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${column} = 'other'`).get(), table).toEqual({n: 1})
    }
    db.close()

    const again = await passport(dir, ['client:delete', 'web', '--force', '--json'])
    expect(again.code).toBe(1)
    expect(JSON.parse(again.stdout)).toEqual({
      error: {code: 'ERR_NOT_FOUND', message: expect.stringContaining('No client with id web')},
    })
    const json = await passportJson<ClientView & {deleted: boolean}>(dir, ['client:delete', 'other', '--force'])
    expect(json).toMatchObject({client_id: 'other', deleted: true})
  })

  it('a schema-2 database is migrated to 3 on first use, its tokens kept', async () => {
    const path = defaultDb(dir)
    mkdirSync(dirname(path), {recursive: true})
    const old = new Database(path)
    for (const [version, sql] of MIGRATIONS.slice(0, 2).entries()) {
      old.exec(sql)
      old.pragma(`user_version = ${version + 1}`)
    }
    const now = Date.now()
    old
      .prepare(
        `INSERT INTO oauth_clients (id, name, type, grant_types, redirect_uris, source, created_at, updated_at) VALUES ('svc', 'Svc', 'confidential', '["client_credentials"]', '[]', 'cli', ?, ?)`,
      )
      .run(now, now)
    old
      .prepare(
        `INSERT INTO oauth_access_tokens (id, client_id, scopes, audience, grant_type, created_at, expires_at) VALUES ('at-1', 'svc', '[]', 'svc', 'client_credentials', ?, ?)`,
      )
      .run(now, now + 60_000)
    old.close()

    const list = await passportJson<Array<{client_id: string}>>(dir, ['client:list'])
    expect(list.map((c) => c.client_id)).toContain('svc')
    const db = openDb(path)
    expect(db.pragma('user_version', {simple: true})).toBe(MIGRATIONS.length)
    expect(db.prepare('SELECT id, client_id FROM oauth_access_tokens').all()).toEqual([{id: 'at-1', client_id: 'svc'}])
    expect(
      db
        .prepare(
          "SELECT COUNT(*) AS n FROM sqlite_master WHERE name IN ('oauth_access_tokens_client', 'oauth_refresh_tokens_client')",
        )
        .get(),
    ).toEqual({n: 0})
    db.close()
  })

  it('client:delete asks on a terminal and keeps the client when the answer is no', async (ctx) => {
    if (!(await hasScript())) ctx.skip()
    await passportJson(dir, ['client', 'Svc', '--id', 'svc', '--client-credentials'])
    const kept = await passportOnTty(
      dir,
      ['client:delete', 'svc'],
      [{expect: /Delete client "Svc" \(svc\)/, send: 'n\r'}],
    )
    expect(kept.code, kept.output).toBe(0)
    expect(kept.output).toContain('Kept the client.')
    expect(await passportJson(dir, ['client:show', 'svc'])).toMatchObject({client_id: 'svc'})
    const gone = await passportOnTty(
      dir,
      ['client:delete', 'svc'],
      [{expect: /Delete client "Svc" \(svc\)/, send: 'y\r'}],
    )
    expect(gone.code, gone.output).toBe(0)
    expect((await passport(dir, ['client:show', 'svc'])).code).toBe(1)
  })

  it('client:secret replaces the hash and prints the new secret once', async () => {
    const created = await passportJson<ClientView>(dir, ['client', 'Svc', '--id', 'svc', '--client-credentials'])
    const db = openDb(defaultDb(dir))
    const hashOf = () =>
      (db.prepare('SELECT secret_hash FROM oauth_clients WHERE id = ?').get('svc') as {secret_hash: string}).secret_hash
    expect(hashOf()).toBe(sha256Hex(created.client_secret!))

    const plain = await passport(dir, ['client:secret', 'svc'])
    expect(plain.code).toBe(0)
    const secret = /Client secret: (\S+)/.exec(plain.stdout)?.[1]
    expect(plain.stdout).toBe(
      `New secret for "Svc" (svc):\n  Client secret: ${secret}\n  Store the secret now; it cannot be shown again.\n`,
    )
    expect(secret).not.toBe(created.client_secret)
    expect(hashOf()).toBe(sha256Hex(secret!))

    const json = await passportJson<ClientView>(dir, ['client:secret', 'svc'])
    expect(json).toMatchObject({
      client_id: 'svc',
      type: 'confidential',
      client_secret: expect.stringMatching(/^[\w-]{43}$/),
    })
    expect(hashOf()).toBe(sha256Hex(json.client_secret!))
    db.close()

    await passportJson(dir, ['client', 'SPA', '--id', 'spa', '--public', '--redirect-uri', 'http://localhost:5173/cb'])
    expectOneLineError(await passport(dir, ['client:secret', 'spa']), 1, /Client spa is public and has no secret\./)
  })

  it('upserts config clients idempotently, storing the secret as SHA-256 hex', async () => {
    writeJson(join(dir, 'passport.config.json'), {
      clients: [
        {
          id: 'web',
          name: 'Web app',
          secret: 'dev-secret',
          redirectUris: ['http://localhost:3000/callback'],
          scopes: ['read'],
          autoApprove: true,
        },
      ],
    })
    const first = await passportJson<ClientView[]>(dir, ['client:list'])
    const db = openDb(defaultDb(dir))
    const row = () => db.prepare('SELECT * FROM oauth_clients').all()
    const before = row()
    expect(before).toHaveLength(1)
    expect(before[0]).toMatchObject({
      id: 'web',
      secret_hash: sha256Hex('dev-secret'),
      source: 'config',
      auto_approve: 1,
    })
    expect(JSON.stringify(before)).not.toContain('"dev-secret"')

    const second = await passportJson<ClientView[]>(dir, ['client:list'])
    expect(second).toEqual(first)
    expect(row()).toEqual(before) // not even updated_at changed

    // Deleting a config client would be undone by the next run: refused.
    expectOneLineError(await passport(dir, ['client:delete', 'web', '--force']), 1, /comes from the configuration file/)
    expectOneLineError(
      await passport(dir, ['client:secret', 'web']),
      1,
      /comes from the configuration file; change its "secret" there\./,
    )

    // Changing the file updates the row.
    writeJson(join(dir, 'passport.config.json'), {
      clients: [{id: 'web', name: 'Renamed', secret: 'other-secret', redirectUris: ['http://localhost:3000/callback']}],
    })
    await passportJson(dir, ['client:list'])
    expect(row()[0]).toMatchObject({name: 'Renamed', secret_hash: sha256Hex('other-secret')})
    db.close()
  })
})
