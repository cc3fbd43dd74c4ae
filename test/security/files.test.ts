import {chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {generateKeys} from '../../src/core/keys.js'
import {tempDir} from '../helpers.js'
import {expectOneLineError, passport, passportJson} from '../cli/support.js'

/** A user that is not the one running the tests (root in CI): `nobody`. */
const OTHER_UID = 65534
const mode = (path: string) => statSync(path).mode & 0o7777

describe('files passport writes and the ones it finds', () => {
  let dir: string
  let cleanup: () => void
  beforeEach(() => ({dir, cleanup} = tempDir()))
  afterEach(() => cleanup())

  it('checklist 79: a database outside storage/ gets 0700 directories and 0600 .sqlite, -wal and -shm files', async () => {
    const database = join(dir, 'data', 'nested', 'passport.sqlite')
    await passportJson(dir, ['keys'])
    const created = await passport(dir, ['client', 'Svc', '--client-credentials', '--database', database, '--json'])
    expect(created.code, created.stderr).toBe(0)
    // A token keeps the WAL open while it writes: every file SQLite made is there afterwards.
    const token = await passport(dir, [
      'token',
      '--client',
      JSON.parse(created.stdout).client_id,
      '--database',
      database,
    ])
    expect(token.code, token.stderr).toBe(0)
    expect(mode(join(dir, 'data'))).toBe(0o700)
    expect(mode(join(dir, 'data', 'nested'))).toBe(0o700)
    for (const file of [database, `${database}-wal`, `${database}-shm`]) {
      if (existsSync(file)) expect(mode(file), file).toBe(0o600)
    }
    expect(mode(database)).toBe(0o600)
  })

  it('checklist 80: a database file, -wal or -shm owned by another user, writable by everyone, or a planted -wal link is refused', async () => {
    const database = join(dir, 'planted.sqlite')
    writeFileSync(database, '')
    chownSync(database, OTHER_UID, OTHER_UID)
    expectOneLineError(
      await passport(dir, ['client:list', '--database', database]),
      1,
      new RegExp(
        `^Error: Database file ${database} is owned by another user \\(uid ${OTHER_UID}, not \\d+\\); passport will not use it\\.`,
      ),
    )

    chownSync(database, process.getuid!(), process.getgid!())
    chmodSync(database, 0o666)
    expectOneLineError(
      await passport(dir, ['client:list', '--database', database]),
      1,
      /is writable by every user \(mode 0666\); passport will not use it\./,
    )

    chmodSync(database, 0o600)
    symlinkSync(join(dir, 'elsewhere'), `${database}-wal`)
    expectOneLineError(
      await passport(dir, ['client:list', '--database', database]),
      1,
      /planted\.sqlite-wal is a symbolic link; passport will not use it\./,
    )
    expect(existsSync(join(dir, 'elsewhere'))).toBe(false)
  })

  it('checklist 81: an existing shared key directory keeps its mode and is refused; one of another user is refused', async () => {
    const shared = join(dir, 'shared')
    mkdirSync(shared)
    chmodSync(shared, 0o1777)
    const result = await passport(dir, ['keys', '--key-path', shared])
    expectOneLineError(
      result,
      1,
      new RegExp(
        `^Error: Key directory ${shared} is writable by every user \\(mode 1777\\); use a directory of your own`,
      ),
    )
    expect(mode(shared)).toBe(0o1777)
    expect(existsSync(join(shared, 'oauth-private.key'))).toBe(false)

    const theirs = join(dir, 'theirs')
    mkdirSync(theirs, {mode: 0o700})
    chownSync(theirs, OTHER_UID, OTHER_UID)
    expectOneLineError(
      await passport(dir, ['keys', '--key-path', theirs]),
      1,
      /Key directory .*theirs is owned by another user \(uid 65534/,
    )
    // Reading keys from such a directory is refused as well.
    await passportJson(dir, ['keys', '--key-path', join(dir, 'mine')])
    chownSync(join(dir, 'mine'), OTHER_UID, OTHER_UID)
    expectOneLineError(
      await passport(dir, ['keys:jwks', '--key-path', join(dir, 'mine')]),
      1,
      /Key directory .*mine is owned by another user/,
    )
  })

  it('checklist 81: key files are written through a new temporary file, never through a link planted at the old temporary name', async () => {
    const keys = join(dir, 'keys')
    await generateKeys(keys)
    const victim = join(dir, 'victim.txt')
    writeFileSync(victim, 'keep me\n')
    // The old name: `${path}.${pid}.tmp`, written with writeFileSync (which follows links).
    symlinkSync(victim, join(keys, `oauth-private.key.${process.pid}.tmp`))
    symlinkSync(victim, join(keys, `oauth-public.key.${process.pid}.tmp`))
    await generateKeys(keys, {force: true})
    expect(readFileSync(victim, 'utf8')).toBe('keep me\n')
    expect(mode(join(keys, 'oauth-private.key'))).toBe(0o600)
    expect(readFileSync(join(keys, 'oauth-private.key'), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/)
  })

  it('checklist 82: init writes the configuration (with the example client secret) 0600', async () => {
    const result = await passport(dir, ['init', '--yes'])
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(readFileSync(join(dir, 'passport.config.json'), 'utf8')).clients[0].secret).toMatch(/^[\w-]{32}$/)
    expect(mode(join(dir, 'passport.config.json'))).toBe(0o600)
  })
})
