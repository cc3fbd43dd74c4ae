import {chmodSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'

import {decodeProtectedHeader} from 'jose'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {runCli, tempDir, writeJson} from '../helpers.js'
import {basic, introspect, issueCode, redeem, startTestServer, type TestServer, WEB_SECRET} from '../server/harness.js'
import {send} from './support.js'

const DEVICE_URN = 'urn:ietf:params:oauth:grant-type:device_code'

describe('JWKS and discovery', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({withKeys: true})
  })
  afterAll(() => server?.close())

  it('checklist 61: both metadata documents → 200 JSON, exactly the same document with the issuer byte for byte', async () => {
    const issuer = server.issuer
    const p = `${issuer}/oauth`
    const expected = {
      issuer,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      authorization_endpoint: `${p}/authorize`,
      token_endpoint: `${p}/token`,
      device_authorization_endpoint: `${p}/device/code`,
      dpop_signing_alg_values_supported: [
        'ES256',
        'ES384',
        'ES512',
        'PS256',
        'PS384',
        'PS512',
        'RS256',
        'RS384',
        'RS512',
        'EdDSA',
      ],
      revocation_endpoint: `${p}/revoke`,
      revocation_endpoint_auth_methods_supported: [
        'client_secret_basic',
        'client_secret_post',
        'private_key_jwt',
        'none',
      ],
      revocation_endpoint_auth_signing_alg_values_supported: ['RS256', 'PS256', 'ES256', 'EdDSA', 'Ed25519'],
      introspection_endpoint: `${p}/introspect`,
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
      introspection_endpoint_auth_signing_alg_values_supported: ['RS256', 'PS256', 'ES256', 'EdDSA', 'Ed25519'],
      userinfo_endpoint: `${p}/userinfo`,
      pushed_authorization_request_endpoint: `${p}/par`,
      end_session_endpoint: `${p}/end_session`,
      registration_endpoint: `${p}/register`,
      client_id_metadata_document_supported: true,
      prompt_values_supported: ['none', 'login', 'consent', 'select_account'],
      request_uri_parameter_supported: false,
      claims_supported: expect.arrayContaining(['sub', 'name', 'email', 'email_verified']) as unknown as string[],
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      grant_types_supported: [
        'authorization_code',
        'client_credentials',
        'refresh_token',
        DEVICE_URN,
        'urn:ietf:params:oauth:grant-type:token-exchange',
      ],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
      token_endpoint_auth_signing_alg_values_supported: ['RS256', 'PS256', 'ES256', 'EdDSA', 'Ed25519'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access', 'read', 'write', 'admin'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      authorization_response_iss_parameter_supported: true,
    }
    for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
      const answer = await send(`${server.url}${path}`)
      expect(answer.status, path).toBe(200)
      expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8')
      expect({...answer.json, scopes_supported: [...(answer.json.scopes_supported as string[])].sort()}).toEqual({
        ...expected,
        scopes_supported: [...expected.scopes_supported].sort(),
      })
      // Byte for byte: the raw text carries the issuer exactly as configured.
      expect(answer.text).toContain(`"issuer":${JSON.stringify(issuer)}`)
    }
  })

  it('checklist 61: a configured issuer with a path and no trailing slash is echoed byte for byte', async () => {
    const custom = await startTestServer({config: {issuer: 'http://Auth.Example.test:8443/tenant/A'}})
    try {
      const a = await send(`${custom.url}/.well-known/oauth-authorization-server`)
      const b = await send(`${custom.url}/.well-known/openid-configuration`)
      expect(a.json.issuer).toBe('http://Auth.Example.test:8443/tenant/A')
      expect(b.json).toEqual(a.json)
      expect(a.json.token_endpoint).toBe('http://Auth.Example.test:8443/tenant/A/oauth/token')
    } finally {
      await custom.close()
    }
  })

  it('checklist 62: JWKS keys carry only public members (kty n e kid use alg), unique kids, no d p q dp dq qi', async () => {
    const answer = await send(`${server.url}/.well-known/jwks.json`)
    expect(answer.status).toBe(200)
    const keys = answer.json.keys as Array<Record<string, unknown>>
    expect(keys.length).toBeGreaterThanOrEqual(1)
    for (const key of keys) {
      expect(Object.keys(key).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use'])
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']) expect(key).not.toHaveProperty(member)
    }
    expect(new Set(keys.map((k) => k.kid)).size).toBe(keys.length)
    // The private key's material appears nowhere in the document.
    const pem = readFileSync(join(server.keyPath!, 'oauth-private.key'), 'utf8')
    for (const line of pem.split('\n').filter((l) => l.length > 40)) expect(answer.text).not.toContain(line)
  })

  /** The published kids, polled for up to 3 s until they equal `expected`. */
  async function publishedKids(expected: string[]): Promise<string[]> {
    const deadline = Date.now() + 3000
    for (;;) {
      const kids = ((await send(`${server.url}/.well-known/jwks.json`)).json.keys as Array<{kid: string}>).map(
        (k) => k.kid,
      )
      if (JSON.stringify(kids) === JSON.stringify(expected) || Date.now() > deadline) return kids
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  it('checklist 63: after passport keys:rotate the running server publishes the new key first and keeps the old one; old tokens still verify at userinfo and introspect; new tokens use the new kid', async () => {
    const oldKid = ((await send(`${server.url}/.well-known/jwks.json`)).json.keys as Array<{kid: string}>)[0]!.kid
    const first = await redeem(server, issueCode(server, {scopes: ['openid', 'read']}).code)
    expect(first.status).toBe(200)
    const oldToken = first.json.access_token as string
    expect(decodeProtectedHeader(oldToken).kid).toBe(oldKid)

    const rotated = await runCli(
      ['keys:rotate', '--json', '--key-path', server.keyPath!, '--database', server.dbPath],
      {cwd: server.keyPath!},
    )
    expect(rotated.code, rotated.stderr).toBe(0)
    const {kid: newKid, retired_kid: retiredKid} = JSON.parse(rotated.stdout) as {kid: string; retired_kid: string}
    expect(retiredKid).toBe(oldKid)

    // No restart: the server sees the rotation (it looks at the key files at most once a second).
    expect(await publishedKids([newKid, oldKid])).toEqual([newKid, oldKid])

    const userinfo = await send(`${server.url}/oauth/userinfo`, {headers: {authorization: `Bearer ${oldToken}`}})
    expect(userinfo.status).toBe(200)
    expect(userinfo.json.sub).toBe('alice')
    expect((await introspect(server, oldToken)).json).toMatchObject({active: true, sub: 'alice', client_id: 'web'})

    const second = await redeem(server, issueCode(server, {scopes: ['openid', 'read']}).code)
    expect(decodeProtectedHeader(second.json.access_token as string).kid).toBe(newKid)
    // The refresh token of the first pair is exchanged under the new key.
    const refreshed = await send(server.token, {
      method: 'POST',
      headers: {'content-type': 'application/x-www-form-urlencoded', authorization: basic('web', WEB_SECRET)},
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: first.json.refresh_token as string,
      }).toString(),
    })
    expect(refreshed.status).toBe(200)
    expect(decodeProtectedHeader(refreshed.json.access_token as string).kid).toBe(newKid)

    // Pruning the retired key (all its tokens given up) makes the old token unverifiable.
    const pruned = await runCli(
      ['keys:prune', '--all', '--force', '--json', '--key-path', server.keyPath!, '--database', server.dbPath],
      {cwd: server.keyPath!},
    )
    expect(pruned.code, pruned.stderr).toBe(0)
    expect(await publishedKids([newKid])).toEqual([newKid])
    const refused = await send(`${server.url}/oauth/userinfo`, {
      headers: {authorization: `Bearer ${second.json.access_token as string}`},
    })
    expect(refused.status).toBe(200)
    const old = await send(`${server.url}/oauth/userinfo`, {headers: {authorization: `Bearer ${oldToken}`}})
    expect(old.status).toBe(401)
    expect(old.headers.get('www-authenticate')).toMatch(/error="invalid_token"/)
  })
})

describe('private key file', () => {
  it('checklist 68: the private key is written 0600 in a 0700 directory; a group- or world-readable key draws a warning on stderr', async () => {
    const {dir, cleanup} = tempDir('passport-keymode-')
    try {
      writeJson(join(dir, 'passport.config.json'), {users: {alice: {name: 'Alice'}}})
      const created = await runCli(['keys'], {cwd: dir})
      expect(created.code, created.stderr).toBe(0)
      const key = join(dir, 'storage', 'oauth-private.key')
      expect(statSync(key).mode & 0o777).toBe(0o600)
      expect(statSync(join(dir, 'storage')).mode & 0o777).toBe(0o700)
      expect(statSync(join(dir, 'storage', 'oauth-public.key')).mode & 0o777).toBe(0o644)

      // 0600: silent.
      const quiet = await runCli(['token', '--user', 'alice'], {cwd: dir})
      expect(quiet.code).toBe(0)
      expect(quiet.stderr).toBe('')

      for (const mode of [0o640, 0o604]) {
        chmodSync(key, mode)
        const warned = await runCli(['token', '--user', 'alice'], {cwd: dir})
        expect(warned.code, warned.stderr).toBe(0)
        expect(warned.stderr).toBe(
          `Warning: Private key ${key} is readable by other users (mode 0${mode.toString(8)}); run chmod 600 on it.\n`,
        )
        // The token is still printed on stdout alone.
        expect(warned.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/)
      }
    } finally {
      cleanup()
    }
  })
})
