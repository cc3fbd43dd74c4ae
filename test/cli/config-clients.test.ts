import {join} from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {tempDir, writeJson} from '../helpers.js'
import {defaultDb, openDb, passport, passportJson} from './support.js'

const WEB = {id: 'web', name: 'Web app', secret: 'web-secret-123', redirectUris: ['http://localhost:3000/callback']}
const SVC = {id: 'svc', name: 'Service', secret: 'svc-secret-123', grants: ['client_credentials'], scopes: ['read']}

describe('clients that leave the configuration file', () => {
  let dir: string
  let cleanup: () => void
  beforeEach(() => ({dir, cleanup} = tempDir()))
  afterEach(() => cleanup())

  it('checklist 96: are deleted with their tokens at the next run, with a line on stderr saying so; other clients stay', async () => {
    const config = join(dir, 'passport.config.json')
    writeJson(config, {clients: [WEB, SVC]})
    await passportJson(dir, ['keys'])
    await passportJson(dir, ['client', 'CLI made', '--client-credentials', '--id', 'cli-made'])
    const token = await passport(dir, ['token', '--client', 'svc', '--scope', 'read'])
    expect(token.code, token.stderr).toBe(0)

    writeJson(config, {clients: [WEB]})
    const listed = await passport(dir, ['client:list', '--json'])
    expect(listed.code, listed.stderr).toBe(0)
    expect(listed.stderr).toBe(`Removed client "svc" and its tokens: it is no longer in ${config}.\n`)
    expect((JSON.parse(listed.stdout) as Array<{client_id: string}>).map((c) => c.client_id).sort()).toEqual([
      'cli-made',
      'web',
    ])

    const db = openDb(defaultDb(dir))
    expect(db.prepare(`SELECT count(*) AS n FROM oauth_access_tokens WHERE client_id = 'svc'`).get()).toEqual({n: 0})
    expect(db.prepare(`SELECT id FROM oauth_clients WHERE id = 'svc'`).all()).toEqual([])
    db.close()

    // Once removed, later runs say nothing; the client cannot get tokens any more.
    const again = await passport(dir, ['token', '--client', 'svc', '--scope', 'read'])
    expect(again.code).toBe(1)
    expect(again.stderr).toMatch(/^Error: No client with id svc/)
  })

  it('a run without a configuration file removes nothing', async () => {
    writeJson(join(dir, 'passport.config.json'), {clients: [WEB]})
    await passportJson(dir, ['client:list'])
    const elsewhere = tempDir()
    try {
      const listed = await passport(elsewhere.dir, ['client:list', '--json', '--database', defaultDb(dir)])
      expect(listed.stderr).toBe('')
      expect((JSON.parse(listed.stdout) as Array<{client_id: string}>).map((c) => c.client_id)).toEqual(['web'])
    } finally {
      elsewhere.cleanup()
    }
  })
})
