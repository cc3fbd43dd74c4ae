import {spawn} from 'node:child_process'
import {once} from 'node:events'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {ROOT, runCli} from '../helpers.js'
import {jtiOf, type Workspace, workspace} from './fixture.js'

/**
 * A second process that keeps taking the database's write lock: each transaction inserts a row
 * and holds the lock for ~25 ms, pausing 10 ms between transactions, until its stdin closes. It prints "ready" after its first commit
 * and the number of rows it wrote when it stops.
 */
const WRITER = `
const Database = require('better-sqlite3')
const db = new Database(process.argv[1])
db.pragma('busy_timeout = 10000')
const insert = db.prepare("INSERT INTO oauth_access_tokens (id, client_id, user_id, name, scopes, audience, grant_type, family_id, revoked_at, created_at, expires_at) VALUES (?, '__cli__', 'writer', NULL, '[]', '__cli__', 'cli', NULL, NULL, ?, ?)")
let n = 0
let stop = false
process.stdin.on('end', () => { stop = true })
process.stdin.resume()
const step = () => {
  if (stop) { process.stdout.write('wrote ' + n + '\\n'); db.close(); return }
  db.transaction(() => {
    const now = Date.now()
    insert.run('writer-' + String(n).padStart(6, '0'), now, now + 60000)
    while (Date.now() - now < 25) {}
  }).immediate()
  n++
  if (n === 1) process.stdout.write('ready\\n')
  setTimeout(step, 10)
}
step()
`

describe('minting while another process writes the same database', () => {
  let ws: Workspace
  beforeAll(async () => {
    ws = await workspace()
    await ws.ok(['token']) // creates the database and the __cli__ client
  })
  afterAll(() => ws.cleanup())

  it('every passport token succeeds and every row (theirs and ours) is there', async () => {
    const writer = spawn(process.execPath, ['-e', WRITER, ws.dbPath], {cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit']})
    let output = ''
    writer.stdout.setEncoding('utf8').on('data', (d: string) => (output += d))
    while (!output.includes('ready')) await once(writer.stdout, 'data')

    const results = await Promise.all(
      Array.from({length: 8}, (_, i) =>
        runCli(['token', '--user', `user-${i}`, '--scope', 'read'], {cwd: ws.dir, timeoutMs: 90_000, spawn: true}),
      ),
    )
    writer.stdin.end()
    await once(writer, 'close')

    for (const result of results) {
      expect(result.stderr).toBe('')
      expect(result.code).toBe(0)
    }
    const written = Number(/wrote (\d+)/.exec(output)![1])
    expect(written).toBeGreaterThan(1)
    const db = ws.db()
    try {
      expect(db.prepare("SELECT COUNT(*) FROM oauth_access_tokens WHERE user_id = 'writer'").pluck().get()).toBe(
        written,
      )
      for (const [i, result] of results.entries()) {
        expect(
          db.prepare('SELECT user_id FROM oauth_access_tokens WHERE id = ?').pluck().get(jtiOf(result.stdout.trim())),
        ).toBe(`user-${i}`)
      }
      expect(db.pragma('integrity_check', {simple: true})).toBe('ok')
    } finally {
      db.close()
    }
    for (const result of results.slice(0, 2))
      expect((await ws.run(['token:verify', result.stdout.trim()])).code).toBe(0)
  }, 180_000)
})
