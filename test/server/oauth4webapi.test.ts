import * as oauth from 'oauth4webapi'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {REDIRECT, VERIFIER, WEB_SECRET, approveDevice, issueCode, startTestServer, type TestServer} from './harness.js'

/** oauth4webapi refuses plain http unless told; the server listens on loopback. */
const insecure = {[oauth.allowInsecureRequests]: true} as const

let server: TestServer
let as: oauth.AuthorizationServer

beforeAll(async () => {
  server = await startTestServer()
  const issuer = new URL(server.issuer)
  as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, {algorithm: 'oidc', ...insecure}),
  )
})
afterAll(() => server.close())

describe('a real OAuth client (oauth4webapi) against the server', () => {
  it('discovery: the metadata validates and names every endpoint', () => {
    expect(as.issuer).toBe(server.issuer)
    expect(as.token_endpoint).toBe(`${server.issuer}/oauth/token`)
    expect(as.device_authorization_endpoint).toBe(`${server.issuer}/oauth/device/code`)
    expect(as.revocation_endpoint).toBe(`${server.issuer}/oauth/revoke`)
    expect(as.introspection_endpoint).toBe(`${server.issuer}/oauth/introspect`)
    expect(as.userinfo_endpoint).toBe(`${server.issuer}/oauth/userinfo`)
  })

  it('client credentials (client_secret_basic), then introspection and revocation', async () => {
    const client: oauth.Client = {client_id: 'svc'}
    const auth = oauth.ClientSecretBasic('svc-secret')
    const response = await oauth.clientCredentialsGrantRequest(
      as,
      client,
      auth,
      new URLSearchParams({scope: 'read'}),
      insecure,
    )
    const tokens = await oauth.processClientCredentialsResponse(as, client, response)
    expect(tokens).toMatchObject({token_type: 'bearer', scope: 'read'})
    expect(tokens.refresh_token).toBeUndefined()

    const active = await oauth.processIntrospectionResponse(
      as,
      client,
      await oauth.introspectionRequest(as, client, auth, tokens.access_token, insecure),
    )
    expect(active).toMatchObject({active: true, client_id: 'svc', sub: 'svc', scope: 'read', token_type: 'Bearer'})

    await oauth.processRevocationResponse(
      await oauth.revocationRequest(as, client, auth, tokens.access_token, insecure),
    )
    const inactive = await oauth.processIntrospectionResponse(
      as,
      client,
      await oauth.introspectionRequest(as, client, auth, tokens.access_token, insecure),
    )
    expect(inactive).toEqual({active: false})
  })

  it('authorization code + PKCE + OpenID Connect (client_secret_post), refresh rotation and replay, userinfo', async () => {
    const client: oauth.Client = {client_id: 'web'}
    const auth = oauth.ClientSecretPost(WEB_SECRET)
    const nonce = oauth.generateRandomNonce()
    const {code} = issueCode(server, {scopes: ['openid', 'profile', 'email', 'read'], nonce})
    const callback = new URL(`${REDIRECT}?code=${encodeURIComponent(code)}&iss=${encodeURIComponent(server.issuer)}`)
    const params = oauth.validateAuthResponse(as, client, callback, oauth.expectNoState)
    const response = await oauth.authorizationCodeGrantRequest(as, client, auth, params, REDIRECT, VERIFIER, insecure)
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, response, {
      expectedNonce: nonce,
      requireIdToken: true,
    })
    const idClaims = oauth.getValidatedIdTokenClaims(tokens)!
    expect(idClaims).toMatchObject({
      sub: 'alice',
      aud: 'web',
      nonce,
      name: 'Alice Example',
      email: 'alice@example.test',
    })

    const info = await oauth.processUserInfoResponse(
      as,
      client,
      'alice',
      await oauth.userInfoRequest(as, client, tokens.access_token, insecure),
    )
    expect(info).toMatchObject({sub: 'alice', name: 'Alice Example', email: 'alice@example.test', email_verified: true})

    const refreshed = await oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(as, client, auth, tokens.refresh_token!, insecure),
    )
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token)
    expect(oauth.getValidatedIdTokenClaims(refreshed)!.sub).toBe('alice')

    const replay = oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(as, client, auth, tokens.refresh_token!, insecure),
    )
    await expect(replay).rejects.toMatchObject({error: 'invalid_grant', status: 400})
    // The replay revoked the family: the successor is dead too.
    const afterReplay = oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(as, client, auth, refreshed.refresh_token!, insecure),
    )
    await expect(afterReplay).rejects.toMatchObject({error: 'invalid_grant'})
    const userinfoAfter = oauth.processUserInfoResponse(
      as,
      client,
      'alice',
      await oauth.userInfoRequest(as, client, refreshed.access_token, insecure),
    )
    await expect(userinfoAfter).rejects.toBeInstanceOf(oauth.WWWAuthenticateChallengeError)
  })

  it('device flow for a public client: pending, slow_down, approval, tokens once', async () => {
    const client: oauth.Client = {client_id: 'tv'}
    const auth = oauth.None()
    const start = await oauth.processDeviceAuthorizationResponse(
      as,
      client,
      await oauth.deviceAuthorizationRequest(as, client, auth, {scope: 'read'}, insecure),
    )
    expect(start).toMatchObject({verification_uri: `${server.issuer}/oauth/device`, expires_in: 600, interval: 5})
    const pollOnce = async () =>
      oauth.processDeviceCodeResponse(
        as,
        client,
        await oauth.deviceCodeGrantRequest(as, client, auth, start.device_code, insecure),
      )
    await expect(pollOnce()).rejects.toMatchObject({error: 'authorization_pending'})
    await expect(pollOnce()).rejects.toMatchObject({error: 'slow_down'})
    approveDevice(server, start.user_code)
    const tokens = await pollOnce()
    expect(tokens).toMatchObject({token_type: 'bearer', scope: 'read'})
    expect(typeof tokens.refresh_token).toBe('string')
    await expect(pollOnce()).rejects.toMatchObject({error: 'invalid_grant'})
  })

  it('client_secret_basic with a secret that needs form-encoding', async () => {
    const client: oauth.Client = {client_id: 'web'}
    const {code} = issueCode(server)
    const params = oauth.validateAuthResponse(
      as,
      client,
      new URL(`${REDIRECT}?code=${encodeURIComponent(code)}&iss=${encodeURIComponent(server.issuer)}`),
      oauth.expectNoState,
    )
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      client,
      oauth.ClientSecretBasic(WEB_SECRET),
      params,
      REDIRECT,
      VERIFIER,
      insecure,
    )
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, response)
    expect(tokens.scope).toBe('read')
  })
})
