import {createServer} from 'node:net'

import {afterEach, describe, expect, it} from 'vitest'

import {freePort, runCli, tempDir} from '../helpers.js'
import {startHandle, type Handle} from './support.js'

const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup()
})

/** A loopback port nothing listens on (taken, then released). */
function cwd(): string {
  const {dir, cleanup} = tempDir('passport-healthcheck-')
  cleanups.push(cleanup)
  return dir
}

describe('passport healthcheck [--url URL] [--timeout 10s]', () => {
  it('exits 0 when an authority answers /healthz (--json: {url, healthy, status})', async () => {
    const server = await startHandle()
    cleanups.push(() => server.close())
    const ok = await runCli(['healthcheck', '--url', server.url()], {cwd: cwd()})
    expect([ok.code, ok.stdout.trim(), ok.stderr]).toEqual([0, `${server.url('/healthz')} answered 200.`, ''])
    const json = await runCli(['healthcheck', '--url', server.url('/healthz'), '--json'], {cwd: cwd()})
    expect([json.code, JSON.parse(json.stdout)]).toEqual([0, {url: server.url('/healthz'), healthy: true, status: 200}])
  })

  it('exits 1 with one sentence when nothing answers within --timeout', async () => {
    const port = await freePort()
    const down = await runCli(['healthcheck', '--url', `http://127.0.0.1:${port}`, '--timeout', '1s'], {cwd: cwd()})
    expect([down.code, down.stdout, down.stderr.trim()]).toEqual([
      1,
      '',
      `Error: No passport authority answered http://127.0.0.1:${port}/healthz within 1s (last try: connection refused).`,
    ])
    const json = await runCli(['healthcheck', '--url', `http://127.0.0.1:${port}`, '--timeout', '1s', '--json'], {
      cwd: cwd(),
    })
    expect(json.code).toBe(1)
    expect(JSON.parse(json.stdout)).toMatchObject({
      error: {
        message: `No passport authority answered http://127.0.0.1:${port}/healthz within 1s (last try: connection refused).`,
      },
    })
  })

  it('waits for an authority that starts later', async () => {
    // Something on the port takes the healthcheck's first try and drops it: once it has tried (an
    // event, not a delay), the port is freed and the authority starts there.
    const gate = createServer()
    const tried = new Promise<void>((resolve) =>
      gate.on('connection', (socket) => {
        socket.destroy()
        resolve()
      }),
    )
    await new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve))
    const port = (gate.address() as {port: number}).port
    const waiting = runCli(['healthcheck', '--url', `http://127.0.0.1:${port}`, '--timeout', '60s'], {
      cwd: cwd(),
      timeoutMs: 70_000,
    })
    await tried
    await new Promise((resolve) => gate.close(resolve))
    let server: Handle | undefined
    try {
      server = await startHandle({port})
      const result = await waiting
      expect([result.code, result.stdout.trim()]).toEqual([0, `http://127.0.0.1:${port}/healthz answered 200.`])
    } finally {
      await server?.close()
    }
  })

  it('a bad --url or --timeout is a usage error', async () => {
    const bad = await runCli(['healthcheck', '--url', 'localhost:9000'], {cwd: cwd()})
    expect([bad.code, bad.stderr.trim()]).toEqual([2, 'Error: --url must be an http(s) URL; got "localhost:9000".'])
    const timeout = await runCli(['healthcheck', '--timeout', 'soon'], {cwd: cwd()})
    expect(timeout.code).toBe(1)
    expect(timeout.stderr.trim()).toBe(
      'Error: --timeout must be milliseconds or a duration like "15m", "1h", "30d"; got "soon".',
    )
  })
})
