import {chmodSync, copyFileSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {tempDir} from '../helpers.js'
import {defaultDb, expectOneLineError, openDb, passport, passportJson} from './support.js'

interface Jwks {
  keys: Array<Record<string, string>>
}

describe('passport keys', () => {
  let dir: string
  let cleanup: () => void
  beforeEach(() => ({dir, cleanup} = tempDir()))
  afterEach(() => cleanup())

  it('generates a 0600 private key in a 0700 directory, refuses to overwrite without --force', async () => {
    const created = await passport(dir, ['keys'])
    expect(created.code).toBe(0)
    expect(created.stdout).toMatch(
      /^Private key: .*storage\/oauth-private\.key\nPublic key: {2}.*storage\/oauth-public\.key\nKey id: {6}[\w-]{43}\nAlgorithm: {3}RS256 \(RSA 2048 bits\)\n$/,
    )
    expect(statSync(join(dir, 'storage', 'oauth-private.key')).mode & 0o777).toBe(0o600)
    expect(statSync(join(dir, 'storage')).mode & 0o777).toBe(0o700)
    expect(readFileSync(join(dir, 'storage', 'oauth-private.key'), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/)
    expect(readFileSync(join(dir, 'storage', 'oauth-public.key'), 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----\n/)

    const refused = await passport(dir, ['keys'])
    expectOneLineError(refused, 1, /Keys already exist in .*; pass --force to overwrite them/)

    const before = readFileSync(join(dir, 'storage', 'oauth-private.key'), 'utf8')
    const forced = await passportJson<{kid: string; bits: number}>(dir, ['keys', '--force', '--bits', '3072'])
    expect(forced.bits).toBe(3072)
    expect(readFileSync(join(dir, 'storage', 'oauth-private.key'), 'utf8')).not.toBe(before)
  })

  it('rejects an unsupported --bits as a usage error', async () => {
    const result = await passport(dir, ['keys', '--bits', '1024'])
    expectOneLineError(result, 2)
  })

  it('keys:jwks prints only public members, the same document with and without --json', async () => {
    const {kid} = await passportJson<{kid: string}>(dir, ['keys'])
    const plain = await passport(dir, ['keys:jwks'])
    expect(plain.code).toBe(0)
    const jwks = JSON.parse(plain.stdout) as Jwks
    expect(jwks.keys).toHaveLength(1)
    expect(Object.keys(jwks.keys[0]!).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use'])
    expect(jwks.keys[0]).toMatchObject({kty: 'RSA', kid, use: 'sig', alg: 'RS256', e: 'AQAB'})
    expect(await passportJson(dir, ['keys:jwks'])).toEqual(jwks)
  })

  it("keys:jwks and token:verify need only the public key (a resource server's copy of oauth-public.key)", async () => {
    const {kid} = await passportJson<{kid: string}>(dir, ['keys'])
    const token = (await passport(dir, ['token', '--scope', 'read'])).stdout.trim()
    const copy = tempDir()
    try {
      copyFileSync(join(dir, 'storage', 'oauth-public.key'), join(copy.dir, 'oauth-public.key'))
      const jwks = await passportJson<Jwks>(copy.dir, ['keys:jwks', '--key-path', copy.dir])
      expect(jwks.keys.map((k) => k.kid)).toEqual([kid])
      const verified = await passportJson<{active: boolean}>(copy.dir, [
        'token:verify',
        token,
        '--key-path',
        copy.dir,
        '--database',
        defaultDb(dir),
        '--scope',
        'read',
      ])
      expect(verified.active).toBe(true)
      const none = await passport(copy.dir, ['keys:jwks', '--key-path', join(copy.dir, 'empty')])
      expectOneLineError(
        none,
        1,
        /^Error: No public key at .*empty\/oauth-public\.key; run "passport keys" to create a key pair, copy the authority's oauth-public\.key there, or set PASSPORT_PUBLIC_KEY\.$/,
      )
    } finally {
      copy.cleanup()
    }
  })

  it('warns on stderr when the private key is readable by group or others', async () => {
    await passportJson(dir, ['keys'])
    chmodSync(join(dir, 'storage', 'oauth-private.key'), 0o644)
    const result = await passport(dir, ['token'])
    expect(result.code).toBe(0)
    expect(result.stderr).toMatch(
      /^Warning: Private key .*oauth-private\.key is readable by other users \(mode 0644\); run chmod 600 on it\.\n$/,
    )
    expect(result.stdout).toMatch(/^eyJ/)
  })

  it('uses PASSPORT_PRIVATE_KEY / PASSPORT_PUBLIC_KEY PEM text before any key files', async () => {
    const source = tempDir()
    try {
      const {kid} = await passportJson<{kid: string}>(source.dir, ['keys'])
      const env = {
        PASSPORT_PRIVATE_KEY: readFileSync(join(source.dir, 'storage', 'oauth-private.key'), 'utf8'),
        // Escaped newlines, as CI secrets often carry them.
        PASSPORT_PUBLIC_KEY: readFileSync(join(source.dir, 'storage', 'oauth-public.key'), 'utf8').replace(
          /\n/g,
          '\\n',
        ),
      }
      await passportJson(dir, ['keys']) // different files in this directory: env must win
      const jwks = await passportJson<Jwks>(dir, ['keys:jwks'], {env})
      expect(jwks.keys.map((k) => k.kid)).toEqual([kid])

      const rotate = await passport(dir, ['keys:rotate'], {env})
      expectOneLineError(rotate, 1, /come from PASSPORT_PRIVATE_KEY \/ PASSPORT_PUBLIC_KEY/)

      const half = await passport(dir, ['keys:jwks'], {env: {PASSPORT_PRIVATE_KEY: env.PASSPORT_PRIVATE_KEY}})
      expectOneLineError(half, 1, /Set both PASSPORT_PRIVATE_KEY and PASSPORT_PUBLIC_KEY/)
    } finally {
      source.cleanup()
    }
  })

  it('keys:jwks without keys says how to make them', async () => {
    const result = await passport(dir, ['keys:jwks'])
    expectOneLineError(result, 1, /No public key at .*oauth-public\.key; run "passport keys"/)
  })

  it('keys:rotate keeps the old key published until its tokens expire; keys:prune --all removes it', async () => {
    const {kid: oldKid} = await passportJson<{kid: string}>(dir, ['keys'])
    // An unrevoked access token expiring in 20 days: the old key must stay published that long.
    await passportJson(dir, ['client', 'svc', '--client-credentials', '--id', 'svc'])
    const expiresAt = Date.now() + 20 * 86_400_000
    const db = openDb(defaultDb(dir))
    db.prepare(
      `INSERT INTO oauth_access_tokens (id, client_id, user_id, scopes, audience, grant_type, created_at, expires_at)
       VALUES ('019a0000-0000-7000-8000-000000000001', 'svc', NULL, '[]', 'svc', 'client_credentials', ?, ?)`,
    ).run(Date.now(), expiresAt)
    db.close()

    const plain = await passport(dir, ['keys:rotate'])
    expect(plain.code, plain.stderr).toBe(0)
    const newKid = /^New key id: +([\w-]{43}) \(RS256\)$/m.exec(plain.stdout)?.[1]
    expect(newKid).toBeDefined()
    expect(newKid).not.toBe(oldKid)
    expect(plain.stdout).toContain(
      `Retired key id: ${oldKid} (RS256; stays published in the JWKS until ${new Date(expiresAt).toISOString()})`,
    )

    const jwks = await passportJson<Jwks>(dir, ['keys:jwks'])
    expect(jwks.keys.map((k) => k.kid)).toEqual([newKid, oldKid])

    expect(await passportJson(dir, ['keys:prune'])).toEqual({removed: [], live_tokens_invalidated: 0})
    // --all would break the live token: without a terminal it needs --force, and says how many.
    const refused = await passport(dir, ['keys:prune', '--all'])
    expectOneLineError(
      refused,
      2,
      /^Error: keys:prune --all would remove 1 retired key still published for tokens that have not expired \(1 live access token in the database were made before it was retired and would stop verifying\); pass --force/,
    )
    expect((await passportJson<Jwks>(dir, ['keys:jwks'])).keys.map((k) => k.kid)).toEqual([newKid, oldKid])
    const pruned = await passport(dir, ['keys:prune', '--all', '--force'])
    expect(pruned.stdout).toBe(`Removed 1 retired key: ${oldKid}\n`)
    expect(pruned.stderr).toBe('Warning: 1 live access token signed before the removal may no longer verify.\n')
    expect((await passportJson<Jwks>(dir, ['keys:jwks'])).keys.map((k) => k.kid)).toEqual([newKid])
    expect((await passport(dir, ['keys:prune'])).stdout).toBe('No retired keys to remove.\n')
  }, 120_000)

  it('keys:rotate --json publishes the old key at least as long as an id token lives', async () => {
    const {kid: oldKid} = await passportJson<{kid: string}>(dir, ['keys'])
    const before = Date.now()
    const out = await passportJson<{kid: string; retired_kid: string; retired_published_until: string}>(dir, [
      'keys:rotate',
      '--bits',
      '2048',
    ])
    expect(out.retired_kid).toBe(oldKid)
    expect(out.kid).not.toBe(oldKid)
    expect(Date.parse(out.retired_published_until)).toBeGreaterThanOrEqual(before + 3_600_000)
  })
})
