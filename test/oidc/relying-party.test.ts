import {decodeProtectedHeader} from 'jose'
import * as client from 'openid-client'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {
  AUTO,
  WEB,
  atHash,
  authorizationUrl,
  relyingParty,
  startOidcServer,
  type OidcServer,
  type StartedLogin,
} from './harness.js'

/**
 * openid-client v6 as a real Relying Party against `passport serve --login-as alice
 * --auto-approve` (in-process): the authorization code flow runs with no browser at all.
 */

let server: OidcServer
let web: client.Configuration

beforeAll(async () => {
  server = await startOidcServer({loginAs: 'alice', autoApprove: true})
  web = await relyingParty(server, WEB.id, WEB.secret)
})
afterAll(() => server.close())

/** One GET of the authorization URL: the headless mode answers with the redirect to the callback. */
async function callback(login: StartedLogin): Promise<URL> {
  const res = await fetch(login.url, {redirect: 'manual'})
  expect(res.status).toBe(302)
  return new URL(res.headers.get('location')!)
}

async function signIn(scope: string, extra: Record<string, string> = {}, config = web, redirect = WEB.redirect) {
  const login = await authorizationUrl(config, redirect, {scope, ...extra})
  const tokens = await client.authorizationCodeGrant(config, await callback(login), {
    pkceCodeVerifier: login.verifier,
    expectedNonce: login.nonce,
    expectedState: login.state,
    idTokenExpected: true,
  })
  return {login, tokens, claims: tokens.claims()!}
}

/** The claims beyond the id token's protocol claims. */
function userPart(claims: Record<string, unknown>): Record<string, unknown> {
  const {
    iss: _iss,
    aud: _aud,
    exp: _exp,
    iat: _iat,
    auth_time: _authTime,
    nonce: _nonce,
    at_hash: _atHash,
    azp: _azp,
    ...rest
  } = claims
  return rest
}

describe('discovery', () => {
  it('lists exactly what passport supports', () => {
    const meta = web.serverMetadata()
    expect(meta.issuer).toBe(server.issuer)
    expect(meta).toMatchObject({
      authorization_endpoint: `${server.issuer}/oauth/authorize`,
      token_endpoint: `${server.issuer}/oauth/token`,
      userinfo_endpoint: `${server.issuer}/oauth/userinfo`,
      end_session_endpoint: `${server.issuer}/oauth/end_session`,
      jwks_uri: `${server.issuer}/.well-known/jwks.json`,
      scopes_supported: ['openid', 'profile', 'email', 'offline_access', 'read', 'groups'],
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
      code_challenge_methods_supported: ['S256'],
      prompt_values_supported: ['none', 'login', 'consent', 'select_account'],
      request_uri_parameter_supported: false,
    })
    expect(meta.claims_supported).toEqual(
      expect.arrayContaining([
        'sub',
        'iss',
        'aud',
        'exp',
        'iat',
        'auth_time',
        'nonce',
        'at_hash',
        'azp',
        'name',
        'given_name',
        'preferred_username',
        'email',
        'email_verified',
        'role',
        'groups',
        'tenant',
      ]),
    )
    expect(meta.claims_supported).not.toContain('phone_number')
    expect(new Set(meta.claims_supported).size).toBe(meta.claims_supported!.length)
  })

  it('says nothing more: the exact set of metadata fields, the same at both well-known addresses', async () => {
    const oidc = (await (await fetch(`${server.url}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >
    const oauth = (await (await fetch(`${server.url}/.well-known/oauth-authorization-server`)).json()) as Record<
      string,
      unknown
    >
    expect(oauth).toEqual(oidc)
    expect(Object.keys(oidc).sort()).toEqual([
      'authorization_endpoint',
      'authorization_response_iss_parameter_supported',
      'claims_supported',
      'client_id_metadata_document_supported',
      'code_challenge_methods_supported',
      'device_authorization_endpoint',
      'dpop_signing_alg_values_supported',
      'end_session_endpoint',
      'grant_types_supported',
      'id_token_signing_alg_values_supported',
      'introspection_endpoint',
      'introspection_endpoint_auth_methods_supported',
      'introspection_endpoint_auth_signing_alg_values_supported',
      'issuer',
      'jwks_uri',
      'prompt_values_supported',
      'pushed_authorization_request_endpoint',
      'registration_endpoint',
      'request_uri_parameter_supported',
      'response_modes_supported',
      'response_types_supported',
      'revocation_endpoint',
      'revocation_endpoint_auth_methods_supported',
      'revocation_endpoint_auth_signing_alg_values_supported',
      'scopes_supported',
      'subject_types_supported',
      'token_endpoint',
      'token_endpoint_auth_methods_supported',
      'token_endpoint_auth_signing_alg_values_supported',
      'userinfo_endpoint',
    ])
  })
})

describe('authorization code + PKCE + nonce, headless (--login-as alice --auto-approve)', () => {
  it('the id token validates in openid-client (signature, iss, aud, nonce) and carries at_hash, auth_time, azp', async () => {
    const {login, tokens, claims} = await signIn('openid profile email')
    expect(decodeProtectedHeader(tokens.id_token!)).toMatchObject({alg: 'RS256', typ: 'JWT'})
    expect(claims).toMatchObject({iss: server.issuer, sub: 'alice', aud: WEB.id, azp: WEB.id, nonce: login.nonce})
    expect(claims.at_hash).toBe(atHash(tokens.access_token))
    expect(typeof claims.auth_time).toBe('number')
    expect(claims.exp - claims.iat).toBe(3600)
    expect(tokens.scope).toBe('openid profile email')
  })

  it('the library refuses an id token whose signature or nonce is wrong', async () => {
    // A signature swapped in from another valid id token: the library's JWKS check fails.
    const other = (await signIn('openid')).tokens.id_token!
    const tampering = await relyingParty(server, WEB.id, WEB.secret)
    tampering[client.customFetch] = async (url, options) => {
      const res = await fetch(url, options as RequestInit)
      if (!String(url).endsWith('/oauth/token')) return res
      const body = (await res.json()) as {id_token: string}
      body.id_token = `${body.id_token.split('.').slice(0, 2).join('.')}.${other.split('.')[2]}`
      return new Response(JSON.stringify(body), {status: res.status, headers: res.headers})
    }
    const login = await authorizationUrl(tampering, WEB.redirect, {scope: 'openid'})
    const error = await client
      .authorizationCodeGrant(tampering, await callback(login), {
        pkceCodeVerifier: login.verifier,
        expectedNonce: login.nonce,
        expectedState: login.state,
      })
      .catch((e: unknown) => e)
    expect((error as Error & {cause?: Error}).cause?.message).toBe('JWT signature verification failed')
    const wrongNonce = await authorizationUrl(web, WEB.redirect, {scope: 'openid'})
    const nonceError = await client
      .authorizationCodeGrant(web, await callback(wrongNonce), {
        pkceCodeVerifier: wrongNonce.verifier,
        expectedNonce: 'another-nonce',
        expectedState: wrongNonce.state,
      })
      .catch((e: unknown) => e)
    expect((nonceError as Error & {cause?: Error}).cause?.message ?? (nonceError as Error).message).toMatch(/nonce/)
  })

  it('claims per scope, exactly: openid → sub; + profile; + email; groups only with its scope', async () => {
    const openid = await signIn('openid')
    expect(userPart(openid.claims)).toEqual({sub: 'alice'})
    const profile = await signIn('openid profile')
    expect(userPart(profile.claims)).toEqual({
      sub: 'alice',
      name: 'Alice Example',
      given_name: 'Alice',
      preferred_username: 'ally',
      role: 'admin',
    })
    const email = await signIn('openid email')
    expect(userPart(email.claims)).toEqual({sub: 'alice', email: 'alice@example.test', email_verified: true})
    const groups = await signIn('openid groups')
    expect(userPart(groups.claims)).toEqual({sub: 'alice', groups: ['dev', 'ops']})
    const all = await signIn('openid profile email groups read')
    expect(userPart(all.claims)).toEqual({
      sub: 'alice',
      name: 'Alice Example',
      given_name: 'Alice',
      preferred_username: 'ally',
      role: 'admin',
      email: 'alice@example.test',
      email_verified: true,
      groups: ['dev', 'ops'],
    })
  })

  it('userinfo through the library returns the same claims as the id token, per scope', async () => {
    for (const scope of ['openid', 'openid profile', 'openid email', 'openid groups', 'openid profile email groups']) {
      const {tokens, claims} = await signIn(scope)
      const info = await client.fetchUserInfo(web, tokens.access_token, 'alice')
      expect({scope, info}).toEqual({scope, info: userPart(claims)})
    }
  })

  it('a claim mapped to openid comes with openid alone; email_verified defaults to false', async () => {
    const {tokens, claims} = await signIn('openid', {login_hint: 'bob'})
    expect(userPart(claims)).toEqual({sub: 'bob', tenant: 'acme'})
    expect(await client.fetchUserInfo(web, tokens.access_token, 'bob')).toEqual({sub: 'bob', tenant: 'acme'})
    const email = await signIn('openid email', {login_hint: 'bob'})
    expect(userPart(email.claims)).toEqual({
      sub: 'bob',
      tenant: 'acme',
      email: 'bob@example.test',
      email_verified: false,
    })
  })

  it('an ad-hoc user (login_hint not in the configuration) has only sub, whatever the scopes', async () => {
    const {tokens, claims} = await signIn('openid profile email groups', {login_hint: 'carol@example.test'})
    expect(userPart(claims)).toEqual({sub: 'carol@example.test'})
    expect(await client.fetchUserInfo(web, tokens.access_token, 'carol@example.test')).toEqual({
      sub: 'carol@example.test',
    })
  })

  it('a refresh returns a new id token: same sub, aud, azp and auth_time, newer iat, same nonce; it validates in the library', async () => {
    const {tokens, claims} = await signIn('openid profile offline_access')
    const refreshed = await client.refreshTokenGrant(web, tokens.refresh_token!)
    expect(refreshed.id_token).toBeDefined()
    expect(refreshed.id_token).not.toBe(tokens.id_token)
    const again = refreshed.claims()!
    expect(again).toMatchObject({
      iss: server.issuer,
      sub: 'alice',
      aud: WEB.id,
      azp: WEB.id,
      auth_time: claims.auth_time,
      name: 'Alice Example',
    })
    expect(again.at_hash).toBe(atHash(refreshed.access_token))
    // OIDC Core §12.2 allows either; passport keeps the original nonce (as node-oidc-provider does).
    expect(again.nonce).toBe(claims.nonce)
    expect(again.iat).toBeGreaterThanOrEqual(claims.iat)
    // A narrower refresh scope narrows the claims too.
    const narrowed = await client.refreshTokenGrant(web, refreshed.refresh_token!, {scope: 'openid'})
    expect(userPart(narrowed.claims()!)).toEqual({sub: 'alice'})
  })

  it('max_age and prompt=login under --login-as: a new sign-in happens at once, so auth_time is fresh and within max_age', async () => {
    const {claims} = await signIn('openid', {max_age: '0'})
    const now = Math.floor(Date.now() / 1000)
    expect(claims.auth_time).toBeLessThanOrEqual(now)
    expect(claims.auth_time).toBeGreaterThanOrEqual(claims.iat - 1)
    const login = await signIn('openid', {prompt: 'login'})
    expect(login.claims.auth_time).toBeGreaterThanOrEqual(login.claims.iat - 1)
    // The library's own max_age check passes (auth_time is required and recent).
    const start = await authorizationUrl(web, WEB.redirect, {scope: 'openid', max_age: '60'})
    const tokens = await client.authorizationCodeGrant(web, await callback(start), {
      pkceCodeVerifier: start.verifier,
      expectedNonce: start.nonce,
      expectedState: start.state,
      maxAge: 60,
    })
    expect(tokens.claims()!.sub).toBe('alice')
  })
})

describe('userinfo refuses what is not a user access token', () => {
  it('an id token as bearer → 401 invalid_token', async () => {
    const {tokens} = await signIn('openid profile')
    const res = await fetch(web.serverMetadata().userinfo_endpoint!, {
      headers: {Authorization: `Bearer ${tokens.id_token}`},
    })
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toMatch(
      /^Bearer realm="passport", error="invalid_token", error_description="[^"]*id tokens are not accepted[^"]*"$/,
    )
    await expect(client.fetchUserInfo(web, tokens.id_token!, 'alice')).rejects.toMatchObject({
      code: 'OAUTH_WWW_AUTHENTICATE_CHALLENGE',
    })
  })

  it('a client-credentials token → 403 insufficient_scope', async () => {
    const svc = await relyingParty(server, 'svc', 'svc-secret-123')
    const tokens = await client.clientCredentialsGrant(svc, {scope: 'read'})
    expect(tokens.id_token).toBeUndefined()
    const res = await fetch(svc.serverMetadata().userinfo_endpoint!, {
      headers: {Authorization: `Bearer ${tokens.access_token}`},
    })
    expect(res.status).toBe(403)
    expect(res.headers.get('www-authenticate')).toMatch(/error="insufficient_scope"/)
    expect(await res.json()).toMatchObject({error: 'insufficient_scope'})
  })

  it('an access token without openid → 403 insufficient_scope, and no id token was issued', async () => {
    const login = await authorizationUrl(web, WEB.redirect, {scope: 'read'})
    const tokens = await client.authorizationCodeGrant(web, await callback(login), {
      pkceCodeVerifier: login.verifier,
      expectedState: login.state,
    })
    expect(tokens.id_token).toBeUndefined()
    const res = await fetch(web.serverMetadata().userinfo_endpoint!, {
      headers: {Authorization: `Bearer ${tokens.access_token}`},
    })
    expect(res.status).toBe(403)
    expect(res.headers.get('www-authenticate')).toMatch(
      /error="insufficient_scope", error_description="[^"]*", scope="openid"/,
    )
  })
})

describe('RP-initiated logout (end_session_endpoint)', () => {
  it('id_token_hint + a registered post_logout_redirect_uri → redirect there with state', async () => {
    const {tokens} = await signIn('openid')
    const url = client.buildEndSessionUrl(web, {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: 'http://localhost:3000/signed-out',
      state: 'bye-1',
    })
    expect(url.href.startsWith(`${server.issuer}/oauth/end_session?`)).toBe(true)
    const res = await fetch(url, {redirect: 'manual'})
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('http://localhost:3000/signed-out?state=bye-1')
  })

  it('client_id alone identifies the client; the exact redirect URI counts as registered; POST answers 303', async () => {
    const res = await fetch(`${server.issuer}/oauth/end_session`, {
      method: 'POST',
      headers: {'Content-Type': 'application/x-www-form-urlencoded'},
      body: new URLSearchParams({client_id: AUTO.id, post_logout_redirect_uri: AUTO.redirect}).toString(),
      redirect: 'manual',
    })
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe(AUTO.redirect)
  })

  it('checklist 151: an unregistered post_logout_redirect_uri → 400 invalid_request, an HTML error page for browsers and JSON for API callers, no redirect', async () => {
    const {tokens} = await signIn('openid')
    for (const uri of [
      'http://evil.test/cb',
      'http://localhost:3001/signed-out',
      'https://localhost:3000/signed-out',
      AUTO.redirect,
    ]) {
      const res = await fetch(
        client.buildEndSessionUrl(web, {id_token_hint: tokens.id_token!, post_logout_redirect_uri: uri, state: 's'}),
        {redirect: 'manual', headers: {accept: 'text/html'}},
      )
      expect(res.status).toBe(400)
      expect(res.headers.get('location')).toBeNull()
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
      const html = await res.text()
      expect(html).toContain('<h1>Sign-out refused</h1>')
      expect(html).toContain(`post_logout_redirect_uri ${uri} is not registered for client web`)
    }
    const json = await fetch(
      client.buildEndSessionUrl(web, {
        id_token_hint: tokens.id_token!,
        post_logout_redirect_uri: 'http://evil.test/cb',
      }),
      {redirect: 'manual', headers: {accept: 'application/json'}},
    )
    expect(json.status).toBe(400)
    expect(await json.json()).toEqual({
      error: 'invalid_request',
      error_description:
        'post_logout_redirect_uri http://evil.test/cb is not registered for client web: it must be exactly one of its postLogoutRedirectUris or redirect URIs (http://localhost:3000/signed-out, http://localhost:3000/callback). Nobody was signed out. Send a post_logout_redirect_uri registered for the client, with its client_id or an id_token_hint, or none to see the signed-out page; register one with passport client NAME --post-logout-redirect-uri URI, postLogoutRedirectUris in the configuration or post_logout_redirect_uris at registration.',
    })
  })

  it('checklist 138: only an exact registered post-logout URI is followed, no other path on the origin, no other loopback port or path', async () => {
    const cases: [string, string][] = [
      ['web', 'http://localhost:3000/'],
      ['web', 'http://localhost:3000/signed-out/'],
      ['web', 'http://localhost:3000/signed-out?next=http://evil.test'],
      ['web', 'http://localhost:3000/callback/../evil'],
      ['spa', 'http://127.0.0.1:9999/cb'],
      ['spa', 'http://127.0.0.1/elsewhere'],
      ['auto', 'http://localhost:4000/cb2'],
    ]
    for (const [clientId, uri] of cases) {
      const res = await fetch(
        `${server.issuer}/oauth/end_session?${new URLSearchParams({client_id: clientId, post_logout_redirect_uri: uri, state: 's'})}`,
        {redirect: 'manual'},
      )
      expect(res.status).toBe(400)
      expect(res.headers.get('location')).toBeNull()
      expect(await res.text()).toContain(
        `post_logout_redirect_uri ${uri.replaceAll('&', '&amp;')} is not registered for client ${clientId}: it must be exactly one of`,
      )
    }
    for (const [clientId, uri] of [
      ['spa', 'http://127.0.0.1/cb'],
      ['web', 'http://localhost:3000/callback'],
      ['web', 'http://localhost:3000/signed-out'],
      ['auto', 'http://localhost:4000/'],
    ]) {
      const res = await fetch(
        `${server.issuer}/oauth/end_session?${new URLSearchParams({client_id: clientId!, post_logout_redirect_uri: uri!})}`,
        {redirect: 'manual'},
      )
      expect(res.status).toBe(302)
      expect(res.headers.get('location')).toBe(uri)
    }
  })

  it('checklist 151: a post_logout_redirect_uri without client_id or id_token_hint, with an unknown client, or with a hint that is not an id token → 400, not followed', async () => {
    const {tokens} = await signIn('openid')
    const cases: {params: Record<string, string>; says: string}[] = [
      {params: {post_logout_redirect_uri: WEB.redirect}, says: 'only followed when the request names its client'},
      {
        params: {id_token_hint: tokens.access_token, post_logout_redirect_uri: WEB.redirect},
        says: 'The id_token_hint is not an id token (its typ is not JWT).',
      },
      {
        params: {id_token_hint: `${tokens.id_token!.slice(0, -4)}AAAA`, post_logout_redirect_uri: WEB.redirect},
        says: 'not an id token signed by this authority',
      },
      {
        params: {id_token_hint: tokens.id_token!, client_id: AUTO.id, post_logout_redirect_uri: AUTO.redirect},
        says: 'client_id auto is not the audience of the id_token_hint.',
      },
      {params: {client_id: 'nobody', post_logout_redirect_uri: WEB.redirect}, says: 'No client with id nobody.'},
    ]
    for (const {params, says} of cases) {
      const res = await fetch(`${server.issuer}/oauth/end_session?${new URLSearchParams(params)}`, {redirect: 'manual'})
      expect(res.status).toBe(400)
      expect(res.headers.get('location')).toBeNull()
      expect(await res.text()).toContain(says)
    }
  })

  it('a repeated parameter → 400', async () => {
    const res = await fetch(`${server.issuer}/oauth/end_session?state=a&state=b`, {redirect: 'manual'})
    expect(res.status).toBe(400)
  })
})
