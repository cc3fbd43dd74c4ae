import {createHash, randomBytes} from 'node:crypto'
import {join} from 'node:path'

import Database from 'better-sqlite3'
import {expect} from 'vitest'

import {createDeviceAuthorization} from '../../dist/core/device.js'
import {startServer, type StartServerOptions} from '../../dist/api.js'
import {Store} from '../../dist/store/index.js'
import {tempDir} from '../helpers.js'

/** The clients and users every web test runs against (as in a committed passport.config.json). */
export const CONFIG = {
  scopes: {read: 'Read your data', write: 'Change your data', admin: 'Full administrative access'},
  users: {
    alice: {name: 'Alice Example', email: 'alice@example.test'},
    bob: {name: 'Bob <Builder>', email: 'bob@example.test'},
  },
  clients: [
    {id: 'web', name: 'Web app', secret: 'web-secret-123', redirectUris: ['http://localhost:3000/callback'], scopes: ['read', 'write', 'openid']},
    {id: 'spa', name: 'Single-page app', redirectUris: ['http://localhost:4000/cb']},
    {id: 'two', name: 'Two URIs', secret: 'two-secret-123', redirectUris: ['http://localhost:3000/a', 'http://localhost:3000/b']},
    {id: 'query', name: 'With query', secret: 'query-secret-123', redirectUris: ['http://localhost:3000/cb?tenant=acme']},
    {id: 'native', name: 'Native app', redirectUris: ['http://127.0.0.1/cb', 'http://[::1]/cb?x=1']},
    {id: 'auto', name: 'Trusted app', secret: 'auto-secret-123', redirectUris: ['http://localhost:3000/callback'], autoApprove: true},
    {id: 'machine', name: 'Cron job', secret: 'machine-secret-123', grants: ['client_credentials'], redirectUris: ['http://localhost:3000/m']},
    {id: 'tv', name: 'Living-room TV', grants: ['device_code'], scopes: ['read', 'write']},
    {id: 'app-scheme', name: 'Mobile app', redirectUris: ['com.example.app:/oauth'], grants: ['authorization_code']},
  ],
  resources: {'https://api.example.test/': {name: 'Example API'}},
}

export interface TestServer {
  url: string
  issuer: string
  prefix: string
  dbPath: string
  close(): Promise<void>
  /** A read-only view of the database, for assertions. */
  db(): Database.Database
  authCodes(): AuthCodeRaw[]
  /** Creates a device authorization through the core, as POST /device/code would. */
  deviceAuthorization(clientId: string, scopes: string[], ttl?: number): {userCode: string; deviceCode: string; id: string}
  deviceRow(id: string): {status: string; user_id: string | null}
}

export interface AuthCodeRaw {
  id: string
  code_hash: string
  client_id: string
  user_id: string
  scopes: string
  redirect_uri: string | null
  code_challenge: string | null
  code_challenge_method: string | null
  nonce: string | null
  resource: string | null
  auth_time: number | null
  expires_at: number
  created_at: number
}

export async function startTestServer(options: Partial<StartServerOptions> = {}): Promise<TestServer> {
  const {dir, cleanup} = tempDir('passport-web-')
  const dbPath = join(dir, 'passport.sqlite')
  const running = await startServer({config: CONFIG, database: dbPath, port: 0, host: '127.0.0.1', ...options})
  const prefix = options.prefix ?? '/oauth'
  let readonly: Database.Database | undefined
  const db = () => (readonly ??= new Database(dbPath, {readonly: true, fileMustExist: true}))
  return {
    url: running.url(),
    issuer: running.issuer,
    prefix,
    dbPath,
    db,
    authCodes: () => db().prepare('SELECT * FROM oauth_auth_codes ORDER BY id').all() as AuthCodeRaw[],
    deviceAuthorization(clientId, scopes, ttl = 600_000) {
      const store = Store.open(dbPath)
      try {
        const created = createDeviceAuthorization(store, {id: clientId}, scopes, ttl)
        return {userCode: created.userCode, deviceCode: created.deviceCode, id: created.row.id}
      } finally {
        store.close()
      }
    },
    deviceRow: (id) => db().prepare('SELECT status, user_id FROM oauth_device_codes WHERE id = ?').get(id) as {status: string; user_id: string | null},
    async close() {
      readonly?.close()
      await running.close()
      cleanup()
    },
  }
}

/** A browser stand-in: fetch with a cookie jar, never following redirects. */
export class Browser {
  readonly cookies = new Map<string, string>()

  constructor(private readonly base: string) {}

  async get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.send(path, {method: 'GET', headers: {Accept: 'text/html,application/xhtml+xml', ...headers}})
  }

  async post(path: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    return this.send(path, {method: 'POST', headers: {Accept: 'text/html', 'Content-Type': 'application/x-www-form-urlencoded', ...headers}, body: new URLSearchParams(form).toString()})
  }

  async postJson(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
    return this.send(path, {method: 'POST', headers: {Accept: 'application/json', 'Content-Type': 'application/json', ...headers}, body: JSON.stringify(body)})
  }

  async send(path: string, init: RequestInit): Promise<Response> {
    const headers = new Headers(init.headers)
    if (this.cookies.size) headers.set('Cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '))
    const res = await fetch(path.startsWith('http') ? path : `${this.base}${path}`, {...init, headers, redirect: 'manual'})
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';')
      const index = pair!.indexOf('=')
      const name = pair!.slice(0, index).trim()
      const value = pair!.slice(index + 1).trim()
      if (attributes.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '') this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
    return res
  }
}

/** The value of a hidden (or any) input field in a page. */
export function field(html: string, name: string): string {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html)
  if (!match) throw new Error(`No field ${name} in page:\n${html}`)
  return unescape(match[1]!)
}

function unescape(value: string): string {
  return value.replace(/&(amp|lt|gt|quot|#39);/g, (_, e: string) => ({amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'"})[e]!)
}

export function pkce(): {verifier: string; challenge: string} {
  const verifier = randomBytes(32).toString('base64url')
  return {verifier, challenge: createHash('sha256').update(verifier).digest('base64url')}
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex')
}

/** An authorization URL path with these parameters (undefined ones left out). */
export function authorizePath(prefix: string, params: Record<string, string | undefined>): string {
  const query = new URLSearchParams()
  for (const [key, value] of Object.entries(params)) if (value !== undefined) query.append(key, value)
  return `${prefix}/authorize?${query.toString()}`
}

/** Parses a redirect's Location into its base (before ?) and query parameters. */
export function location(res: Response): {href: string; base: string; params: URLSearchParams} {
  const href = res.headers.get('location')
  if (!href) throw new Error(`No Location header (status ${res.status})`)
  const index = href.indexOf('?')
  return {href, base: index === -1 ? href : href.slice(0, index), params: new URLSearchParams(index === -1 ? '' : href.slice(index + 1))}
}

/** Every page must forbid framing, send no referrer and carry the strict CSP. */
export function expectPageHeaders(res: Response): void {
  expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
  expect(res.headers.get('x-frame-options')).toBe('DENY')
  expect(res.headers.get('referrer-policy')).toBe('no-referrer')
  const csp = res.headers.get('content-security-policy') ?? ''
  expect(csp).toContain("default-src 'none'")
  expect(csp).toContain("frame-ancestors 'none'")
  // No script at all, or only passport's own same-origin file (never inline code or another origin).
  expect(csp).not.toMatch(/script-src(?! 'self';)/)
}

/** A page that loads nothing from elsewhere: no stylesheets, images, fonts or frames, no script but passport's own file. */
export function expectSelfContained(html: string): void {
  expect(html.replace('<script src="/assets/passport.js" defer></script>', '')).not.toMatch(/<script|<link|<img|<iframe|@import|url\(|src=/i)
}

/** Opens an authorization request in `browser`, signs in as `subject`, and returns the consent page. */
export async function signInToConsent(browser: Browser, server: TestServer, params: Record<string, string | undefined>, subject: string): Promise<string> {
  const path = authorizePath(server.prefix, params)
  const first = await browser.get(path)
  let html = await first.text()
  if (html.includes('name="subject"')) {
    const login = await browser.post(`${server.prefix}/login`, {csrf: field(html, 'csrf'), return_to: field(html, 'return_to'), subject})
    expect(login.status).toBe(303)
    const consent = await browser.get(login.headers.get('location')!)
    expect(consent.status).toBe(200)
    html = await consent.text()
  }
  expect(html).toContain('name="request_id"')
  return html
}
