import {createHash} from 'node:crypto'
import {join} from 'node:path'

import * as client from 'openid-client'

import {startServer, type StartServerOptions} from '../../dist/api.js'
import {tempDir} from '../helpers.js'

/** A passport.config.json as a project would commit it for its CI. */
export const CONFIG = {
  scopes: {read: 'Read your data', groups: 'Your groups'},
  // role: unmapped → released with profile; groups → its own scope; tenant → with openid itself.
  claims: {groups: 'groups', tenant: 'openid'},
  users: {
    alice: {name: 'Alice Example', email: 'alice@example.test', email_verified: true, claims: {given_name: 'Alice', preferred_username: 'ally', role: 'admin', groups: ['dev', 'ops']}},
    bob: {name: 'Bob', email: 'bob@example.test', claims: {tenant: 'acme'}},
  },
  clients: [
    {id: 'web', name: 'Web app', secret: 'web-secret-123', redirectUris: ['http://localhost:3000/callback'], postLogoutRedirectUris: ['http://localhost:3000/signed-out']},
    {id: 'spa', name: 'Single-page app', redirectUris: ['http://127.0.0.1/cb']},
    {id: 'auto', name: 'Trusted app', secret: 'auto-secret-123', redirectUris: ['http://localhost:4000/cb'], postLogoutRedirectUris: ['http://localhost:4000/'], autoApprove: true},
    {id: 'svc', name: 'Cron job', secret: 'svc-secret-123', grants: ['client_credentials']},
  ],
}

export const WEB = {id: 'web', secret: 'web-secret-123', redirect: 'http://localhost:3000/callback'}
export const AUTO = {id: 'auto', secret: 'auto-secret-123', redirect: 'http://localhost:4000/cb'}

export interface OidcServer {
  issuer: string
  url: string
  close(): Promise<void>
}

/** The in-process server on 127.0.0.1 port 0 with a temporary SQLite file. */
export async function startOidcServer(options: Partial<StartServerOptions> = {}): Promise<OidcServer> {
  const {dir, cleanup} = tempDir('passport-oidc-')
  const running = await startServer({config: CONFIG, database: join(dir, 'passport.sqlite'), ...options})
  return {
    issuer: running.issuer,
    url: running.url(),
    async close() {
      await running.close()
      cleanup()
    },
  }
}

/** openid-client as the Relying Party: discovery, client_secret_basic, http allowed on loopback, id token signatures checked. */
export async function relyingParty(server: OidcServer, id: string, secret?: string): Promise<client.Configuration> {
  const config = await client.discovery(new URL(server.issuer), id, secret, secret === undefined ? client.None() : client.ClientSecretBasic(secret), {execute: [client.allowInsecureRequests]})
  client.enableNonRepudiationChecks(config)
  return config
}

export interface StartedLogin {
  url: URL
  verifier: string
  nonce: string
  state: string
}

/** An authorization URL with PKCE S256, nonce and state, as an RP builds it. */
export async function authorizationUrl(config: client.Configuration, redirect: string, params: Record<string, string>): Promise<StartedLogin> {
  const verifier = client.randomPKCECodeVerifier()
  const nonce = client.randomNonce()
  const state = client.randomState()
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirect,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    nonce,
    state,
    ...params,
  })
  return {url, verifier, nonce, state}
}

/** OIDC Core §3.1.3.6: base64url of the left half of SHA-256 of the access token. */
export function atHash(accessToken: string): string {
  const digest = createHash('sha256').update(accessToken).digest()
  return digest.subarray(0, 16).toString('base64url')
}

/** A browser stand-in: fetch with a cookie jar, never following redirects. */
export class Browser {
  private readonly cookies = new Map<string, string>()

  async get(url: string | URL): Promise<Response> {
    return this.send(url, {method: 'GET', headers: {Accept: 'text/html'}})
  }

  async post(url: string | URL, form: Record<string, string>): Promise<Response> {
    return this.send(url, {method: 'POST', headers: {Accept: 'text/html', 'Content-Type': 'application/x-www-form-urlencoded'}, body: new URLSearchParams(form).toString()})
  }

  hasSession(): boolean {
    return [...this.cookies.keys()].some((name) => name.startsWith('passport_session_'))
  }

  private async send(url: string | URL, init: RequestInit): Promise<Response> {
    const headers = new Headers(init.headers)
    if (this.cookies.size) headers.set('Cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '))
    const res = await fetch(url, {...init, headers, redirect: 'manual'})
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';')
      const index = pair!.indexOf('=')
      const name = pair!.slice(0, index).trim()
      const value = pair!.slice(index + 1).trim()
      if (value === '' || /max-age=0/i.test(line)) this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
    return res
  }
}

/** The value of a hidden or text input in an HTML page. */
export function field(html: string, name: string): string {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html)
  if (!match) throw new Error(`No field ${name} in the page:\n${html.slice(0, 2000)}`)
  return match[1]!.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>')
}
