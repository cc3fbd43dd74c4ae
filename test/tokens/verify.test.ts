import {createPrivateKey} from 'node:crypto'
import {join} from 'node:path'

import {base64url, SignJWT} from 'jose'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {rotateKeys} from '../../src/core/keys.js'
import {decodeJwt, decodeProtectedHeader, jtiOf, oneError, type Workspace, workspace} from './fixture.js'

function encode(value: object): string {
  return base64url.encode(JSON.stringify(value))
}

describe('passport token:verify', () => {
  let ws: Workspace
  let token: string
  beforeAll(async () => {
    ws = await workspace()
    token = await ws.ok(['token', '--user', 'alice', '--scope', 'read', '--scope', 'write'])
  })
  afterAll(() => ws.cleanup())

  async function invalid(value: string, args: string[] = []): Promise<string> {
    const result = await ws.run(['token:verify', value, ...args])
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    return oneError(result)
  }

  it('accepts a valid token and prints its claims; --json prints {active, claims}', async () => {
    const out = await ws.ok(['token:verify', token, '--scope', 'read', '--scope', 'write'])
    expect(out.split('\n')[0]).toMatch(
      /^Valid access token for user alice via client __cli__, expires \d{4}-\d\d-\d\dT/,
    )
    const json = JSON.parse(await ws.ok(['token:verify', token, '--json']))
    expect(json).toEqual({active: true, claims: decodeJwt(token)})
  })

  it('reports a missing scope', async () => {
    expect(await invalid(token, ['--scope', 'admin'])).toBe('The token lacks the scope admin (it has: read write).')
  })

  it('reports an expired token (verified as at a second after its exp, through --now, not by waiting)', async () => {
    const short = await ws.ok(['token', '--user', 'alice', '--ttl', '1s'])
    const exp = decodeJwt(short).exp!
    expect(await invalid(short, ['--now', String(exp + 1)])).toBe('The token has expired.')
    expect(await invalid(short, ['--now', new Date((exp + 60) * 1000).toISOString()])).toBe('The token has expired.')
  })

  it('reports a revoked token', async () => {
    const victim = await ws.ok(['token', '--user', 'alice'])
    await ws.ok(['token:revoke', jtiOf(victim)])
    expect(await invalid(victim)).toBe('The token has been revoked.')
  })

  it('reports a tampered payload', async () => {
    const [header, payload, signature] = token.split('.')
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload!)))
    const forged = `${header}.${encode({...claims, scope: 'read write admin', scopes: ['read', 'write', 'admin']})}.${signature}`
    expect(await invalid(forged)).toBe('The token signature does not verify.')
  })

  it('refuses alg none', async () => {
    const claims = decodeJwt(token)
    const unsigned = `${encode({alg: 'none', typ: 'at+jwt'})}.${encode(claims)}.`
    expect(await invalid(unsigned)).toBe(
      'The token is not signed with an accepted algorithm (RS256, PS256, ES256, EdDSA).',
    )
  })

  it('refuses HS256 signed with the public key PEM as the secret', async () => {
    const claims = decodeJwt(token)
    const {kid} = decodeProtectedHeader(token)
    const forged = await new SignJWT(claims)
      .setProtectedHeader({alg: 'HS256', typ: 'at+jwt', kid: kid!})
      .sign(new TextEncoder().encode(ws.publicKeyPem()))
    expect(await invalid(forged)).toBe(
      'The token is not signed with an accepted algorithm (RS256, PS256, ES256, EdDSA).',
    )
  })

  it('refuses a token with typ JWT (an id token) even when signed by our key', async () => {
    const claims = decodeJwt(token)
    const {kid} = decodeProtectedHeader(token)
    const idToken = await new SignJWT(claims)
      .setProtectedHeader({alg: 'RS256', typ: 'JWT', kid: kid!})
      .sign(createPrivateKey(ws.privateKeyPem()))
    expect(await invalid(idToken)).toBe(
      'The token is not an access token (its typ is not at+jwt; id tokens are not accepted).',
    )
  })

  it('refuses a token signed by a key this authority does not publish', async () => {
    const other = await workspace(undefined, {newKeys: true})
    try {
      const foreign = await other.ok(['token', '--user', 'alice'])
      expect(await invalid(foreign)).toBe('The token is signed by a key this authority does not publish (unknown kid).')
    } finally {
      other.cleanup()
    }
  })

  it('refuses a token with a valid signature that is not recorded in the database', async () => {
    const other = await workspace()
    try {
      // Same keys, different database: the jti is unknown here.
      const foreign = await other.ok(['token', '--user', 'alice', '--key-path', join(ws.dir, 'storage')])
      expect(await invalid(foreign)).toBe('The token is not recorded by this authority (unknown jti).')
    } finally {
      other.cleanup()
    }
  })

  it('refuses garbage', async () => {
    expect(await invalid('not-a-jwt')).toBe('The token is not a well-formed JWT.')
  })

  it('keeps verifying tokens signed by a retired key after a rotation', async () => {
    const old = await ws.ok(['token', '--user', 'alice', '--scope', 'read'])
    const {retiredKid, kid} = await rotateKeys(join(ws.dir, 'storage'), Date.now() + 86_400_000)
    expect(decodeProtectedHeader(old).kid).toBe(retiredKid)
    const fresh = await ws.ok(['token', '--user', 'alice'])
    expect(decodeProtectedHeader(fresh).kid).toBe(kid)
    await ws.ok(['token:verify', old, '--scope', 'read'])
    await ws.ok(['token:verify', fresh])
  })

  it('a personal access token with * passes any --scope', async () => {
    const created = await ws.run(['token:personal', 'admin script', '--user', 'alice', '--scope', '*'])
    expect(created.code).toBe(0)
    const pat = created.stdout.trim()
    const out = await ws.ok(['token:verify', pat, '--scope', 'admin', '--scope', 'write'])
    expect(out).toMatch(/^ {2}scope +\*$/m)
  })

  it('exits 2 with a usage error when TOKEN is missing and there is no terminal', async () => {
    const result = await ws.run(['token:verify'])
    expect(result.code).toBe(2)
    expect(oneError(result)).toBe(
      'Missing the TOKEN argument: run passport token:verify TOKEN [--scope S]… (no terminal to ask on).',
    )
  })
})
