import {readdirSync} from 'node:fs'
import {connect, type Socket} from 'node:net'
import {networkInterfaces} from 'node:os'

import {afterEach, describe, expect, it} from 'vitest'

import {startServer} from '../../src/api.js'
import {serveJson, spawnServe, stopAllServe} from '../fixtures/serve.js'

/** Issue 18 findings 2 (a server reachable from the network) and 11 (connection exhaustion). */
const cleanups: Array<() => void | Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  await stopAllServe()
})

/** `passport serve` in a child process (a production environment); its port, stderr so far and the child. */
async function serveCli(args: string[]) {
  const served = await serveJson(args, {
    env: {NODE_ENV: 'production'},
    config: {
      clients: [
        {id: 'web', name: 'Web app', secret: 'web-secret-123', redirectUris: ['http://localhost:3000/callback']},
      ],
    },
  })
  return {child: served.child, port: served.line.port, stderr: () => served.output().stderr}
}

/** An address of this machine that is not loopback (a request to it arrives from a non-loopback peer). */
function outsideAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((a) => a !== undefined && !a.internal && a.family === 'IPv4')?.address
}

describe('a server reachable from the network (issue 18 finding 2)', () => {
  it('checklist 131: serve on a non-loopback host warns on stderr naming what becomes reachable; on 127.0.0.1 it does not', async () => {
    const open = await serveCli(['--host', '0.0.0.0', '--login-as', 'alice'])
    expect(open.stderr()).toContain(
      'Listening on 0.0.0.0: every machine that can reach this one can use this server: every authorization request is signed in as alice without a page',
    )
    expect(open.stderr()).toContain(
      'the authorization, token, device, revocation, introspection and userinfo endpoints, the dashboard (clients and recent tokens) and discovery',
    )
    expect(open.stderr()).toContain('Use --host 127.0.0.1 to keep passport local.')
    const local = await serveCli(['--host', '127.0.0.1'])
    expect((await fetch(`http://127.0.0.1:${local.port}/healthz`)).status).toBe(200)
    expect(local.stderr()).not.toContain('Listening on')
  })

  it('checklist 132: the built-in __demo__ client works only from loopback peers and only with openid profile email', async () => {
    const address = outsideAddress()
    expect(address, 'this machine needs a non-loopback IPv4 address').toBeDefined()
    const running = await startServer({host: '0.0.0.0', issuer: 'http://localhost:9999'})
    cleanups.push(() => running.close())
    const local = `http://127.0.0.1:${running.port}`
    const outside = `http://${address}:${running.port}`

    // From this machine the demo starts (and registers __demo__ with its three scopes).
    const start = await fetch(`${local}/demo/start`, {redirect: 'manual'})
    expect(start.status).toBe(302)
    const authorize = new URL(start.headers.get('location')!, local)
    expect(authorize.searchParams.get('client_id')).toBe('__demo__')

    // From another machine: the demo, the authorization request and the token endpoint refuse it.
    const remoteStart = await fetch(`${outside}/demo/start`, {
      redirect: 'manual',
      headers: {accept: 'application/json'},
    })
    expect(remoteStart.status).toBe(403)
    expect(await remoteStart.json()).toMatchObject({error: 'unauthorized_client'})
    const remoteAuthorize = await fetch(`${outside}${authorize.pathname}${authorize.search}`, {
      redirect: 'manual',
      headers: {accept: 'application/json'},
    })
    expect(remoteAuthorize.status).toBe(403)
    expect(await remoteAuthorize.json()).toEqual({
      error: 'unauthorized_client',
      error_description:
        "The built-in client __demo__ (the dashboard's 'Try it') works only from this machine. Use a client of your own from other machines.",
    })
    const token = (base: string) =>
      fetch(`${base}/oauth/token`, {
        method: 'POST',
        headers: {'content-type': 'application/x-www-form-urlencoded'},
        body: 'grant_type=authorization_code&client_id=__demo__&code=nothing&code_verifier=' + 'v'.repeat(43),
      })
    const remoteToken = await token(outside)
    expect(remoteToken.status).toBe(401)
    expect(await remoteToken.json()).toEqual({
      error: 'invalid_client',
      error_description: 'The built-in client __demo__ works only from this machine.',
    })
    // Locally the same request reaches the grant (and fails there, on the made-up code).
    expect(((await (await token(local)).json()) as {error: string}).error).toBe('invalid_grant')

    // Scopes beyond the demo's are refused even locally.
    authorize.searchParams.set('scope', 'openid profile email offline_access')
    const wider = await fetch(`${local}${authorize.pathname}${authorize.search}`, {redirect: 'manual'})
    expect(wider.status).toBe(302)
    const back = new URL(wider.headers.get('location')!)
    expect(back.searchParams.get('error')).toBe('invalid_scope')
    expect(back.searchParams.get('error_description')).toContain(
      "Scope 'offline_access' is not allowed for client __demo__; allowed: openid, profile, email.",
    )
  })
})

describe('the serve banner (issue 18 walkthrough)', () => {
  it('says which sign-in mode runs: --login-as and --auto-approve, or the sign-in and consent pages', async () => {
    const banner = (args: string[]) =>
      spawnServe(['--port', '0', '--quiet', ...args], {env: {NODE_ENV: 'production'}}).untilStdout('Press Ctrl+C')
    expect(await banner(['--login-as', 'alice', '--auto-approve'])).toContain(
      '  Sign-in:    --login-as alice (every authorization request is signed in as alice; a login_hint overrides it); --auto-approve (no consent page for any client)',
    )
    expect(await banner([])).toContain('  Sign-in:    sign-in and consent pages (no --login-as, no --auto-approve)')
  })
})

describe('connection limits (issue 18 finding 11)', () => {
  it('checklist 133: 1,500 half-open connections hold at most 1,000 descriptors in the server, which keeps answering on an open connection and, once they are gone, on new ones', async () => {
    const served = await serveCli([])
    const fds = () => readdirSync(`/proc/${served.child.pid}/fd`).length
    const before = fds()
    // A keep-alive connection made before the flood.
    const agentSocket: Socket = connect(served.port, '127.0.0.1')
    await new Promise((resolve) => agentSocket.once('connect', resolve))
    const ask = (socket: Socket) =>
      new Promise<string>((resolve) => {
        let data = ''
        const onData = (d: Buffer) => {
          data += d.toString()
          if (data.includes('\r\n\r\n') && data.includes('"status"')) {
            socket.off('data', onData)
            resolve(data)
          }
        }
        socket.on('data', onData)
        socket.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)
      })
    expect(await ask(agentSocket)).toMatch(/^HTTP\/1\.1 200/)

    const halfOpen: Socket[] = []
    await Promise.all(
      Array.from({length: 1500}, () => {
        const socket = connect(served.port, '127.0.0.1')
        socket.on('error', () => {})
        halfOpen.push(socket)
        return new Promise((resolve) => socket.once('connect', resolve).once('close', resolve))
      }),
    )
    // Let the server accept (and drop) what exceeds its cap.
    let held = fds()
    for (let i = 0; i < 50 && held - before > 1_000; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      held = fds()
    }
    console.log(`half-open flood: server descriptors ${before} before, ${held} with 1,500 half-open connections`)
    expect(held - before).toBeLessThanOrEqual(1_000)
    expect(await ask(agentSocket)).toMatch(/^HTTP\/1\.1 200/)

    for (const socket of halfOpen) socket.destroy()
    agentSocket.destroy()
    let answer: Response | undefined
    for (let i = 0; i < 50 && answer?.status !== 200; i++) {
      answer = await fetch(`http://127.0.0.1:${served.port}/healthz`).catch(() => undefined)
      if (answer?.status !== 200) await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(answer?.status).toBe(200)
  }, 60_000)
})
