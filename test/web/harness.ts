import type Database from 'better-sqlite3'
import {expect} from 'vitest'

import type {StartServerOptions} from '../../src/api.js'
import {createDeviceAuthorization} from '../../src/core/device.js'
import {Store} from '../../src/store/index.js'
import {WEB_CONFIG as CONFIG} from '../fixtures/config.js'
import {type Browser, field} from '../fixtures/http.js'
import {startFileServer} from '../fixtures/server.js'

export {WEB_CONFIG as CONFIG} from '../fixtures/config.js'
export {Browser, field} from '../fixtures/http.js'
export {pkce, sha256Hex} from '../fixtures/oauth.js'

export interface TestServer {
  url: string
  issuer: string
  prefix: string
  dbPath: string
  close(): Promise<void>
  /** A read-only view of the database, for assertions. */
  db(): Database.Database
  authCodes(): AuthCodeRaw[]
  /** Creates a device authorization through the core, as POST /device/code would (at `now`, default the real time). */
  deviceAuthorization(
    clientId: string,
    scopes: string[],
    ttl?: number,
    now?: number,
  ): {userCode: string; deviceCode: string; id: string}
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
  const server = await startFileServer({config: CONFIG, port: 0, host: '127.0.0.1', ...options}, 'passport-web-')
  const {dbPath, db} = server
  return {
    url: server.handle.url(),
    issuer: server.handle.issuer,
    prefix: options.prefix ?? '/oauth',
    dbPath,
    db,
    authCodes: () => db().prepare('SELECT * FROM oauth_auth_codes ORDER BY id').all() as AuthCodeRaw[],
    deviceAuthorization(clientId, scopes, ttl = 600_000, now = Date.now()) {
      const store = Store.open(dbPath)
      try {
        const created = createDeviceAuthorization(store, {id: clientId}, scopes, ttl, now)
        return {userCode: created.userCode, deviceCode: created.deviceCode, id: created.row.id}
      } finally {
        store.close()
      }
    },
    deviceRow: (id) =>
      db().prepare('SELECT status, user_id FROM oauth_device_codes WHERE id = ?').get(id) as {
        status: string
        user_id: string | null
      },
    close: () => server.close(),
  }
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
  return {
    href,
    base: index === -1 ? href : href.slice(0, index),
    params: new URLSearchParams(index === -1 ? '' : href.slice(index + 1)),
  }
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
  expect(html.replace('<script src="/assets/passport.js" defer></script>', '')).not.toMatch(
    /<script|<link|<img|<iframe|@import|url\(|src=/i,
  )
}

/** Opens an authorization request in `browser`, signs in as `subject`, and returns the consent page. */
export async function signInToConsent(
  browser: Browser,
  server: TestServer,
  params: Record<string, string | undefined>,
  subject: string,
): Promise<string> {
  const path = authorizePath(server.prefix, params)
  const first = await browser.get(path)
  let html = await first.text()
  if (html.includes('name="subject"')) {
    const login = await browser.post(`${server.prefix}/login`, {
      csrf: field(html, 'csrf'),
      return_to: field(html, 'return_to'),
      subject,
    })
    expect(login.status).toBe(303)
    const consent = await browser.get(login.headers.get('location')!)
    expect(consent.status).toBe(200)
    html = await consent.text()
  }
  expect(html).toContain('name="request_id"')
  return html
}
