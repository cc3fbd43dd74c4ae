import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {CHALLENGE, VERIFIER, authorize, postForm, postJson, startMcpServer, type McpServer} from './support.js'

// SPEC §10.3: loopback redirect URIs match on any port (RFC 8252 §7.3); nothing else changes.

let server: McpServer
beforeAll(async () => {
  server = await startMcpServer({
    config: {
      clients: [
        {
          id: 'native',
          name: 'Native',
          redirectUris: [
            'http://localhost/cb',
            'http://127.0.0.1:3000/cb?x=1',
            'http://[::1]/cb',
            'https://localhost:8443/cb',
            'http://app.example.test:3000/cb',
          ],
        },
      ],
    },
  })
})
afterAll(() => server.close())

const request = (redirect: string, client = 'native') => ({
  response_type: 'code',
  client_id: client,
  redirect_uri: redirect,
  code_challenge: CHALLENGE,
  code_challenge_method: 'S256',
  state: 'st',
})

async function accepted(redirect: string, client = 'native'): Promise<string> {
  const reply = await authorize(server, request(redirect, client))
  expect(reply.status, `${redirect}: ${reply.text.slice(0, 200)}`).toBe(302)
  expect(reply.location!.toString().startsWith(redirect)).toBe(true)
  return reply.location!.searchParams.get('code')!
}

async function refused(redirect: string): Promise<void> {
  const reply = await authorize(server, request(redirect))
  expect(reply.status, redirect).toBe(400)
  expect(reply.location).toBeUndefined()
  expect(reply.text).toContain('is not registered for client native')
}

describe('loopback redirect URIs', () => {
  it('checklist 123: http on localhost, 127.0.0.1 and [::1] matches on any port (or none), path and query exact', async () => {
    for (const uri of [
      'http://localhost:53123/cb',
      'http://localhost/cb',
      'http://localhost:1/cb',
      'http://127.0.0.1:49152/cb?x=1',
      'http://127.0.0.1/cb?x=1',
      'http://[::1]:8080/cb',
    ])
      await accepted(uri)
  })

  it('checklist 123: scheme, host, path and query still match exactly; other hosts and https keep their port', async () => {
    for (const uri of [
      'http://localhost:53123/cb/',
      'http://localhost:53123/CB',
      'http://localhost:53123/cb?x=1',
      'http://LOCALHOST:53123/cb',
      'http://127.0.0.1:53123/cb',
      'http://127.0.0.1:53123/cb?x=2',
      'http://[::1]:8080/cb?y',
      'http://localhost.evil.test:53123/cb',
      'http://localhost:53123@evil.test/cb',
      'https://localhost:9443/cb',
      'http://app.example.test:3001/cb',
      'http://localhost:99999/cb',
    ]) {
      await refused(uri)
    }
    await accepted('https://localhost:8443/cb')
    // The http://localhost/cb registration covers it, on any port.
    await accepted('http://localhost:8443/cb')
    await accepted('http://app.example.test:3000/cb')
  })

  it('checklist 123: a registered MCP client with http://127.0.0.1/callback completes the flow from an ephemeral port', async () => {
    const registered = await postJson(server.endpoint('/register'), {
      redirect_uris: ['http://127.0.0.1/callback'],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
    })
    const clientId = registered.json.client_id as string
    const redirect = 'http://127.0.0.1:61234/callback'
    const code = await accepted(redirect, clientId)
    const tokens = await postForm(server.endpoint('/token'), {
      grant_type: 'authorization_code',
      client_id: clientId,
      code,
      redirect_uri: redirect,
      code_verifier: VERIFIER,
    })
    expect(tokens.status).toBe(200)
    // The token request repeats the redirect URI of the authorization request exactly.
    const again = await postForm(server.endpoint('/token'), {
      grant_type: 'authorization_code',
      client_id: clientId,
      code: await accepted(redirect, clientId),
      redirect_uri: 'http://127.0.0.1:61235/callback',
      code_verifier: VERIFIER,
    })
    expect(again.json).toEqual({
      error: 'invalid_grant',
      error_description: 'The redirect_uri differs from the one used in the authorization request.',
    })
  })
})
