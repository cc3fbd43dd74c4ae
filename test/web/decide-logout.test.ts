import {describe, expect, it} from 'vitest'

import {decideLogout, type LogoutOutcome, type ResolvedLogout} from '../../src/core/logout.js'
import {client} from '../fixtures/authorization.js'

/**
 * decideLogout without a server: every branch of what end_session does once the request is read
 * (RP-Initiated Logout 1.0 §2 and §3). test/oidc/session.test.ts and relying-party.test.ts run
 * the same decisions through the endpoint.
 */

const AFTER = 'http://localhost:3000/signed-out'
const web = client()
const REFUSED_FIX =
  'Nobody was signed out. Send a post_logout_redirect_uri registered for the client, with its client_id or an id_token_hint, or none to see the signed-out page; register one with passport client NAME --post-logout-redirect-uri URI, postLogoutRedirectUris in the configuration or post_logout_redirect_uris at registration.'
const NOT_REGISTERED = `post_logout_redirect_uri http://evil.test/cb is not registered for client web.`

interface Case {
  name: string
  resolved: ResolvedLogout
  postLogoutRedirectUri?: string
  confirmation?: boolean
  signedIn?: string
  autoApprove?: boolean
  expected: LogoutOutcome
}

const cases: Case[] = [
  // A post_logout_redirect_uri that cannot be followed: nobody is signed out.
  {
    name: 'unregistered post_logout_redirect_uri → refused with the reason',
    resolved: {client: web, problem: NOT_REGISTERED},
    postLogoutRedirectUri: 'http://evil.test/cb',
    signedIn: 'alice',
    expected: {kind: 'refused', title: 'Sign-out refused', message: NOT_REGISTERED, fix: REFUSED_FIX},
  },
  {
    name: 'refused even when confirmed, with a matching hint, or auto-approved',
    resolved: {client: web, hintSubject: 'alice', problem: NOT_REGISTERED},
    postLogoutRedirectUri: 'http://evil.test/cb',
    confirmation: true,
    signedIn: 'alice',
    autoApprove: true,
    expected: {kind: 'refused', title: 'Sign-out refused', message: NOT_REGISTERED, fix: REFUSED_FIX},
  },
  {
    name: 'not followed without a stated reason → refused with a general one',
    resolved: {},
    postLogoutRedirectUri: AFTER,
    expected: {
      kind: 'refused',
      title: 'Sign-out refused',
      message: 'The post_logout_redirect_uri cannot be followed.',
      fix: REFUSED_FIX,
    },
  },

  // Nobody signed in: nothing to confirm.
  {
    name: 'nobody signed in → sign-out, then the redirect',
    resolved: {client: web, redirectUri: AFTER},
    postLogoutRedirectUri: AFTER,
    expected: {kind: 'sign-out', redirectUri: AFTER, confirmed: false},
  },
  {
    name: 'nobody signed in, no redirect asked → the signed-out page',
    resolved: {},
    expected: {kind: 'sign-out', confirmed: false},
  },
  {
    name: 'an id_token_hint that did not verify, no redirect asked → the signed-out page (it shows the problem)',
    resolved: {problem: 'The id_token_hint is not a token of this authority.'},
    expected: {kind: 'sign-out', confirmed: false},
  },

  // Someone signed in.
  {
    name: 'signed in, id_token_hint for that user → sign-out without asking',
    resolved: {client: web, hintSubject: 'alice', redirectUri: AFTER},
    postLogoutRedirectUri: AFTER,
    signedIn: 'alice',
    expected: {kind: 'sign-out', redirectUri: AFTER, confirmed: false},
  },
  {
    name: 'signed in, no id_token_hint → confirm first',
    resolved: {client: web, redirectUri: AFTER},
    postLogoutRedirectUri: AFTER,
    signedIn: 'alice',
    expected: {kind: 'confirm', user: 'alice'},
  },
  {
    name: 'signed in, id_token_hint of another user → confirm first',
    resolved: {client: web, hintSubject: 'bob'},
    signedIn: 'alice',
    expected: {kind: 'confirm', user: 'alice'},
  },
  {
    name: 'signed in, the confirmation form posted → sign-out by confirmation (its CSRF token is checked)',
    resolved: {client: web, redirectUri: AFTER},
    postLogoutRedirectUri: AFTER,
    confirmation: true,
    signedIn: 'alice',
    expected: {kind: 'sign-out', redirectUri: AFTER, confirmed: true},
  },
  {
    name: 'signed in, --auto-approve → sign-out without asking',
    resolved: {},
    signedIn: 'alice',
    autoApprove: true,
    expected: {kind: 'sign-out', confirmed: false},
  },
  {
    name: 'nobody signed in, a confirmation posted anyway → sign-out, no confirmation needed',
    resolved: {},
    confirmation: true,
    expected: {kind: 'sign-out', confirmed: false},
  },
]

describe('decideLogout', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(
      decideLogout(
        c.resolved,
        {postLogoutRedirectUri: c.postLogoutRedirectUri, confirmation: c.confirmation ?? false},
        c.signedIn,
        {autoApprove: c.autoApprove},
      ),
    ).toEqual(c.expected)
  })
})
