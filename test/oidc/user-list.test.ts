import {existsSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {runCli, tempDir, writeJson} from '../helpers.js'
import {CONFIG} from './harness.js'

/** `passport user:list`: the configured users, their claims and the scope that releases each. */

let dir: string
let cleanup: () => void

beforeAll(() => {
  ;({dir, cleanup} = tempDir('passport-users-'))
  writeJson(join(dir, 'passport.config.json'), CONFIG)
  writeJson(join(dir, 'empty.json'), {})
  writeJson(join(dir, 'bad-scope.json'), {claims: {role: 'admins'}})
})
afterAll(() => cleanup())

describe.concurrent('passport user:list', () => {
  it('--json: an array of {sub, name, email, email_verified, claims, claim_scopes}; no database is created', async () => {
    const result = await runCli(['user:list', '--json'], {cwd: dir})
    expect(result.code).toBe(0)
    expect(result.stderr).toBe('')
    expect(JSON.parse(result.stdout)).toEqual([
      {
        sub: 'alice',
        name: 'Alice Example',
        email: 'alice@example.test',
        email_verified: true,
        claims: {given_name: 'Alice', preferred_username: 'ally', role: 'admin', groups: ['dev', 'ops']},
        claim_scopes: {given_name: 'profile', preferred_username: 'profile', role: 'profile', groups: 'groups'},
      },
      {
        sub: 'bob',
        name: 'Bob',
        email: 'bob@example.test',
        email_verified: false,
        claims: {tenant: 'acme'},
        claim_scopes: {tenant: 'openid'},
      },
    ])
    expect(existsSync(join(dir, 'storage'))).toBe(false)
  })

  it('a table of sub, name, email and claims with their scopes', async () => {
    const result = await runCli(['user:list'], {cwd: dir})
    expect(result.code).toBe(0)
    expect(result.stdout.split('\n')).toEqual([
      'SUB    NAME           EMAIL                          CLAIMS',
      'alice  Alice Example  alice@example.test (verified)  given_name="Alice" [profile], preferred_username="ally" [profile], role="admin" [profile], groups=["dev","ops"] [groups]',
      'bob    Bob            bob@example.test               tenant="acme" [openid]',
      '',
    ])
  })

  it('no users: one line saying where to add them', async () => {
    const result = await runCli(['user:list', '--config', 'empty.json'], {cwd: dir})
    expect(result.code).toBe(0)
    expect(result.stdout).toBe(
      `No users are configured in ${join(dir, 'empty.json')}; add them under "users", e.g. {"users": {"alice": {"name": "Alice", "email": "alice@example.test"}}}.\n`,
    )
  })

  it('a configuration error (a claim mapped to an unknown scope) → exit 1, one sentence', async () => {
    const scope = await runCli(['user:list', '--config', 'bad-scope.json'], {cwd: dir})
    expect(scope.code).toBe(1)
    expect(scope.stderr).toBe(
      `Error: ${join(dir, 'bad-scope.json')}: "claims.role" must be the name of a known scope (one of openid, profile, email, offline_access, read, write, admin; got "admins").\n`,
    )
  })
})
