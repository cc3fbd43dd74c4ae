import {join} from 'node:path'

import Database from 'better-sqlite3'

import {s256} from '../../dist/core/crypto.js'
import {startServer, type StartServerOptions} from '../../dist/api.js'
import {tempDir} from '../helpers.js'

export const MCP = 'http://localhost:3000/mcp'
export const API = 'https://api.example.test/v1'
export const REDIRECT = 'http://localhost:3000/callback'
export const VERIFIER = 'mcp-verifier-0123456789-abcdefghijklmnopqrstuvwxyz'
export const CHALLENGE = s256(VERIFIER)

/** Clients and resources the MCP tests run against (as in a committed passport.config.json). */
export const CONFIG = {
  scopes: {read: 'Read access', write: 'Write access', admin: 'Administration'},
  users: {alice: {name: 'Alice Example'}},
  clients: [
    {id: 'web', name: 'Web app', secret: 'web-secret-123', redirectUris: [REDIRECT], grants: ['authorization_code', 'refresh_token']},
    {id: 'spa', name: 'Single-page app', redirectUris: [REDIRECT], grants: ['authorization_code', 'refresh_token']},
    {id: 'svc', name: 'Service', secret: 'svc-secret-123', grants: ['client_credentials']},
    {id: 'tv', name: 'Television', grants: ['device_code', 'refresh_token']},
  ],
  resources: {
    [MCP]: {name: 'My MCP server', scopes: ['read']},
    [API]: {name: 'Example API'},
  },
}

export interface McpServer {
  url: string
  issuer: string
  endpoint(path: string): string
  db: Database.Database
  close(): Promise<void>
}

/** A headless server (`--login-as alice --auto-approve`) on 127.0.0.1 port 0 with a database file in a temp dir. */
export async function startMcpServer(options: Omit<Partial<StartServerOptions>, 'config'> & {config?: Record<string, unknown>} = {}): Promise<McpServer> {
  const {dir, cleanup} = tempDir('passport-mcp-')
  const database = join(dir, 'passport.sqlite')
  const {config, ...rest} = options
  const running = await startServer({database, loginAs: 'alice', autoApprove: true, ...rest, config: {...CONFIG, ...(config ?? {})}})
  const db = new Database(database, {readonly: true})
  return {
    url: running.url(),
    issuer: running.issuer,
    endpoint: (path) => running.url(`/oauth${path}`),
    db,
    async close() {
      db.close()
      await running.close()
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

/** POSTs a form; a list value sends the parameter once per item. */
export async function postForm(url: string, form: Record<string, string | string[]>, headers: Record<string, string> = {}): Promise<Reply> {
  const body = new URLSearchParams()
  for (const [key, value] of Object.entries(form)) for (const v of Array.isArray(value) ? value : [value]) body.append(key, v)
  return read(await fetch(url, {method: 'POST', headers: {'content-type': 'application/x-www-form-urlencoded', ...headers}, body}))
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return read(await fetch(url, {method: 'POST', headers: {'content-type': 'application/json', ...headers}, body: typeof body === 'string' ? body : JSON.stringify(body)}))
}

export const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`

/** GET /authorize without following the redirect; a list value repeats the parameter. */
export async function authorize(server: McpServer, params: Record<string, string | string[]>): Promise<{status: number; location: URL | undefined; text: string; headers: Headers}> {
  const query = new URLSearchParams()
  for (const [key, value] of Object.entries(params)) for (const v of Array.isArray(value) ? value : [value]) query.append(key, v)
  const response = await fetch(`${server.endpoint('/authorize')}?${query}`, {redirect: 'manual'})
  const location = response.headers.get('location')
  return {status: response.status, location: location ? new URL(location) : undefined, text: await response.text(), headers: response.headers}
}

/** The payload of a JWT, unverified (the tests check claims the server just issued). */
export function claims(jwt: unknown): Record<string, unknown> {
  return JSON.parse(Buffer.from(String(jwt).split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>
}
