import {spawn} from 'node:child_process'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

import {decodeJwt, decodeProtectedHeader} from 'jose'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {BIN, cleanEnv, runCli} from '../helpers.js'
import {type Workspace, workspace} from './fixture.js'

// `passport token` runs without oclif when it can (src/cli/lean-token.ts). Every case runs both
// ways, the real process (bin/run.js) and the oclif command (in this process, as runCli runs
// it), and must give the same exit code, stderr and stdout; in the real process a preload reports
// which way ran by looking for oclif in the module cache at exit (PASSPORT_LEAN_TOKEN=off forces
// oclif there).
const PRELOAD = `
import {writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
const loaded = createRequire(import.meta.url).cache
process.on('exit', () => writeFileSync(process.env.PATH_MARK, Object.keys(loaded).some((file) => file.includes('@oclif')) ? 'oclif' : 'lean'))
`

interface Case {
  args: string[]
  env?: Record<string, string>
  /** Which way the default run takes. */
  way: 'lean' | 'oclif'
  code: number
}

const CASES: Case[] = [
  {args: ['--user', 'alice', '--scope', 'read'], way: 'lean', code: 0},
  {args: ['--user=alice', '--scope', 'read', '--scope', 'write', '--json'], way: 'lean', code: 0},
  {
    args: [
      '--client',
      'service',
      '--scope',
      'read',
      '--claim',
      'role=admin',
      '--claim',
      'n=42',
      '--audience',
      'https://api.example.test',
      '--ttl',
      '1h',
    ],
    way: 'lean',
    code: 0,
  },
  {args: ['--user', 'alice'], env: {PASSPORT_ISSUER: 'https://issuer.example.test'}, way: 'lean', code: 0},
  {args: ['--user', 'alice', '--scope', 'nope'], way: 'lean', code: 1},
  {args: ['--user', 'alice', '--scope', 'nope', '--json'], way: 'lean', code: 1},
  {args: ['--user', 'alice', '--issuer', 'ftp://issuer.example.test'], way: 'lean', code: 2},
  {args: ['--user', 'alice', '--config', 'missing.json'], way: 'lean', code: 1},
  {args: ['--user'], way: 'oclif', code: 2},
  {args: ['--user', 'alice', 'extra'], way: 'oclif', code: 2},
  {args: ['--user', 'alice', '--user', 'bob'], way: 'oclif', code: 2},
  {args: ['--scope', 'read', 'write', '--user', 'alice'], way: 'oclif', code: 0},
  {args: ['--help'], way: 'oclif', code: 0},
  {args: ['--user', 'alice'], env: {OCLIF_TS_NODE: '0'}, way: 'oclif', code: 0},
]

/** Tokens differ run to run only in jti, iat and exp: compare everything else. */
function normalize(output: string): string {
  return output.replace(/eyJ[\w-]+\.[\w-]+\.[\w-]+/g, (jwt) => {
    const {jti, iat, exp, ...claims} = decodeJwt(jwt)
    expect([typeof jti, typeof iat, typeof exp]).toEqual(['string', 'number', 'number'])
    return JSON.stringify({header: decodeProtectedHeader(jwt), claims, lifetime: exp! - iat!}).replace(/"/g, "'")
  })
}

describe('passport token without oclif', () => {
  let ws: Workspace
  let preload: string
  beforeAll(async () => {
    ws = await workspace()
    preload = join(ws.dir, 'which-way.mjs')
    writeFileSync(preload, PRELOAD)
  })
  afterAll(() => ws.cleanup())

  let runs = 0
  function run(
    args: string[],
    env: Record<string, string>,
  ): Promise<{code: number | null; stdout: string; stderr: string; way: string}> {
    const mark = join(ws.dir, `way-${++runs}.txt`)
    const child = spawn(process.execPath, ['--import', pathToFileURL(preload).href, BIN, 'token', ...args], {
      cwd: ws.dir,
      env: cleanEnv({...env, PATH_MARK: mark}),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    return new Promise((resolve, reject) => {
      child.on('error', reject)
      child.on('close', (code) => resolve({code, stdout, stderr, way: readFileSync(mark, 'utf8')}))
    })
  }

  /** Token rows in the workspace's database (none before the first token creates it). */
  function tokenRows(): {n: number; ids: number} {
    if (!existsSync(ws.dbPath)) return {n: 0, ids: 0}
    const db = ws.db()
    try {
      return db.prepare('SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS ids FROM oauth_access_tokens').get() as {
        n: number
        ids: number
      }
    } finally {
      db.close()
    }
  }

  it.each(CASES)(
    'passport token $args ($way, exit $code): the same output both ways',
    async ({args, env = {}, way, code}) => {
      const before = tokenRows()
      const [lean, oclif] = await Promise.all([run(args, env), runCli(['token', ...args], {cwd: ws.dir, env})])
      // Each way that prints a token records it once; a refused or help run records nothing.
      const minted = code === 0 && !args.includes('--help') ? 2 : 0
      const after = tokenRows()
      expect([after.n - before.n, after.ids - before.ids]).toEqual([minted, minted])
      expect(lean.way).toBe(way)
      expect(lean.code).toBe(code)
      expect(oclif.code).toBe(code)
      expect(lean.stderr).toBe(oclif.stderr)
      expect(normalize(lean.stdout)).toBe(normalize(oclif.stdout))
      if (code === 0 && !args.includes('--help')) expect(lean.stdout).toMatch(/eyJ/)
      if (code !== 0) expect(lean.stderr).toMatch(/^Error: .+\n/)
    },
  )

  it('every token row either way is in the database once', async () => {
    // Its own two tokens (not the rows the cases above left): one each way, found by their jti.
    const args = ['--user', 'alice', '--scope', 'read', '--json']
    const before = tokenRows()
    const [lean, oclif] = await Promise.all([run(args, {}), runCli(['token', ...args], {cwd: ws.dir})])
    expect([lean.code, oclif.code]).toEqual([0, 0])
    const jtis = [lean, oclif].map(
      (result) => decodeJwt((JSON.parse(result.stdout) as {access_token: string}).access_token).jti,
    )
    expect(new Set(jtis).size).toBe(2)
    const after = tokenRows()
    expect([after.n - before.n, after.ids - before.ids]).toEqual([2, 2])
    const db = ws.db()
    try {
      for (const jti of jtis)
        expect(db.prepare('SELECT COUNT(*) AS n FROM oauth_access_tokens WHERE id = ?').get(jti)).toEqual({n: 1})
    } finally {
      db.close()
    }
  })

  it('PASSPORT_LEAN_TOKEN=off makes the real process take oclif, with the same output', async () => {
    for (const {args, code} of [CASES[0]!, CASES[6]!]) {
      const [lean, oclif] = await Promise.all([run(args, {}), run(args, {PASSPORT_LEAN_TOKEN: 'off'})])
      expect([lean.way, oclif.way]).toEqual(['lean', 'oclif'])
      expect([lean.code, oclif.code]).toEqual([code, code])
      expect(lean.stderr).toBe(oclif.stderr)
      expect(normalize(lean.stdout)).toBe(normalize(oclif.stdout))
    }
  })
})
