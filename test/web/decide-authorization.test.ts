import {describe, expect, it} from 'vitest'

import {
  type AuthorizationOptions,
  type AuthorizationOutcome,
  type AuthorizationSession,
  decideAuthorization,
  loginAsSubject,
  rememberConsent,
  signRotatedSessionIn,
  signSessionIn,
} from '../../src/core/authorization/interaction.js'
import type {AuthorizationRequest} from '../../src/core/authorization/request.js'
import {DEMO_CLIENT_ID} from '../../src/core/clients.js'
import {CLIENT_ID_SUBJECT, client, request} from '../fixtures/authorization.js'

/**
 * decideAuthorization without a server: every branch of what GET /authorize does after the
 * request is valid (OIDC Core §3.1.2.1 prompt and max_age, --login-as, --auto-approve,
 * remembered consent). The HTTP tests (authorize-flows, authorize-checklist, oidc/session) run
 * the same decisions through the endpoint.
 */

const NOW = Date.UTC(2026, 0, 1, 12)
const MINUTE = 60_000

function session(overrides: Partial<AuthorizationSession> = {}): AuthorizationSession {
  return {userId: 'alice', authTime: NOW - 10 * MINUTE, consents: new Map(), ...overrides}
}

const local: AuthorizationOptions = {loopback: true}
const granted = (...scopes: string[]) => new Map([['web', new Set(scopes)]])
const alice = (authTime = NOW - 10 * MINUTE) => ({user: 'alice', authTime})

interface Case {
  name: string
  request?: Partial<AuthorizationRequest>
  session?: AuthorizationSession | undefined
  options?: Partial<AuthorizationOptions>
  expected: AuthorizationOutcome
}

const noSession =
  'No user is signed in: open this URL in a browser to sign in, or start passport serve with --login-as SUB.'

const cases: Case[] = [
  // Nobody signed in.
  {
    name: 'no session → sign-in page',
    session: undefined,
    expected: {kind: 'sign-in', error: 'login_required', description: noSession, purpose: 'to continue to Web App'},
  },
  {
    name: 'no session, login_hint → sign-in page prefilled',
    request: {loginHint: 'bob'},
    session: undefined,
    expected: {
      kind: 'sign-in',
      error: 'login_required',
      description: noSession,
      purpose: 'to continue to Web App',
      subject: 'bob',
    },
  },
  {
    name: 'session without a user → sign-in page',
    session: session({userId: undefined}),
    expected: {kind: 'sign-in', error: 'login_required', description: noSession, purpose: 'to continue to Web App'},
  },
  {
    name: 'prompt=none without session → login_required redirect',
    request: {prompt: ['none']},
    session: undefined,
    expected: {
      kind: 'redirect-error',
      error: 'login_required',
      description: 'No user is signed in and prompt=none forbids showing the sign-in page.',
    },
  },
  {
    name: 'prompt=none with auto-approve but no session → still login_required',
    request: {prompt: ['none']},
    session: undefined,
    options: {autoApprove: true},
    expected: {
      kind: 'redirect-error',
      error: 'login_required',
      description: 'No user is signed in and prompt=none forbids showing the sign-in page.',
    },
  },

  // Signed in: consent.
  {name: 'signed in, nothing granted → consent', expected: {kind: 'consent', signIn: alice()}},
  {
    name: 'remembered consent → issue',
    session: session({consents: granted('openid', 'profile', 'email')}),
    expected: {kind: 'issue', signIn: alice()},
  },
  {
    name: 'remembered consent for fewer scopes → consent',
    session: session({consents: granted('openid')}),
    expected: {kind: 'consent', signIn: alice()},
  },
  {
    name: 'consent remembered for another client → consent',
    session: session({consents: new Map([['other', new Set(['openid', 'profile'])]])}),
    expected: {kind: 'consent', signIn: alice()},
  },
  {
    name: 'remembered consent but prompt=consent → consent',
    request: {prompt: ['consent']},
    session: session({consents: granted('openid', 'profile')}),
    expected: {kind: 'consent', signIn: alice()},
  },
  {name: '--auto-approve → issue', options: {autoApprove: true}, expected: {kind: 'issue', signIn: alice()}},
  {
    name: "client's autoApprove → issue",
    request: {client: client({autoApprove: true})},
    expected: {kind: 'issue', signIn: alice()},
  },
  {
    name: 'prompt=none, not yet approved → consent_required redirect',
    request: {prompt: ['none']},
    expected: {
      kind: 'redirect-error',
      error: 'consent_required',
      description: 'The user has not approved client web and prompt=none forbids showing the consent page.',
      signIn: alice(),
    },
  },
  {
    name: 'prompt=none with remembered consent → issue',
    request: {prompt: ['none']},
    session: session({consents: granted('openid', 'profile')}),
    expected: {kind: 'issue', signIn: alice()},
  },
  {
    name: 'signed in without a recorded time → issue at now',
    options: {autoApprove: true},
    session: session({authTime: undefined}),
    expected: {kind: 'issue', signIn: {user: 'alice', authTime: NOW}},
  },

  // Signed in, but the request asks for a new sign-in.
  {
    name: 'prompt=login → sign-in again, prefilled with the user',
    request: {prompt: ['login']},
    expected: {
      kind: 'sign-in',
      error: 'login_required',
      description: 'The request asks for a new sign-in (prompt=login): open this URL in a browser to sign in again.',
      purpose: 'again to continue to Web App',
      subject: 'alice',
    },
  },
  {
    name: 'prompt=login just after the sign-in form → consent (no loop)',
    request: {prompt: ['login']},
    session: session({justSignedIn: true}),
    expected: {kind: 'consent', signIn: alice()},
  },
  {
    name: 'prompt=select_account → sign-in page as account chooser, prefilled with login_hint',
    request: {prompt: ['select_account'], loginHint: 'bob'},
    expected: {
      kind: 'sign-in',
      error: 'login_required',
      description:
        'The request asks the user to choose an account (prompt=select_account): open this URL in a browser to sign in again.',
      purpose: 'with the account to use for Web App',
      subject: 'bob',
    },
  },
  {
    name: 'max_age exceeded → sign-in',
    request: {maxAge: 300},
    expected: {
      kind: 'sign-in',
      error: 'login_required',
      description: 'The sign-in is older than max_age=300 seconds: open this URL in a browser to sign in again.',
      purpose: 'again (your last sign-in is too old) to continue to Web App',
      subject: 'alice',
    },
  },
  {name: 'max_age not exceeded → consent', request: {maxAge: 600}, expected: {kind: 'consent', signIn: alice()}},
  {
    name: 'max_age exactly reached → consent',
    request: {maxAge: 600},
    session: session({authTime: NOW - 600_000}),
    expected: {kind: 'consent', signIn: alice(NOW - 600_000)},
  },
  {
    name: 'max_age=0 → sign-in even when signed in this millisecond',
    request: {maxAge: 0},
    session: session({authTime: NOW}),
    expected: {
      kind: 'sign-in',
      error: 'login_required',
      description: 'The sign-in is older than max_age=0 seconds: open this URL in a browser to sign in again.',
      purpose: 'again (your last sign-in is too old) to continue to Web App',
      subject: 'alice',
    },
  },
  {
    name: 'max_age exceeded just after the sign-in form → issue with remembered consent',
    request: {maxAge: 60},
    session: session({justSignedIn: true, consents: granted('openid', 'profile')}),
    expected: {kind: 'issue', signIn: alice()},
  },
  {
    name: 'max_age exceeded with prompt=none → login_required redirect',
    request: {maxAge: 60, prompt: ['none']},
    expected: {
      kind: 'redirect-error',
      error: 'login_required',
      description: 'The sign-in is older than max_age=60 seconds and prompt=none forbids showing the sign-in page.',
    },
  },
  {
    name: 'a signed-in subject equal to the client id → sign-in page with the problem (400)',
    session: session({userId: 'web'}),
    expected: {
      kind: 'sign-in',
      error: 'invalid_request',
      description: `The signed-in user cannot use client web: ${CLIENT_ID_SUBJECT}`,
      purpose: 'with another subject to continue to Web App',
      problem: CLIENT_ID_SUBJECT,
    },
  },

  // --login-as.
  {
    name: '--login-as without session → consent for that subject, signed in now',
    session: undefined,
    options: {loginAs: 'carol'},
    expected: {kind: 'consent', signIn: {user: 'carol', authTime: NOW}},
  },
  {
    name: '--login-as and --auto-approve → issue, no browser needed',
    session: undefined,
    options: {loginAs: 'carol', autoApprove: true},
    expected: {kind: 'issue', signIn: {user: 'carol', authTime: NOW}},
  },
  {
    name: 'login_hint overrides --login-as',
    request: {loginHint: 'dave'},
    session: undefined,
    options: {loginAs: 'carol', autoApprove: true},
    expected: {kind: 'issue', signIn: {user: 'dave', authTime: NOW}},
  },
  {
    name: '--login-as keeps the sign-in time of the same user',
    options: {loginAs: 'alice'},
    expected: {kind: 'consent', signIn: alice()},
  },
  {
    name: '--login-as uses the consent remembered for the same user',
    session: session({consents: granted('openid', 'profile')}),
    options: {loginAs: 'alice'},
    expected: {kind: 'issue', signIn: alice()},
  },
  {
    name: "--login-as as another user ignores the session's consents and time",
    session: session({consents: granted('openid', 'profile')}),
    options: {loginAs: 'carol'},
    expected: {kind: 'consent', signIn: {user: 'carol', authTime: NOW}},
  },
  {
    name: '--login-as with prompt=login signs in again now, without a page',
    request: {prompt: ['login']},
    options: {loginAs: 'alice'},
    expected: {kind: 'consent', signIn: alice(NOW)},
  },
  {
    name: '--login-as with max_age exceeded signs in again now',
    request: {maxAge: 60},
    options: {loginAs: 'alice', autoApprove: true},
    expected: {kind: 'issue', signIn: alice(NOW)},
  },
  {
    name: '--login-as with prompt=none and no consent → consent_required',
    request: {prompt: ['none']},
    session: undefined,
    options: {loginAs: 'carol'},
    expected: {
      kind: 'redirect-error',
      error: 'consent_required',
      description: 'The user has not approved client web and prompt=none forbids showing the consent page.',
      signIn: {user: 'carol', authTime: NOW},
    },
  },
  {
    name: '--login-as with a login_hint equal to the client id → invalid_request redirect',
    request: {loginHint: 'web'},
    options: {loginAs: 'carol', autoApprove: true},
    expected: {
      kind: 'redirect-error',
      error: 'invalid_request',
      description: `login_hint cannot be used as a subject: ${CLIENT_ID_SUBJECT}`,
    },
  },

  // The dashboard's demo client.
  {
    name: 'demo client from another machine → 403 page',
    request: {client: client({id: DEMO_CLIENT_ID, name: 'Try it'})},
    options: {loopback: false, autoApprove: true},
    expected: {
      kind: 'page-error',
      status: 403,
      error: 'unauthorized_client',
      title: 'Demo client is local only',
      message: `The built-in client ${DEMO_CLIENT_ID} (the dashboard's "Try it") works only from this machine.`,
      fix: 'Use a client of your own from other machines.',
    },
  },
  {
    name: 'demo client from this machine → decided as any client',
    request: {client: client({id: DEMO_CLIENT_ID, name: 'Try it'})},
    options: {autoApprove: true},
    expected: {kind: 'issue', signIn: alice()},
  },
  {
    name: 'another client from another machine → decided as usual',
    options: {loopback: false},
    expected: {kind: 'consent', signIn: alice()},
  },
]

describe('decideAuthorization', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const chosen = 'session' in c ? c.session : session()
    expect(decideAuthorization(request(c.request), chosen, {...local, ...c.options}, NOW)).toEqual(c.expected)
  })

  it('reads the session and request without changing them', () => {
    const s = session({consents: granted('openid'), justSignedIn: true})
    const r = request({prompt: ['login'], maxAge: 0})
    const before = JSON.stringify({s: {...s, consents: [...s.consents].map(([k, v]) => [k, [...v]])}, r})
    decideAuthorization(r, s, {loopback: true, loginAs: 'alice'}, NOW)
    decideAuthorization(r, s, {loopback: true}, NOW)
    expect(JSON.stringify({s: {...s, consents: [...s.consents].map(([k, v]) => [k, [...v]])}, r})).toBe(before)
  })
})

describe('loginAsSubject', () => {
  it('is the login_hint, else the --login-as subject, with a problem when it cannot be used with the client', () => {
    expect(loginAsSubject(request(), 'carol')).toEqual({user: 'carol', problem: undefined})
    expect(loginAsSubject(request({loginHint: 'dave'}), 'carol')).toEqual({user: 'dave', problem: undefined})
    expect(loginAsSubject(request({loginHint: 'web'}), 'carol').problem).toBe(
      `login_hint cannot be used as a subject: ${CLIENT_ID_SUBJECT}`,
    )
  })
})

describe('signSessionIn', () => {
  it('the same user again: only the sign-in time changes, consents and claims stay', () => {
    const s = {userId: 'alice', authTime: 1, loginClaims: {acr: 'x'}, consents: granted('openid')}
    signSessionIn(s, 'alice', 2)
    expect(s).toEqual({userId: 'alice', authTime: 2, loginClaims: {acr: 'x'}, consents: granted('openid')})
  })

  it("another user: the previous user's consents and sign-in claims are forgotten", () => {
    const s: Parameters<typeof signSessionIn>[0] = {
      userId: 'alice',
      authTime: 1,
      loginClaims: {acr: 'x'},
      consents: granted('openid'),
    }
    signSessionIn(s, 'carol', 2)
    expect(s).toEqual({userId: 'carol', authTime: 2, consents: new Map()})
  })

  it('a session nobody signed in to yet', () => {
    const s: Parameters<typeof signSessionIn>[0] = {consents: new Map()}
    signSessionIn(s, 'carol', 2)
    expect(s).toEqual({userId: 'carol', authTime: 2, consents: new Map()})
  })
})

describe('signRotatedSessionIn', () => {
  it('the same user again keeps the consents of the previous session', () => {
    const previous = {userId: 'alice', consents: granted('openid', 'profile')}
    const next: Parameters<typeof signSessionIn>[0] = {consents: new Map()}
    signRotatedSessionIn(previous, next, 'alice', 2)
    expect(next).toEqual({userId: 'alice', authTime: 2, consents: granted('openid', 'profile')})
  })

  it('another user starts with no consents', () => {
    const next: Parameters<typeof signSessionIn>[0] = {consents: new Map()}
    signRotatedSessionIn({userId: 'alice', consents: granted('openid')}, next, 'carol', 2)
    expect(next).toEqual({userId: 'carol', authTime: 2, consents: new Map()})
  })

  it('after a session nobody had signed in to', () => {
    const next: Parameters<typeof signSessionIn>[0] = {consents: new Map()}
    signRotatedSessionIn({consents: new Map()}, next, 'carol', 2)
    expect(next).toEqual({userId: 'carol', authTime: 2, consents: new Map()})
  })
})

describe('rememberConsent', () => {
  it('adds the scopes to those granted before, per client', () => {
    const s = {consents: granted('openid')}
    rememberConsent(s, 'web', ['profile', 'openid'])
    rememberConsent(s, 'other', ['email'])
    expect(s.consents).toEqual(
      new Map([
        ['web', new Set(['openid', 'profile'])],
        ['other', new Set(['email'])],
      ]),
    )
  })
})
