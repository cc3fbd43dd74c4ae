import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {keyLocation, loadKeys, publicJwks} from '../../src/core/keys.js'
import {accessRow, decodeJwt, decodeProtectedHeader, oneError, type Workspace, workspace} from './fixture.js'

const DEFAULT_ISSUER = 'http://127.0.0.1:9000'

describe('passport token', () => {
  let ws: Workspace
  beforeAll(async () => {
    ws = await workspace()
  })
  afterAll(() => ws.cleanup())

  it('prints the bare JWT and a newline, which token:verify accepts', async () => {
    const result = await ws.run(['token', '--user', 'alice', '--scope', 'read'])
    expect(result.code).toBe(0)
    expect(result.stderr).toBe('')
    expect(result.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/)
    const token = result.stdout.trim()
    const verified = await ws.run(['token:verify', token, '--scope', 'read'])
    expect(verified.code).toBe(0)
    expect(verified.stderr).toBe('')
    expect(verified.stdout).toContain(`Valid access token for user alice via client __cli__`)
    expect(verified.stdout).toMatch(/^ {2}sub +alice$/m)
    expect(verified.stdout).toMatch(/^ {2}scope +read$/m)
    expect(verified.stdout).toContain(`jti`)
    const json = JSON.parse(await ws.ok(['token:verify', token, '--json']))
    expect(json).toEqual({active: true, claims: decodeJwt(token)})
  })

  it('signs with RS256, typ at+jwt and the kid the JWKS publishes', async () => {
    const token = await ws.ok(['token', '--user', 'alice'])
    const jwks = await publicJwks(await loadKeys(keyLocation(join(ws.dir, 'storage'), {})))
    expect(jwks.keys).toHaveLength(1)
    expect(decodeProtectedHeader(token)).toEqual({alg: 'RS256', typ: 'at+jwt', kid: jwks.keys[0]!.kid})
  })

  it('sets exactly iss, sub, aud, client_id, scope, scopes, jti, iat and exp, and records the token', async () => {
    const before = Math.floor(Date.now() / 1000)
    const token = await ws.ok(['token', '--user', 'alice', '--scope', 'read', '--scope', 'write'])
    const after = Math.ceil(Date.now() / 1000)
    const claims = decodeJwt(token)
    expect(Object.keys(claims).sort()).toEqual([
      'aud',
      'client_id',
      'exp',
      'iat',
      'iss',
      'jti',
      'scope',
      'scopes',
      'sub',
    ])
    expect(claims).toMatchObject({
      iss: DEFAULT_ISSUER,
      sub: 'alice',
      aud: '__cli__',
      client_id: '__cli__',
      scope: 'read write',
      scopes: ['read', 'write'],
    })
    expect(claims.jti).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(claims.iat).toBeGreaterThanOrEqual(before)
    expect(claims.iat).toBeLessThanOrEqual(after)
    expect(claims.exp! - claims.iat!).toBe(15 * 86_400)
    const row = accessRow(ws, claims.jti!)!
    expect(row).toMatchObject({
      client_id: '__cli__',
      user_id: 'alice',
      name: null,
      audience: '__cli__',
      grant_type: 'cli',
      revoked_at: null,
      expires_at: claims.exp! * 1000,
    })
    expect(JSON.parse(row.scopes)).toEqual(['read', 'write'])
  })

  it('without --user mints a client-credentials token: sub is the client id and no user is recorded', async () => {
    const token = await ws.ok(['token', '--client', 'service', '--scope', 'read'])
    const claims = decodeJwt(token)
    expect(claims).toMatchObject({sub: 'service', client_id: 'service', aud: 'service', scope: 'read'})
    expect(accessRow(ws, claims.jti!)).toMatchObject({
      client_id: 'service',
      user_id: null,
      grant_type: 'client_credentials',
    })
    const verified = await ws.ok(['token:verify', token])
    expect(verified).toContain('Valid access token for client service (client credentials)')
  })

  it('--json prints the token response and nothing else', async () => {
    const result = await ws.run(['token', '--user', 'alice', '--scope', 'read', '--ttl', '1h', '--json'])
    expect(result.code).toBe(0)
    expect(result.stderr).toBe('')
    const json = JSON.parse(result.stdout)
    expect(Object.keys(json).sort()).toEqual(['access_token', 'expires_in', 'scope', 'token_type'])
    expect(json).toMatchObject({token_type: 'Bearer', scope: 'read'})
    expect(json.expires_in).toBeGreaterThanOrEqual(3599)
    expect(json.expires_in).toBeLessThanOrEqual(3600)
    const claims = decodeJwt(json.access_token)
    expect(claims.exp! - claims.iat!).toBe(3600)
  })

  it('--ttl accepts duration strings and milliseconds', async () => {
    for (const [ttl, seconds] of [
      ['90s', 90],
      ['15m', 900],
      ['2d', 172_800],
      ['60000', 60],
    ] as const) {
      const claims = decodeJwt(await ws.ok(['token', '--ttl', ttl]))
      expect(claims.exp! - claims.iat!, ttl).toBe(seconds)
    }
    const bad = await ws.run(['token', '--ttl', 'soon'])
    expect(bad.code).toBe(1)
    expect(oneError(bad)).toBe('--ttl must be milliseconds or a duration like "15m", "1h", "30d"; got "soon".')
  })

  it('--claim adds claims, parsing JSON values and keeping other values as strings', async () => {
    const token = await ws.ok([
      'token',
      '--user',
      'alice',
      '--claim',
      'role=admin',
      '--claim',
      'tenant=42',
      '--claim',
      'beta=true',
      '--claim',
      'org={"id":7,"tags":["a"]}',
      '--claim',
      'note=a=b',
      '--claim',
      'quoted="17"',
    ])
    expect(decodeJwt(token)).toMatchObject({
      role: 'admin',
      tenant: 42,
      beta: true,
      org: {id: 7, tags: ['a']},
      note: 'a=b',
      quoted: '17',
    })
    const malformed = await ws.run(['token', '--claim', 'novalue'])
    expect(malformed.code).toBe(2)
    expect(oneError(malformed)).toBe('--claim needs the form name=value; got "novalue".')
  })

  it('--audience sets aud', async () => {
    const token = await ws.ok(['token', '--user', 'alice', '--audience', 'https://api.example.test'])
    const claims = decodeJwt(token)
    expect(claims.aud).toBe('https://api.example.test')
    expect(claims.client_id).toBe('__cli__')
    expect(accessRow(ws, claims.jti!)!.audience).toBe('https://api.example.test')
  })

  it.each(['sub', 'exp', 'iss', 'scope', 'client_id', 'jti'])('refuses the reserved claim %s', async (claim) => {
    const result = await ws.run(['token', '--user', 'alice', '--claim', `${claim}=x`])
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(oneError(result)).toBe(`Claim "${claim}" is set by passport itself and cannot be overridden.`)
  })

  it("refuses unknown scopes, scopes outside the client's allowed set, and the wildcard", async () => {
    const unknown = await ws.run(['token', '--scope', 'delete'])
    expect(unknown.code).toBe(1)
    expect(unknown.stdout).toBe('')
    expect(oneError(unknown)).toBe(
      'Unknown scope "delete"; known scopes: openid, profile, email, offline_access, read, write, admin.',
    )
    const outside = await ws.run(['token', '--client', 'service', '--scope', 'write'])
    expect(outside.code).toBe(1)
    expect(oneError(outside)).toBe('Scope "write" is not allowed for client service; allowed: read.')
    const wildcard = await ws.run(['token', '--user', 'alice', '--scope', '*'])
    expect(wildcard.code).toBe(1)
    expect(oneError(wildcard)).toBe('The wildcard scope "*" is only allowed for personal access tokens.')
  })

  it('refuses an unknown client and a user equal to the client id', async () => {
    const unknown = await ws.run(['token', '--client', 'nope'])
    expect(unknown.code).toBe(1)
    expect(oneError(unknown)).toBe('No client with id nope; "passport client:list" shows the registered clients.')
    const clash = await ws.run(['token', '--client', 'service', '--user', 'service'])
    expect(clash.code).toBe(1)
    expect(oneError(clash)).toContain('would read as a client-credentials token')
  })

  it('takes the issuer from --issuer, then PASSPORT_ISSUER, then the config file, then the default', async () => {
    const iss = async (args: string[], env?: Record<string, string>) =>
      decodeJwt(await ws.ok(['token', ...args], env)).iss
    expect(await iss([])).toBe(DEFAULT_ISSUER)
    expect(await iss([], {PASSPORT_ISSUER: 'http://env.test:9000'})).toBe('http://env.test:9000')
    expect(await iss(['--issuer', 'http://flag.test'], {PASSPORT_ISSUER: 'http://env.test:9000'})).toBe(
      'http://flag.test',
    )
    const configured = await workspace({issuer: 'http://config.test:8080'})
    try {
      expect(decodeJwt(await configured.ok(['token'])).iss).toBe('http://config.test:8080')
      expect(decodeJwt(await configured.ok(['token'], {PASSPORT_ISSUER: 'http://env.test'})).iss).toBe(
        'http://env.test',
      )
    } finally {
      configured.cleanup()
    }
    const bad = await ws.run(['token', '--issuer', 'not a url'])
    expect(bad.code).toBe(2)
    expect(oneError(bad)).toBe(
      '--issuer must be an absolute http(s) URL without query or fragment, such as http://localhost:9000; got "not a url".',
    )
  })

  it('a token minted with another issuer does not verify against this one', async () => {
    const token = await ws.ok(['token', '--issuer', 'http://elsewhere.test'])
    const result = await ws.run(['token:verify', token])
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(oneError(result)).toBe(`The token's issuer is not ${DEFAULT_ISSUER}.`)
    expect((await ws.run(['token:verify', token, '--issuer', 'http://elsewhere.test'])).code).toBe(0)
  })

  it('fails with one sentence when there are no keys', async () => {
    const empty = await workspace()
    try {
      const result = await empty.run(['token', '--key-path', 'missing'])
      expect(result.code).toBe(1)
      expect(oneError(result)).toMatch(
        /^No signing key at .*missing\/oauth-private\.key; run "passport keys" to create one/,
      )
    } finally {
      empty.cleanup()
    }
  })

  it('--help shows examples', async () => {
    const help = await ws.run(['token', '--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('TOKEN=$(passport token')
  })
})
