import * as oauth from 'oauth4webapi'
import * as client from 'openid-client'

import {startServer} from '../../src/api.js'
import {REDIRECT, HANDLE_CONFIG as CONFIG} from '../fixtures/config.js'
import {post, type Reply} from '../fixtures/http.js'
import {basic} from '../fixtures/oauth.js'
import {serveJson, type StartLine, stopAllServe} from '../fixtures/serve.js'

export {REDIRECT, HANDLE_CONFIG as CONFIG} from '../fixtures/config.js'

export type Handle = Awaited<ReturnType<typeof startServer>>

/** An in-memory authority, headless: --login-as alice, the web client auto-approves. */
export function startHandle(options: Parameters<typeof startServer>[0] = {}): Promise<Handle> {
  return startServer({config: CONFIG, loginAs: 'alice', ...options})
}

export const svc = basic('svc', 'svc-secret')
export const web = basic('web', 'web-secret')

export function clientCredentials(server: Handle): Promise<Reply> {
  return post(server.url('/oauth/token'), {grant_type: 'client_credentials', scope: 'read'}, {auth: svc})
}

const insecure = {[oauth.allowInsecureRequests]: true} as const

/** oauth4webapi's view of the authority (its own discovery request). */
export async function oauthServer(server: Handle): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(server.issuer)
  return oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, {algorithm: 'oidc', ...insecure}))
}

/**
 * The authorization code flow with oauth4webapi, each step validated as its docs say (the id
 * token's signature too); throws what oauth4webapi throws.
 */
export async function oauth4webapiLogin(
  server: Handle,
  as?: oauth.AuthorizationServer,
): Promise<oauth.TokenEndpointResponse> {
  as ??= await oauthServer(server)
  const c: oauth.Client = {client_id: 'web'}
  const verifier = oauth.generateRandomCodeVerifier()
  const nonce = oauth.generateRandomNonce()
  const state = oauth.generateRandomState()
  const url = new URL(as.authorization_endpoint!)
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: 'web',
    redirect_uri: REDIRECT,
    scope: 'openid profile',
    state,
    nonce,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  }).toString()
  const answer = await fetch(url, {redirect: 'manual'})
  const params = oauth.validateAuthResponse(as, c, new URL(answer.headers.get('location')!), state)
  const response = await oauth.authorizationCodeGrantRequest(
    as,
    c,
    oauth.ClientSecretBasic('web-secret'),
    params,
    REDIRECT,
    verifier,
    insecure,
  )
  const tokens = await oauth.processAuthorizationCodeResponse(as, c, response, {
    expectedNonce: nonce,
    requireIdToken: true,
  })
  // Non-repudiation: the id token's signature against the published JWKS (oauth4webapi leaves it optional).
  await oauth.validateApplicationLevelSignature(as, response, insecure)
  return tokens
}

/** openid-client as a Relying Party with its non-repudiation (id token signature) checks on. */
export async function relyingParty(server: Handle): Promise<client.Configuration> {
  const config = await client.discovery(
    new URL(server.issuer),
    'web',
    'web-secret',
    client.ClientSecretBasic('web-secret'),
    {execute: [client.allowInsecureRequests]},
  )
  client.enableNonRepudiationChecks(config)
  return config
}

/** The authorization code flow with openid-client; throws what openid-client throws. */
export async function openidClientLogin(
  server: Handle,
  config?: client.Configuration,
): Promise<client.TokenEndpointResponse & client.TokenEndpointResponseHelpers> {
  config ??= await relyingParty(server)
  const verifier = client.randomPKCECodeVerifier()
  const nonce = client.randomNonce()
  const state = client.randomState()
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope: 'openid profile',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    nonce,
    state,
  })
  const answer = await fetch(url, {redirect: 'manual'})
  return client.authorizationCodeGrant(config, new URL(answer.headers.get('location')!), {
    pkceCodeVerifier: verifier,
    expectedNonce: nonce,
    expectedState: state,
    idTokenExpected: true,
  })
}

/** What a rejected promise rejected with. */
export async function rejection(promise: Promise<unknown>): Promise<Error & {code?: string; cause?: unknown}> {
  try {
    await promise
  } catch (error) {
    return error as Error & {code?: string}
  }
  throw new Error('expected a rejection')
}

/** Stops every server {@link serve} started (call from afterEach). */
export const stopServed = stopAllServe

export interface Served {
  line: StartLine
  stderr(): string
  stop(): Promise<number | null>
}

/** `passport serve ARGS --port 0 --json --quiet` in a temporary directory holding the test config. */
export async function serve(args: string[], env: Record<string, string> = {}): Promise<Served> {
  const served = await serveJson(['--database', ':memory:', ...args], {config: CONFIG, env})
  return {line: served.line, stderr: () => served.output().stderr, stop: () => served.stop()}
}
