import Database from 'better-sqlite3'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {decodeJwt} from 'jose'

import {Authority} from '../../src/core/authority.js'
import {CLI_CLIENT_ID, findClient, internalClient} from '../../src/core/clients.js'
import {defaultConfig, parseConfig} from '../../src/core/config.js'
import {generateKeys, keyLocation} from '../../src/core/keys.js'
import {mintToken} from '../../src/core/mint.js'
import {issueTokens} from '../../src/core/tokens.js'
import {verifyAccessToken} from '../../src/core/verify.js'
import {tempDir} from '../helpers.js'

describe('core issueTokens and mintToken', () => {
  let dir: string
  let cleanup: () => void
  let authority: Authority
  beforeEach(async () => {
    ;({dir, cleanup} = tempDir('passport-issue-'))
    await generateKeys(`${dir}/keys`)
    authority = Authority.open({
      config: parseConfig({
        clients: [{id: 'svc', secret: 'svc-secret', grants: ['client_credentials'], scopes: ['read']}],
      }),
      database: `${dir}/db.sqlite`,
      keys: keyLocation(`${dir}/keys`, {}),
    })
  })
  afterEach(() => {
    authority.close()
    cleanup()
  })

  const rows = () =>
    authority.store.db.prepare('SELECT * FROM oauth_access_tokens').all() as Array<{
      id: string
      user_id: string | null
      client_id: string
    }>

  it("issueTokens writes exactly one access-token row, keyed by the token's jti", async () => {
    const client = internalClient(authority.store, CLI_CLIENT_ID)
    const issued = await issueTokens(authority, {
      client,
      userId: 'alice',
      scopes: ['read'],
      ttl: 60_000,
      grantType: 'cli',
    })
    const all = rows()
    expect(all).toHaveLength(1)
    expect(all[0]!.id).toBe(issued.jti)
    expect(decodeJwt(issued.response.access_token).jti).toBe(issued.jti)
    expect(issued.response.refresh_token).toBeUndefined()
  })

  it('mintToken without a user records a client-credentials token that no verifier reads as a user', async () => {
    const minted = await mintToken(authority, {client: 'svc', scopes: ['read']})
    expect(minted).toMatchObject({clientId: 'svc', userId: null, scopes: ['read']})
    expect(rows()).toEqual([expect.objectContaining({id: minted.jti, user_id: null, client_id: 'svc'})])
    const keys = await authority.signingKeys()
    const verified = await verifyAccessToken(minted.response.access_token, {
      issuer: authority.issuer,
      publicKey: keys.publicKeys,
      store: authority.store,
    })
    expect(verified.userId).toBeNull()
    expect(verified.claims.sub).toBe('svc')
  })

  it('mintToken creates the __cli__ client on first use and uses tokensExpireIn by default', async () => {
    expect(authority.store.clients.find(CLI_CLIENT_ID)).toBeUndefined()
    const now = 1_800_000_000_000
    const minted = await mintToken(authority, {user: 'alice', now})
    expect(authority.store.clients.find(CLI_CLIENT_ID)).toMatchObject({source: 'internal'})
    expect(minted.expiresAt).toBe(now + defaultConfig().tokensExpireIn)
  })

  it('mintToken refuses bad input before writing anything', async () => {
    await expect(mintToken(authority, {claims: {sub: 'x'}})).rejects.toThrow(
      'Claim "sub" is set by passport itself and cannot be overridden.',
    )
    await expect(mintToken(authority, {scopes: ['*']})).rejects.toThrow(
      'The wildcard scope "*" is only allowed for personal access tokens.',
    )
    await expect(mintToken(authority, {client: 'svc', scopes: ['write']})).rejects.toThrow(
      'Scope "write" is not allowed for client svc; allowed: read.',
    )
    await expect(mintToken(authority, {ttl: 'forever'})).rejects.toThrow(
      /The token lifetime \(ttl\) must be milliseconds/,
    )
    await expect(mintToken(authority, {user: ' '})).rejects.toThrow(/is not a subject/)
    expect(rows()).toEqual([])
  })

  it('concurrent issueTokens calls each return only after their row is committed, in fewer transactions than tokens', async () => {
    const reader = new Database(`${dir}/db.sqlite`)
    try {
      await authority.signingKeys()
      authority.store.db.pragma('wal_checkpoint(TRUNCATE)')
      const client = findClient(authority.store, 'svc')
      const seenAtReturn: Array<unknown> = []
      const count = 25
      await Promise.all(
        Array.from({length: count}, () =>
          issueTokens(authority, {
            client,
            userId: null,
            scopes: ['read'],
            ttl: 60_000,
            grantType: 'client_credentials',
          }).then((issued) => {
            seenAtReturn.push(reader.prepare('SELECT id FROM oauth_access_tokens WHERE id = ?').pluck().get(issued.jti))
            return issued.jti
          }),
        ),
      )
      expect(seenAtReturn).toHaveLength(count)
      expect(seenAtReturn.every((id) => typeof id === 'string')).toBe(true)
      expect(reader.prepare('SELECT count(*) FROM oauth_access_tokens').pluck().get()).toBe(count)
      // One transaction per token would write at least one WAL frame (page) per token.
      const [checkpoint] = reader.pragma('wal_checkpoint(PASSIVE)') as Array<{log: number}>
      expect(checkpoint!.log).toBeLessThan(count)
    } finally {
      reader.close()
    }
  })
})
