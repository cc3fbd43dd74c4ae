import {createHash} from 'node:crypto'

import * as client from 'openid-client'

import type {StartServerOptions} from '../../src/api.js'
import {OIDC_CONFIG as CONFIG} from '../fixtures/config.js'
import {startFileServer} from '../fixtures/server.js'

export {OIDC_CONFIG as CONFIG} from '../fixtures/config.js'
export {Browser, field} from '../fixtures/http.js'

export const WEB = {id: 'web', secret: 'web-secret-123', redirect: 'http://localhost:3000/callback'}
export const AUTO = {id: 'auto', secret: 'auto-secret-123', redirect: 'http://localhost:4000/cb'}

export interface OidcServer {
  issuer: string
  url: string
  /** The handle's `keys.reload()`: the key files are read again now. */
  reloadKeys(): void
  close(): Promise<void>
}

/** The in-process server on 127.0.0.1 port 0 with a temporary SQLite file. */
export async function startOidcServer(options: Partial<StartServerOptions> = {}): Promise<OidcServer> {
  const server = await startFileServer({config: CONFIG, ...options}, 'passport-oidc-')
  return {
    issuer: server.handle.issuer,
    url: server.handle.url(),
    reloadKeys: () => server.handle.keys.reload(),
    close: () => server.close(),
  }
}

/** openid-client as the Relying Party: discovery, client_secret_basic, http allowed on loopback, id token signatures checked. */
export async function relyingParty(server: OidcServer, id: string, secret?: string): Promise<client.Configuration> {
  const config = await client.discovery(
    new URL(server.issuer),
    id,
    secret,
    secret === undefined ? client.None() : client.ClientSecretBasic(secret),
    {execute: [client.allowInsecureRequests]},
  )
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
export async function authorizationUrl(
  config: client.Configuration,
  redirect: string,
  params: Record<string, string>,
): Promise<StartedLogin> {
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
