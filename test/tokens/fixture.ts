import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import Database from 'better-sqlite3'
import {decodeJwt, decodeProtectedHeader} from 'jose'
import {expect} from 'vitest'

import {TOKENS_CONFIG as CONFIG} from '../fixtures/config.js'
import {copyFixtureKeys} from '../fixtures/keys.js'
import {type CliResult, runCli, tempDir, writeJson} from '../helpers.js'

export {TOKENS_CONFIG as CONFIG} from '../fixtures/config.js'

export interface Workspace {
  dir: string
  cleanup: () => void
  run: (args: string[], env?: Record<string, string | undefined>) => Promise<CliResult>
  /** Runs and expects exit 0; returns trimmed stdout. */
  ok: (args: string[], env?: Record<string, string | undefined>) => Promise<string>
  dbPath: string
  privateKeyPem: () => string
  publicKeyPem: () => string
  db: () => Database.Database
}

/**
 * A temp dir with a config file and a key pair (a copy of the fixture keys as `passport keys`
 * writes them, or with `newKeys` a pair of its own made by `passport keys`), ready for `passport token`.
 */
export async function workspace(config: object = CONFIG, options: {newKeys?: boolean} = {}): Promise<Workspace> {
  const {dir, cleanup} = tempDir('passport-tokens-')
  writeJson(join(dir, 'passport.config.json'), config)
  const run = (args: string[], env?: Record<string, string | undefined>) =>
    runCli(args, {cwd: dir, ...(env ? {env} : {})})
  const ok = async (args: string[], env?: Record<string, string | undefined>) => {
    const result = await run(args, env)
    expect(result.stderr, `passport ${args.join(' ')}`).toBe('')
    expect(result.code, `passport ${args.join(' ')}: ${result.stderr}`).toBe(0)
    return result.stdout.trim()
  }
  // What `passport keys` leaves in storage/, without generating a pair per workspace (unless the
  // test needs keys no other workspace has).
  if (options.newKeys) await ok(['keys'])
  else await copyFixtureKeys(join(dir, 'storage'))
  const dbPath = join(dir, 'storage', 'passport.sqlite')
  return {
    dir,
    cleanup,
    run,
    ok,
    dbPath,
    privateKeyPem: () => readFileSync(join(dir, 'storage', 'oauth-private.key'), 'utf8'),
    publicKeyPem: () => readFileSync(join(dir, 'storage', 'oauth-public.key'), 'utf8'),
    db: () => new Database(dbPath, {readonly: true}),
  }
}

export interface AccessRow {
  id: string
  client_id: string
  user_id: string | null
  name: string | null
  scopes: string
  audience: string
  grant_type: string
  family_id: string | null
  revoked_at: number | null
  created_at: number
  expires_at: number
}

export function accessRow(ws: Workspace, jti: string): AccessRow | undefined {
  const db = ws.db()
  try {
    return db.prepare('SELECT * FROM oauth_access_tokens WHERE id = ?').get(jti) as AccessRow | undefined
  } finally {
    db.close()
  }
}

export function jtiOf(token: string): string {
  return decodeJwt(token).jti!
}

export {decodeJwt, decodeProtectedHeader}

/** Splits stderr into its lines, checking it is exactly one "Error: …" sentence. */
export function oneError(result: CliResult): string {
  const lines = result.stderr.trimEnd().split('\n')
  expect(lines, result.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(/^Error: /)
  return lines[0]!.slice('Error: '.length)
}
