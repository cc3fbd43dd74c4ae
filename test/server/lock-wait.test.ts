import {spawn, type ChildProcess} from 'node:child_process'
import {createRequire} from 'node:module'
import {join} from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {startServer} from '../../src/api.js'
import {tempDir} from '../helpers.js'

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
    child.stdout!.once('data', () => resolve(child))
  })
}

describe('a database lock held by another program', () => {
  let dir: string
  let cleanup: () => void
  beforeEach(() => ({dir, cleanup} = tempDir()))
  afterEach(() => cleanup())

  it('checklist 79: writes answer 503 quickly and /healthz stays responsive instead of the event loop waiting 10 s', async () => {
    const database = join(dir, 'passport.sqlite')
    const server = await startServer({database, config: {clients: [{id: 'svc', secret: 'svc-secret-1', grants: ['client_credentials']}]}})
    const token = () =>
      fetch(`${server.url}/oauth/token`, {method: 'POST', headers: {'content-type': 'application/x-www-form-urlencoded'}, body: 'grant_type=client_credentials&client_id=svc&client_secret=svc-secret-1'})
    try {
      expect((await token()).status).toBe(200)
      const holder = await holdWriteLock(database)
      let answers: Array<{status: number; body: Record<string, unknown>}>
      let health: number
      const started = performance.now()
      try {
        const [health_, ...rest] = await Promise.all([
          fetch(`${server.url}/healthz`).then((r) => r.status),
          ...Array.from({length: 8}, async () => {
            const response = await token()
            return {status: response.status, body: (await response.json()) as Record<string, unknown>}
          }),
        ])
        health = health_ as number
        answers = rest as typeof answers
      } finally {
        holder.stdin!.end()
        await new Promise((resolve) => holder.on('close', resolve))
      }
      // Before: each write waited 10 s on the event loop, one after another (80 s for these).
      expect(performance.now() - started).toBeLessThan(5_000)
      expect(health).toBe(200)
      for (const answer of answers) {
        expect(answer).toEqual({status: 503, body: {error: 'temporarily_unavailable', error_description: 'The database is busy or unavailable; retry shortly.'}})
      }
      // Once the lock is free, writes go through again.
      expect((await token()).status).toBe(200)
    } finally {
      await server.close()
    }
  })
})
