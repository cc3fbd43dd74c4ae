import {existsSync, readdirSync} from 'node:fs'
import {availableParallelism} from 'node:os'
import {join} from 'node:path'

import Database from 'better-sqlite3'
import {afterEach, describe, expect, it} from 'vitest'

import {basic} from '../fixtures/oauth.js'
import {serveJson, spawnServe, stopAllServe} from '../fixtures/serve.js'
import {runCli, tempDir, writeJson} from '../helpers.js'

const cleanups: Array<() => void> = []
afterEach(async () => {
  await stopAllServe()
  for (const cleanup of cleanups.splice(0)) cleanup()
})

/** A client_credentials token request as client svc (client_secret_basic). */
function requestToken(url: string, secret: string): Promise<Response> {
  return fetch(`${url}/oauth/token`, {
    method: 'POST',
    headers: {'content-type': 'application/x-www-form-urlencoded', authorization: basic('svc', secret)},
    body: 'grant_type=client_credentials&scope=read',
  })
}

describe('passport serve (the built CLI)', () => {
  it('--port 0 --json prints exactly one JSON line; the server answers; SIGTERM exits 0 and closes', async () => {
    const {dir, cleanup} = tempDir()
    cleanups.push(cleanup)
    writeJson(join(dir, 'passport.config.json'), {
      clients: [
        {id: 'svc', name: 'Service', secret: 'svc-secret-123', grants: ['client_credentials'], scopes: ['read']},
      ],
    })
    const running = spawnServe(['--port', '0', '--json'], {cwd: dir})
    const line = JSON.parse(await running.firstLine) as {issuer: string; port: number; url: string}
    expect(line.port).toBeGreaterThan(0)
    expect(line.issuer).toBe(`http://127.0.0.1:${line.port}`)

    const health = await fetch(`${line.url}/healthz`)
    expect(health.status).toBe(200)
    const token = await requestToken(line.url, 'svc-secret-123')
    expect(token.status).toBe(200)
    const {access_token: accessToken} = (await token.json()) as {access_token: string}

    running.child.kill('SIGTERM')
    expect(await running.exited).toBe(0)
    const {stdout, stderr} = running.output()
    expect(stdout.split('\n').filter(Boolean)).toHaveLength(1)
    // The access log names the requests, never the token or the secret.
    expect(stderr).toMatch(/POST \/oauth\/token 200/)
    expect(stderr).not.toContain(accessToken)
    expect(stderr).not.toContain('svc-secret-123')
    await expect(fetch(`${line.url}/healthz`)).rejects.toThrow()
    // Keys and database were created on first run; the token is recorded.
    expect(existsSync(join(dir, 'storage', 'oauth-private.key'))).toBe(true)
    const db = new Database(join(dir, 'storage', 'passport.sqlite'), {readonly: true})
    try {
      expect(db.prepare("SELECT COUNT(*) AS n FROM oauth_access_tokens WHERE client_id = 'svc'").get()).toEqual({n: 1})
    } finally {
      db.close()
    }
  })

  it('a client the CLI changes while the server runs is seen on the very next request (the client cache follows the database)', async () => {
    const {dir, cleanup} = tempDir()
    cleanups.push(cleanup)
    writeJson(join(dir, 'passport.config.json'), {scopes: {read: 'Read'}})
    const created = await runCli(['client', 'Svc', '--client-credentials', '--id', 'svc', '--json'], {cwd: dir})
    expect(created.code).toBe(0)
    const firstSecret = (JSON.parse(created.stdout) as {client_secret: string}).client_secret
    const {url} = (await serveJson([], {cwd: dir})).line
    const token = (secret: string) => requestToken(url, secret)

    expect((await token(firstSecret)).status).toBe(200)
    expect((await token(firstSecret)).status).toBe(200) // now answered from the cache

    const rotated = await runCli(['client:secret', 'svc', '--json'], {cwd: dir})
    expect(rotated.code).toBe(0)
    const secondSecret = (JSON.parse(rotated.stdout) as {client_secret: string}).client_secret
    const stale = await token(firstSecret)
    expect(stale.status).toBe(401)
    expect(stale.headers.get('www-authenticate')).toBe('Basic realm="passport"')
    expect(((await stale.json()) as {error: string}).error).toBe('invalid_client')
    expect((await token(secondSecret)).status).toBe(200)

    expect((await runCli(['client:delete', 'svc', '--force'], {cwd: dir})).code).toBe(0)
    const gone = await token(secondSecret)
    expect(gone.status).toBe(401)
    expect(((await gone.json()) as {error: string}).error).toBe('invalid_client')
  })

  it.runIf(process.platform === 'linux')(
    "sizes libuv's thread pool to the cores (at least 2) unless UV_THREADPOOL_SIZE is set",
    async () => {
      const {dir, cleanup} = tempDir()
      cleanups.push(cleanup)
      writeJson(join(dir, 'passport.config.json'), {
        clients: [
          {id: 'svc', name: 'Service', secret: 'svc-secret-123', grants: ['client_credentials'], scopes: ['read']},
        ],
      })
      // Threads of a server after it signed a token (the pool starts on first use).
      const threadsAfterSigning = async (env: Record<string, string | undefined>) => {
        const served = await serveJson([], {cwd: dir, env})
        const reply = await requestToken(served.line.url, 'svc-secret-123')
        expect(reply.status).toBe(200)
        const threads = readdirSync(`/proc/${served.child.pid}/task`).length
        await served.stop('SIGKILL')
        return threads
      }
      // With exactly 4 cores the sizing equals Node's default; the test then shows only that an
      // explicit UV_THREADPOOL_SIZE wins (CI's 2-core machines tell the two apart).
      const sized = await threadsAfterSigning({UV_THREADPOOL_SIZE: undefined})
      const explicit = await threadsAfterSigning({UV_THREADPOOL_SIZE: '7'})
      expect(explicit - sized).toBe(7 - Math.max(2, availableParallelism()))
    },
  )
})
