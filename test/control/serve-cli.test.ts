import * as oauth from 'oauth4webapi'
import {afterEach, describe, expect, it} from 'vitest'

import {runCli, tempDir} from '../helpers.js'
import {oauth4webapiLogin, rejection, serve, stopServed} from './support.js'

const cleanups: Array<() => void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup()
  await stopServed()
})

describe('passport serve --fault NAME', () => {
  it('arms the named protocol faults until the server stops (repeatable); an unknown name is a usage error', async () => {
    const served = await serve(['--login-as', 'alice', '--fault', 'wrong-iss', '--fault', 'metadata-without-pkce'])
    expect(served.line).not.toHaveProperty('control_token')
    const handle = {issuer: served.line.issuer, url: (path = '') => `${served.line.url}${path}`} as never
    for (let i = 0; i < 2; i++) {
      const error = await rejection(oauth4webapiLogin(handle))
      expect([error.code, error.message]).toEqual([
        oauth.INVALID_RESPONSE,
        'unexpected "iss" (issuer) response parameter value',
      ])
    }
    const meta = (await (await fetch(`${served.line.url}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >
    expect(meta).not.toHaveProperty('code_challenge_methods_supported')
    // Without --control there is no control API.
    expect((await fetch(`${served.line.url}/_passport/requests`)).status).toBe(404)
    expect(await served.stop()).toBe(0)

    const {dir, cleanup} = tempDir()
    cleanups.push(cleanup)
    const unknown = await runCli(['serve', '--port', '0', '--fault', 'nope'], {cwd: dir})
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain(
      'Expected --fault=nope to be one of: wrong-iss, id-token-wrong-aud, id-token-wrong-nonce, id-token-expired, unpublished-key, metadata-without-pkce, token-response-without-token-type',
    )
  })
})

describe('passport serve --control', () => {
  it('checklist 93: the JSON start line carries control_token; the API answers with it and only with it; off by default', async () => {
    const served = await serve(['--control'])
    const controlToken = served.line.control_token as string
    expect(controlToken).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(Object.keys(served.line).sort()).toEqual(['control_token', 'issuer', 'port', 'url'])
    const advance = await fetch(`${served.line.url}/_passport/clock`, {
      method: 'POST',
      headers: {authorization: `Bearer ${controlToken}`, 'content-type': 'application/json'},
      body: '{"advance": "16d"}',
    })
    expect(advance.status).toBe(200)
    expect(Date.parse(((await advance.json()) as {now: string}).now) - Date.now()).toBeGreaterThan(15 * 86_400_000)
    expect((await fetch(`${served.line.url}/_passport/requests`)).status).toBe(401)
    expect(
      (await fetch(`${served.line.url}/_passport/requests`, {headers: {authorization: 'Bearer nope'}})).status,
    ).toBe(401)
    // The token is not in the access log or anywhere on stderr.
    expect(await served.stop()).toBe(0)
    expect(served.stderr()).not.toContain(controlToken)

    const plain = await serve([])
    expect(plain.line).not.toHaveProperty('control_token')
    expect(
      (await fetch(`${plain.line.url}/_passport/clock`, {headers: {authorization: `Bearer ${controlToken}`}})).status,
    ).toBe(404)
  })

  it('checklist 92: a non-loopback --host with --control is refused at start, before listening', async () => {
    const {dir, cleanup} = tempDir()
    cleanups.push(cleanup)
    for (const host of ['0.0.0.0', '::', '192.0.2.1']) {
      const refused = await runCli(['serve', '--port', '0', '--host', host, '--control', '--database', ':memory:'], {
        cwd: dir,
      })
      expect([refused.code, refused.stdout]).toEqual([2, ''])
      expect(refused.stderr.trim()).toBe(
        `Error: The control API (--control) is served only on a loopback host (127.0.0.1, ::1 or localhost), never on ${host}: anyone who reaches it can move the clock and change users.`,
      )
    }
    const env = await runCli(['serve', '--port', '0', '--control', '--database', ':memory:'], {
      cwd: dir,
      env: {PASSPORT_HOST: '0.0.0.0'},
    })
    expect(env.code).toBe(2)
  })
})
