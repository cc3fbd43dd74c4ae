import {join} from 'node:path'

import Database from 'better-sqlite3'

import {createAuthorizationCode} from '../../src/core/codes.js'
import {s256} from '../../src/core/crypto.js'
import {decideDeviceAuthorization} from '../../src/core/device.js'
import {generateKeys} from '../../src/core/keys.js'
import {Store} from '../../src/store/index.js'
import {REDIRECT, SERVER_CONFIG as CONFIG, WEB_SECRET} from '../fixtures/config.js'
import {basic} from '../fixtures/oauth.js'
import {post, type Reply} from '../fixtures/http.js'
import {startFileServer} from '../fixtures/server.js'
import {tempDir} from '../helpers.js'

export {REDIRECT, SERVER_CONFIG as CONFIG, WEB_SECRET} from '../fixtures/config.js'
export {basic} from '../fixtures/oauth.js'
export {post, read, type Reply} from '../fixtures/http.js'

export interface TestServer {
  url: string
  issuer: string
  token: string
  dbPath: string
  /** The key directory, when started with `withKeys` (the private key is `oauth-private.key` there). */
  keyPath?: string
  /** A second connection to the same database file, for setting up codes and approvals. */
  store: InstanceType<typeof Store>
  /** Read-only SQL on the server's database file. */
  row<T = Record<string, unknown>>(sql: string, ...params: unknown[]): T | undefined
  rows<T = Record<string, unknown>>(sql: string, ...params: unknown[]): T[]
  exec(sql: string, ...params: unknown[]): void
  close(): Promise<void>
}

export async function startTestServer(
  options: {config?: Record<string, unknown>; withKeys?: boolean} = {},
): Promise<TestServer> {
  const keyDir = options.withKeys ? tempDir('passport-server-keys-') : undefined
  const keyPath = keyDir ? join(keyDir.dir, 'keys') : undefined
  if (keyPath) await generateKeys(keyPath)
  const server = await startFileServer(
    {config: {...CONFIG, ...options.config}, ...(keyPath ? {keyPath} : {})},
    'passport-server-',
  )
  const store = Store.open(server.dbPath)
  const db = new Database(server.dbPath)
  return {
    url: server.handle.url(),
    issuer: server.handle.issuer,
    token: server.handle.url('/oauth/token'),
    dbPath: server.dbPath,
    ...(keyPath ? {keyPath} : {}),
    store,
    row: (sql, ...params) => db.prepare(sql).get(...params) as never,
    rows: (sql, ...params) => db.prepare(sql).all(...params) as never,
    exec: (sql, ...params) => void db.prepare(sql).run(...params),
    async close() {
      store.close()
      db.close()
      await server.close()
      keyDir?.cleanup()
    },
  }
}

export const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-extra-chars'
export const CHALLENGE = s256(VERIFIER)

/** An authorization code as /authorize would issue it (through the core, not the browser). */
export function issueCode(
  server: TestServer,
  input: {
    clientId?: string
    userId?: string
    scopes?: string[]
    redirectUri?: string | null
    challenge?: string | null
    nonce?: string | null
    ttl?: number
    now?: number
  } = {},
): {code: string; id: string} {
  const challenge = input.challenge === undefined ? CHALLENGE : input.challenge
  const {code, row} = createAuthorizationCode(
    server.store,
    {
      clientId: input.clientId ?? 'web',
      userId: input.userId ?? 'alice',
      scopes: input.scopes ?? ['read'],
      redirectUri: input.redirectUri === undefined ? REDIRECT : input.redirectUri,
      codeChallenge: challenge,
      codeChallengeMethod: challenge === null ? null : 'S256',
      nonce: input.nonce ?? null,
      resource: null,
      authTime: Date.now(),
    },
    input.ttl ?? 600_000,
    input.now ?? Date.now(),
  )
  return {code, id: row.id}
}

/** Redeems a code as the `web` client with the default verifier and redirect URI. */
export function redeem(
  server: TestServer,
  code: string,
  extra: Record<string, string> = {},
  auth = basic('web', WEB_SECRET),
): Promise<Reply> {
  return post(
    server.token,
    {grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: VERIFIER, ...extra},
    {auth},
  )
}

export function approveDevice(server: TestServer, userCode: string, userId = 'alice', approve = true): void {
  decideDeviceAuthorization(server.store, userCode, userId, approve)
}

/** Introspects as `web` (or another confidential client). */
export function introspect(server: TestServer, token: string, auth = basic('web', WEB_SECRET)): Promise<Reply> {
  return post(`${server.url}/oauth/introspect`, {token}, {auth})
}

export function expectNoStore(reply: Reply): void {
  if (reply.headers.get('cache-control') !== 'no-store' || reply.headers.get('pragma') !== 'no-cache') {
    throw new Error(
      `expected Cache-Control: no-store and Pragma: no-cache, got ${reply.headers.get('cache-control')} / ${reply.headers.get('pragma')}`,
    )
  }
}
