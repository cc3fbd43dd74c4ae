import {spawn, type ChildProcess} from 'node:child_process'
import {createRequire} from 'node:module'

import {describe, expect, it} from 'vitest'

import {startFileServer} from '../fixtures/server.js'

/** Another program that takes the database's write lock and keeps it until its stdin closes. */
function holdWriteLock(database: string): Promise<ChildProcess> {
  const betterSqlite = createRequire(import.meta.url).resolve('better-sqlite3')
  const script = `
    const db = new (require(${JSON.stringify(betterSqlite)}))(${JSON.stringify(database)})
    db.exec('BEGIN IMMEDIATE')
    process.stdout.write('locked\\n')
    process.stdin.on('end', () => { db.exec('ROLLBACK'); db.close() }).resume()
  `
  const child = spawn(process.execPath, ['-e', script], {stdio: ['pipe', 'pipe', 'inherit']})
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.stdout.once('data', () => resolve(child))
  })
}

describe('a database lock held by another program', () => {
  it('checklist 79: writes answer 503 quickly and /healthz stays responsive instead of the event loop waiting 10 s', async () => {
    const server = await startFileServer(
      {config: {clients: [{id: 'svc', secret: 'svc-secret-1', grants: ['client_credentials']}]}},
      'passport-lock-wait-',
    )
    const database = server.dbPath
    const token = () =>
      fetch(server.handle.url('/oauth/token'), {
        method: 'POST',
        headers: {'content-type': 'application/x-www-form-urlencoded'},
        body: 'grant_type=client_credentials&client_id=svc&client_secret=svc-secret-1',
      })
    try {
      expect((await token()).status).toBe(200)
      const holder = await holdWriteLock(database)
      let answers: Array<{status: number; body: Record<string, unknown>}>
      let health: number
      let holderAlive: boolean
      try {
        const [health_, ...rest] = await Promise.all([
          fetch(server.handle.url('/healthz')).then((r) => r.status),
          ...Array.from({length: 8}, async () => {
            const response = await token()
            return {status: response.status, body: (await response.json()) as Record<string, unknown>}
          }),
        ])
        health = health_
        answers = rest
        // Every answer came while the other program still held the lock: none waited for it.
        holderAlive = holder.exitCode === null && holder.signalCode === null
      } finally {
        holder.stdin!.end()
        await new Promise((resolve) => holder.on('close', resolve))
      }
      // Before: each write waited 10 s on the event loop, one after another (80 s for these, past
      // the test's timeout); now they answer while the lock is held, measured by no clock.
      expect(holderAlive).toBe(true)
      expect(health).toBe(200)
      for (const answer of answers) {
        expect(answer).toEqual({
          status: 503,
          body: {
            error: 'temporarily_unavailable',
            error_description: 'The database is busy or unavailable; retry shortly.',
          },
        })
      }
      // Once the lock is free, writes go through again.
      expect((await token()).status).toBe(200)
    } finally {
      await server.close()
    }
  })
})
