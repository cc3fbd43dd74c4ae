import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {Authority} from '../../src/core/authority.js'
import {findClient} from '../../src/core/clients.js'
import {loadConfig} from '../../src/core/config.js'
import {keyLocation} from '../../src/core/keys.js'
import {createPersonalAccessToken, mintToken} from '../../src/core/mint.js'
import type {TokenView} from '../../src/cli/tokens.js'
import {issueTokens} from '../../src/core/tokens.js'
import {accessRow, CONFIG, jtiOf, oneError, type Workspace, workspace} from './fixture.js'

type ListedToken = TokenView

function openAuthority(ws: Workspace): Authority {
  return Authority.open({
    config: loadConfig(join(ws.dir, 'passport.config.json')),
    database: ws.dbPath,
    keys: keyLocation(join(ws.dir, 'storage'), {}),
  })
}

describe('passport token:list', () => {
  let ws: Workspace
  const ids: Record<string, string> = {}
  beforeAll(async () => {
    ws = await workspace()
    ids.alice = jtiOf(await ws.ok(['token', '--user', 'alice', '--scope', 'read']))
    ids.service = jtiOf(await ws.ok(['token', '--client', 'service', '--scope', 'read']))
    ids.bob = jtiOf((await ws.run(['token:personal', 'deploy', '--user', 'bob', '--scope', 'write'])).stdout.trim())
    ids.revoked = jtiOf(await ws.ok(['token', '--user', 'alice', '--scope', 'write']))
    await ws.ok(['token:revoke', ids.revoked])
    const authority = openAuthority(ws)
    try {
      ids.expired = (await mintToken(authority, {user: 'alice', ttl: '1s', now: Date.now() - 60_000})).jti
    } finally {
      authority.close()
    }
  })
  afterAll(() => ws.cleanup())

  const list = async (args: string[]): Promise<ListedToken[]> =>
    JSON.parse(await ws.ok(['token:list', '--json', ...args])) as ListedToken[]

  it('lists active tokens, newest first, with the documented JSON shape', async () => {
    const tokens = await list([])
    expect(tokens.map((t) => t.id)).toEqual([ids.bob, ids.service, ids.alice])
    const bob = tokens[0]!
    expect(Object.keys(bob).sort()).toEqual([
      'client_id',
      'created_at',
      'expires_at',
      'grant_type',
      'id',
      'name',
      'revoked',
      'scopes',
      'status',
      'user_id',
    ])
    expect(bob).toMatchObject({
      client_id: '__personal_access__',
      user_id: 'bob',
      name: 'deploy',
      scopes: ['write'],
      grant_type: 'personal_access',
      revoked: false,
      status: 'active',
    })
    expect(tokens[1]).toMatchObject({
      client_id: 'service',
      user_id: null,
      name: null,
      grant_type: 'client_credentials',
      status: 'active',
    })
    expect(new Date(bob.expires_at).getTime() - new Date(bob.created_at).getTime()).toBeGreaterThan(179 * 86_400_000)
  })

  it('--all adds revoked and expired tokens', async () => {
    const tokens = await list(['--all'])
    expect(tokens.map((t) => t.id).sort()).toEqual(Object.values(ids).sort())
    expect(tokens.find((t) => t.id === ids.revoked)).toMatchObject({revoked: true, status: 'revoked'})
    expect(tokens.find((t) => t.id === ids.expired)).toMatchObject({revoked: false, status: 'expired'})
  })

  it('filters by --user and --client', async () => {
    expect((await list(['--user', 'alice'])).map((t) => t.id)).toEqual([ids.alice])
    expect((await list(['--user', 'alice', '--all'])).map((t) => t.id).sort()).toEqual(
      [ids.alice, ids.revoked, ids.expired].sort(),
    )
    expect((await list(['--client', 'service'])).map((t) => t.id)).toEqual([ids.service])
    expect(await list(['--client', '__cli__', '--user', 'bob'])).toEqual([])
  })

  it('--limit shows the newest tokens and says on stderr when more match', async () => {
    const cut = await ws.run(['token:list', '--json', '--limit', '2'])
    expect(cut.code).toBe(0)
    expect((JSON.parse(cut.stdout) as ListedToken[]).map((t) => t.id)).toEqual([ids.bob, ids.service])
    expect(cut.stderr).toBe('Warning: Only the newest 2 tokens are shown; more match (raise --limit to see them).\n')
    const one = await ws.run(['token:list', '--json', '--limit', '1'])
    expect(one.stderr).toBe('Warning: Only the newest token is shown; more match (raise --limit to see them).\n')
    const whole = await ws.run(['token:list', '--json', '--limit', '3'])
    expect((JSON.parse(whole.stdout) as ListedToken[]).map((t) => t.id)).toEqual([ids.bob, ids.service, ids.alice])
    expect(whole.stderr).toBe('')
    const zero = await ws.run(['token:list', '--limit', '0'])
    expect(zero.code).toBe(2)
    expect(oneError(zero)).toMatch(/--limit/)
    expect(zero.stdout).toBe('')
  })

  it('renders a table with "(client)" for client-credentials tokens', async () => {
    const lines = (await ws.ok(['token:list'])).split('\n')
    expect(lines[0]).toMatch(/^ID +CLIENT +USER +NAME +SCOPES +EXPIRES +STATUS$/)
    expect(lines).toHaveLength(4)
    expect(lines.find((l) => l.startsWith(ids.service!))).toMatch(/ service +\(client\) +read +\d{4}-.* active$/)
    expect(lines.find((l) => l.startsWith(ids.bob!))).toMatch(
      / __personal_access__ +bob +deploy +write +\d{4}-.* active$/,
    )
    expect(await ws.ok(['token:list', '--user', 'nobody'])).toBe(
      'No active tokens (--all also shows revoked and expired ones).',
    )
  })
})

describe('passport token:revoke', () => {
  let ws: Workspace
  beforeAll(async () => {
    ws = await workspace()
  })
  afterAll(() => ws.cleanup())

  it('revokes by JWT and by jti, setting revoked_at; a second revocation says so', async () => {
    const byJwt = await ws.ok(['token', '--user', 'alice'])
    const byJti = await ws.ok(['token', '--user', 'alice'])
    const keep = await ws.ok(['token', '--user', 'alice'])
    const before = Date.now()
    expect(await ws.ok(['token:revoke', byJwt])).toBe('Revoked 1 access token and 0 refresh tokens.')
    expect(JSON.parse(await ws.ok(['token:revoke', jtiOf(byJti), '--json']))).toEqual({
      kind: 'access_token',
      access_tokens: 1,
      refresh_tokens: 0,
    })
    expect(accessRow(ws, jtiOf(byJwt))!.revoked_at).toBeGreaterThanOrEqual(before)
    expect(accessRow(ws, jtiOf(byJti))!.revoked_at).toBeGreaterThanOrEqual(before)
    expect(accessRow(ws, jtiOf(keep))!.revoked_at).toBeNull()
    expect(await ws.ok(['token:revoke', jtiOf(byJwt)])).toBe('The access token was already revoked.')
    expect((await ws.run(['token:verify', keep])).code).toBe(0)
  })

  it('revokes a refresh token with its family', async () => {
    const authority = openAuthority(ws)
    let refreshToken: string
    let jti: string
    try {
      const client = findClient(authority.store, 'web')
      const issued = await issueTokens(authority, {
        client,
        userId: 'carol',
        scopes: ['read'],
        ttl: 60_000,
        grantType: 'authorization_code',
        refresh: {ttl: 120_000},
      })
      refreshToken = issued.response.refresh_token!
      jti = issued.jti
    } finally {
      authority.close()
    }
    expect(JSON.parse(await ws.ok(['token:revoke', refreshToken, '--json']))).toEqual({
      kind: 'refresh_token',
      access_tokens: 1,
      refresh_tokens: 1,
    })
    expect(accessRow(ws, jti)!.revoked_at).not.toBeNull()
    const db = ws.db()
    try {
      expect(db.prepare('SELECT revoked_at FROM oauth_refresh_tokens WHERE access_token_id = ?').get(jti)).toEqual({
        revoked_at: expect.any(Number),
      })
    } finally {
      db.close()
    }
  })

  it('--user --all revokes every live token of that user and prints the count', async () => {
    const dave = [await ws.ok(['token', '--user', 'dave']), await ws.ok(['token', '--user', 'dave', '--scope', 'read'])]
    dave.push((await ws.run(['token:personal', 'cli', '--user', 'dave'])).stdout.trim())
    const erin = await ws.ok(['token', '--user', 'erin'])
    const service = await ws.ok(['token', '--client', 'service'])
    expect(await ws.ok(['token:revoke', '--user', 'dave', '--all'])).toBe(
      'Revoked 3 access tokens and 0 refresh tokens of dave.',
    )
    for (const token of dave) expect(accessRow(ws, jtiOf(token))!.revoked_at).not.toBeNull()
    expect(accessRow(ws, jtiOf(erin))!.revoked_at).toBeNull()
    expect(accessRow(ws, jtiOf(service))!.revoked_at).toBeNull()
    expect(JSON.parse(await ws.ok(['token:revoke', '--user', 'dave', '--all', '--json']))).toEqual({
      kind: 'user',
      user_id: 'dave',
      access_tokens: 0,
      refresh_tokens: 0,
    })
  })

  it("a user named like a client does not revoke that client's client-credentials tokens", async () => {
    const service = await ws.ok(['token', '--client', 'service'])
    expect(await ws.ok(['token:revoke', '--user', 'service', '--all'])).toBe(
      'Revoked 0 access tokens and 0 refresh tokens of service.',
    )
    expect(accessRow(ws, jtiOf(service))!.revoked_at).toBeNull()
  })

  it('fails with one sentence for an unknown token', async () => {
    for (const value of ['nope', '01900000-0000-7000-8000-000000000000', 'a.b.c']) {
      const result = await ws.run(['token:revoke', value])
      expect(result.code).toBe(1)
      expect(result.stdout).toBe('')
      expect(oneError(result)).toBe('No access or refresh token matches that value; nothing was revoked.')
    }
  })

  it('is a usage error without a token or --user --all', async () => {
    const none = await ws.run(['token:revoke'])
    expect(none.code).toBe(2)
    expect(oneError(none)).toBe(
      'Missing TOKEN_OR_ID: run passport token:revoke TOKEN_OR_ID, or passport token:revoke --user SUB --all (no terminal to ask on).',
    )
    expect((await ws.run(['token:revoke', '--user', 'alice'])).code).toBe(2)
    expect((await ws.run(['token:revoke', '--all'])).code).toBe(2)
    const both = await ws.run(['token:revoke', 'x', '--user', 'alice', '--all'])
    expect(both.code).toBe(2)
    expect(oneError(both)).toBe('Give either TOKEN_OR_ID or --user SUB --all, not both.')
  })
})

describe('passport token:personal', () => {
  let ws: Workspace
  beforeAll(async () => {
    ws = await workspace()
  })
  afterAll(() => ws.cleanup())

  it('prints the token once on stdout and a notice on stderr; --json adds id and name', async () => {
    const result = await ws.run(['token:personal', 'my-cli', '--user', 'alice', '--scope', 'read', '--scope', 'write'])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/)
    const jti = jtiOf(result.stdout.trim())
    expect(result.stderr).toBe(
      `Personal access token "my-cli" for alice (id ${jti}, scopes: read write, expires in 180d). Store it now; it cannot be shown again.\n`,
    )
    expect(accessRow(ws, jti)).toMatchObject({
      client_id: '__personal_access__',
      user_id: 'alice',
      name: 'my-cli',
      grant_type: 'personal_access',
    })
    const json = JSON.parse(await ws.ok(['token:personal', 'ci', '--user', 'alice', '--json']))
    expect(Object.keys(json).sort()).toEqual(['access_token', 'expires_in', 'id', 'name', 'scope', 'token_type'])
    expect(json).toMatchObject({token_type: 'Bearer', scope: '', name: 'ci', id: jtiOf(json.access_token)})
    expect(json.expires_in).toBeGreaterThanOrEqual(180 * 86_400 - 1)
  })

  it('uses personalAccessTokensExpireIn from the config', async () => {
    const short = await workspace({...CONFIG, personalAccessTokensExpireIn: '7d'})
    try {
      const json = JSON.parse(await short.ok(['token:personal', 'week', '--user', 'alice', '--json']))
      expect(json.expires_in).toBeGreaterThanOrEqual(7 * 86_400 - 1)
      expect(json.expires_in).toBeLessThanOrEqual(7 * 86_400)
    } finally {
      short.cleanup()
    }
  })

  it('refuses unknown scopes, and needs NAME and --user', async () => {
    const unknown = await ws.run(['token:personal', 'x', '--user', 'alice', '--scope', 'delete'])
    expect(unknown.code).toBe(1)
    expect(oneError(unknown)).toMatch(/^Unknown scope "delete"/)
    const noUser = await ws.run(['token:personal', 'x'])
    expect(noUser.code).toBe(2)
    expect(oneError(noUser)).toBe(
      'Missing --user: run passport token:personal NAME --user SUB [--scope S]… (no terminal to ask on).',
    )
    const noName = await ws.run(['token:personal', '--user', 'alice'])
    expect(noName.code).toBe(2)
  })

  it('is the same function as the library createPersonalAccessToken', async () => {
    const authority = openAuthority(ws)
    try {
      const token = await createPersonalAccessToken(authority, {name: 'lib', user: 'alice', scopes: ['*']})
      expect(authority.store.accessTokens.find(token.jti)).toMatchObject({
        name: 'lib',
        grantType: 'personal_access',
        scopes: ['*'],
      })
    } finally {
      authority.close()
    }
    await expect(async () => {
      const a = openAuthority(ws)
      try {
        await createPersonalAccessToken(a, {name: ' ', user: 'alice'})
      } finally {
        a.close()
      }
    }).rejects.toThrow('A personal access token needs a non-empty name.')
  })
})
