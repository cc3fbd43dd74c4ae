import {join} from 'node:path'

import Database from 'better-sqlite3'

import {createAuthorizationCode} from '../../dist/core/codes.js'
import {s256} from '../../dist/core/crypto.js'
import {decideDeviceAuthorization} from '../../dist/core/device.js'
import {generateKeys} from '../../dist/core/keys.js'
import {startServer} from '../../dist/api.js'
import {Store} from '../../dist/store/index.js'
import {tempDir} from '../helpers.js'

export const REDIRECT = 'http://localhost:3000/callback'
/** A secret with the characters RFC 6749 §2.3.1 form-encoding exists for. */
export const WEB_SECRET = 'web-secret:with%colon+plus'

export const CONFIG = {
  scopes: {read: 'Read access', write: 'Write access', admin: 'Administration'},
  users: {
    alice: {name: 'Alice Example', email: 'alice@example.test', email_verified: true, claims: {role: 'admin', given_name: 'Alice'}},
    bob: {name: 'Bob Example'},
  },
  clients: [
    {id: 'web', name: 'Web app', secret: WEB_SECRET, redirectUris: [REDIRECT], grants: ['authorization_code', 'refresh_token']},
    {id: 'other', name: 'Other app', secret: 'other-secret', redirectUris: [REDIRECT], grants: ['authorization_code', 'refresh_token', 'client_credentials']},
    {id: 'multi', name: 'Two redirects', secret: 'multi-secret', redirectUris: [REDIRECT, 'http://localhost:3000/other'], grants: ['authorization_code']},
    {id: 'norefresh', name: 'No refresh', secret: 'norefresh-secret', redirectUris: [REDIRECT], grants: ['authorization_code']},
    {id: 'spa', name: 'Single-page app', redirectUris: [REDIRECT], grants: ['authorization_code', 'refresh_token']},
    {id: 'svc', name: 'Service', secret: 'svc-secret', grants: ['client_credentials'], scopes: ['read']},
    // A client whose id equals a user's subject (Laravel Passport GHSA-349c-2h2f-mxf6).
    {id: 'alice', name: 'Alice the service', secret: 'alice-secret', grants: ['client_credentials'], scopes: ['read']},
    {id: 'tv', name: 'Television', grants: ['device_code', 'refresh_token'], scopes: ['read', 'openid', 'profile']},
    {id: 'tv2', name: 'Other television', grants: ['device_code']},
    {id: 'kiosk', name: 'Confidential device', secret: 'kiosk-secret', grants: ['device_code']},
  ],
}

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

export async function startTestServer(options: {config?: Record<string, unknown>; withKeys?: boolean} = {}): Promise<TestServer> {
  const {dir, cleanup} = tempDir('passport-server-')
  const dbPath = join(dir, 'passport.sqlite')
  const keyPath = options.withKeys ? join(dir, 'keys') : undefined
  if (keyPath) await generateKeys(keyPath)
  const running = await startServer({database: dbPath, config: {...CONFIG, ...options.config}, ...(keyPath ? {keyPath} : {})})
  const store = Store.open(dbPath)
  const db = new Database(dbPath)
  return {
    url: running.url(),
    issuer: running.issuer,
    token: running.url('/oauth/token'),
    dbPath,
    ...(keyPath ? {keyPath} : {}),
    store,
    row: (sql, ...params) => db.prepare(sql).get(...params) as never,
    rows: (sql, ...params) => db.prepare(sql).all(...params) as never,
    exec: (sql, ...params) => void db.prepare(sql).run(...params),
    async close() {
      await running.close()
      store.close()
      db.close()
      cleanup()
    },
  }
}

export interface Reply {
  status: number
  headers: Headers
  text: string
  json: Record<string, unknown>
}

export function basic(id: string, secret: string): string {
  const enc = (v: string) => encodeURIComponent(v).replace(/%20/g, '+')
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`
}

/** POSTs a form (or, with `json`, a JSON body) and reads the answer. */
export async function post(url: string, form: Record<string, string>, options: {auth?: string; json?: boolean; headers?: Record<string, string>} = {}): Promise<Reply> {
  const headers: Record<string, string> = {...options.headers}
  if (options.auth) headers.authorization = options.auth
  headers['content-type'] ??= options.json ? 'application/json' : 'application/x-www-form-urlencoded'
  const body = options.json ? JSON.stringify(form) : new URLSearchParams(form).toString()
  return read(await fetch(url, {method: 'POST', headers, body}))
}

export async function read(response: Response): Promise<Reply> {
  const text = await response.text()
  let json: Record<string, unknown> = {}
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {}
  } catch {
    json = {}
  }
  return {status: response.status, headers: response.headers, text, json}
}

export const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-extra-chars'
export const CHALLENGE = s256(VERIFIER)

/** An authorization code as /authorize would issue it (through the core, not the browser). */
export function issueCode(
  server: TestServer,
  input: {clientId?: string; userId?: string; scopes?: string[]; redirectUri?: string | null; challenge?: string | null; nonce?: string | null; ttl?: number; now?: number} = {},
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
export function redeem(server: TestServer, code: string, extra: Record<string, string> = {}, auth = basic('web', WEB_SECRET)): Promise<Reply> {
  return post(server.token, {grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: VERIFIER, ...extra}, {auth})
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
    throw new Error(`expected Cache-Control: no-store and Pragma: no-cache, got ${reply.headers.get('cache-control')} / ${reply.headers.get('pragma')}`)
  }
}
