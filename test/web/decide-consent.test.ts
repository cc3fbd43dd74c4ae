import {describe, expect, it} from 'vitest'

import {
  type ConsentAnswer,
  type ConsentOptions,
  type ConsentOutcome,
  decideConsent,
  type WaitingConsent,
} from '../../src/core/authorization/consent.js'
import type {AuthorizationSession} from '../../src/core/authorization/interaction.js'
import {AuthorizationPageError, AuthorizationRedirectError} from '../../src/core/authorization/request.js'
import {CLIENT_ID_SUBJECT, client, request} from '../fixtures/authorization.js'

/**
 * decideConsent without a server: every branch of what POST /authorize does with an approve or
 * deny (who may answer, a waiting request that is gone or was shown to someone else, parameters
 * sent again, --login-as). The HTTP tests (authorize-flows, authorize-checklist, oidc/session)
 * run the same decisions through the endpoint.
 */

const NOW = Date.UTC(2026, 0, 1, 12)
const SIGNED_IN_AT = NOW - 10 * 60_000

type Session = Pick<AuthorizationSession, 'userId' | 'authTime'>
const alice: Session = {userId: 'alice', authTime: SIGNED_IN_AT}
const nobody: Session = {}

/** The request `web` asked for, waiting since the consent page was shown to `userId`. */
function waitingFor(userId: string, current: {client: WaitingConsent['client']} = {client: client()}): WaitingConsent {
  const {client: asked, ...rest} = request()
  return {userId, request: {...rest, clientId: asked.id}, client: current.client}
}

const answerWaiting = (waiting: WaitingConsent | undefined, approve: boolean | undefined): ConsentAnswer => ({
  approve,
  about: {requestId: 'r1', waiting},
})
const approveWaiting = (waiting: WaitingConsent | undefined) => answerWaiting(waiting, true)
const approveSent = (sent = request(), approve = true): ConsentAnswer => ({approve, about: {sent: {request: sent}}})

const notSignedIn: ConsentOutcome = {
  kind: 'refused',
  status: 403,
  error: 'access_denied',
  title: 'Not signed in',
  message: 'Nobody is signed in in this browser session, so nothing can be approved.',
  fix: 'Start again from the application.',
}
const gone = (message: string, user?: string): ConsentOutcome => ({
  kind: 'request-gone',
  status: 400,
  error: 'invalid_request',
  title: 'Authorization request expired',
  message,
  fix: 'Start the sign-in again from the application.',
  ...(user === undefined ? {} : {user}),
})
const NO_LONGER_WAITING =
  'This authorization request is no longer waiting for an answer: it was already answered, it expired, or the server restarted.'
const denied = (asked = request()): ConsentOutcome => ({
  kind: 'redirect-error',
  request: asked,
  error: 'access_denied',
  description: 'The user denied client web access.',
})

const pageError = new AuthorizationPageError('invalid_client', 'Unknown client_id "nope".', 'Register it.')
const redirectError = new AuthorizationRedirectError(
  'invalid_scope',
  'Unknown scope "x".',
  'http://localhost:3000/callback',
  'xyz',
)

interface Case {
  name: string
  answer: ConsentAnswer
  session?: Session
  options?: ConsentOptions
  expected: ConsentOutcome
}

const cases: Case[] = [
  // Who may answer, and what the answer says.
  {name: 'nobody signed in → 403', session: nobody, answer: approveWaiting(waitingFor('alice')), expected: notSignedIn},
  {
    name: 'nobody signed in, unreadable answer → still 403 (who answers is checked first)',
    session: nobody,
    answer: {problem: 'action must be approve or deny, not "maybe".'},
    expected: notSignedIn,
  },
  {
    name: 'unreadable answer → 400 with its problem, naming the user',
    answer: {problem: 'action must be approve or deny, not "maybe".'},
    expected: {
      kind: 'refused',
      status: 400,
      error: 'invalid_request',
      title: 'Invalid decision',
      message: 'action must be approve or deny, not "maybe".',
      user: 'alice',
    },
  },
  {
    name: '--login-as without a stored session, unreadable answer → 400 naming nobody',
    session: nobody,
    options: {loginAs: 'carol'},
    answer: {problem: 'Send either action or approved, not both.'},
    expected: {
      kind: 'refused',
      status: 400,
      error: 'invalid_request',
      title: 'Invalid decision',
      message: 'Send either action or approved, not both.',
    },
  },
  {
    name: 'neither approve nor deny → 400 saying how to answer',
    answer: answerWaiting(waitingFor('alice'), undefined),
    expected: {
      kind: 'refused',
      status: 400,
      error: 'invalid_request',
      title: 'Invalid decision',
      message: 'The request says neither approve nor deny.',
      fix: 'Send action=approve or action=deny (JSON: "approved": true or false).',
      user: 'alice',
    },
  },

  // A waiting request (request_id).
  {
    name: 'approve → issue for the signed-in user at their sign-in time',
    answer: approveWaiting(waitingFor('alice')),
    expected: {kind: 'issue', request: request(), user: 'alice', authTime: SIGNED_IN_AT},
  },
  {
    name: 'approve, session without a sign-in time → issue with authTime null',
    session: {userId: 'alice'},
    answer: approveWaiting(waitingFor('alice')),
    expected: {kind: 'issue', request: request(), user: 'alice', authTime: null},
  },
  {name: 'deny → access_denied to the client', answer: answerWaiting(waitingFor('alice'), false), expected: denied()},
  {
    name: 'the waiting request uses the client as it is now',
    answer: approveWaiting(waitingFor('alice', {client: client({name: 'Renamed'})})),
    expected: {
      kind: 'issue',
      request: request({client: client({name: 'Renamed'})}),
      user: 'alice',
      authTime: SIGNED_IN_AT,
    },
  },
  {
    name: 'no such waiting request → gone',
    answer: approveWaiting(undefined),
    expected: gone(NO_LONGER_WAITING, 'alice'),
  },
  {
    name: 'no such waiting request, --login-as without a stored session → gone, naming nobody',
    session: nobody,
    options: {loginAs: 'carol'},
    answer: approveWaiting(undefined),
    expected: gone(NO_LONGER_WAITING),
  },
  {
    name: 'shown to bob, alice signed in now → gone',
    answer: approveWaiting(waitingFor('bob')),
    expected: gone('This consent page was shown to bob, but alice is signed in now.', 'alice'),
  },
  {
    name: 'a denial by someone else is refused too',
    answer: answerWaiting(waitingFor('bob'), false),
    expected: gone('This consent page was shown to bob, but alice is signed in now.', 'alice'),
  },
  {
    name: '--login-as with a stored session: the signed-in user must be the one the page was shown to',
    options: {loginAs: 'carol'},
    answer: approveWaiting(waitingFor('carol')),
    expected: gone('This consent page was shown to carol, but alice is signed in now.', 'alice'),
  },
  {
    name: 'client deleted while the page was open → gone',
    answer: approveWaiting(waitingFor('alice', {client: undefined})),
    expected: gone('Client web was deleted while the consent page was open.', 'alice'),
  },
  {
    name: '--login-as without a stored session: whoever the page was shown to approves; the session signs in now',
    session: nobody,
    options: {loginAs: 'carol'},
    answer: approveWaiting(waitingFor('dave')),
    expected: {kind: 'issue', request: request(), user: 'dave', authTime: NOW, signIn: {user: 'dave', authTime: NOW}},
  },
  {
    name: '--login-as without a stored session, deny → access_denied, nobody signed in',
    session: nobody,
    options: {loginAs: 'carol'},
    answer: answerWaiting(waitingFor('carol'), false),
    expected: denied(),
  },

  // The authorization parameters sent again (no request_id).
  {
    name: 'sent parameters not valid, page error → answered as GET /authorize answers it',
    answer: {approve: true, about: {sent: {invalid: pageError}}},
    expected: {kind: 'invalid-request', error: pageError},
  },
  {
    name: 'sent parameters not valid, redirect error → answered as GET /authorize answers it',
    answer: {approve: false, about: {sent: {invalid: redirectError}}},
    expected: {kind: 'invalid-request', error: redirectError},
  },
  {
    name: 'sent parameters, approve → issue for the signed-in user',
    answer: approveSent(),
    expected: {kind: 'issue', request: request(), user: 'alice', authTime: SIGNED_IN_AT},
  },
  {name: 'sent parameters, deny → access_denied', answer: approveSent(request(), false), expected: denied()},
  {
    name: 'sent parameters, --login-as with a stored session → the signed-in user, no new sign-in',
    options: {loginAs: 'carol'},
    answer: approveSent(request({loginHint: 'dave'})),
    expected: {kind: 'issue', request: request({loginHint: 'dave'}), user: 'alice', authTime: SIGNED_IN_AT},
  },
  {
    name: 'sent parameters, --login-as without a stored session → that subject, signed in now',
    session: nobody,
    options: {loginAs: 'carol'},
    answer: approveSent(),
    expected: {
      kind: 'issue',
      request: request(),
      user: 'carol',
      authTime: NOW,
      signIn: {user: 'carol', authTime: NOW},
    },
  },
  {
    name: 'sent parameters, --login-as: login_hint overrides it',
    session: nobody,
    options: {loginAs: 'carol'},
    answer: approveSent(request({loginHint: 'dave'})),
    expected: {
      kind: 'issue',
      request: request({loginHint: 'dave'}),
      user: 'dave',
      authTime: NOW,
      signIn: {user: 'dave', authTime: NOW},
    },
  },
  {
    name: 'sent parameters, --login-as: a login_hint equal to the client id → invalid_request, even for a denial',
    session: nobody,
    options: {loginAs: 'carol'},
    answer: approveSent(request({loginHint: 'web'}), false),
    expected: {
      kind: 'redirect-error',
      request: request({loginHint: 'web'}),
      error: 'invalid_request',
      description: `login_hint cannot be used as a subject: ${CLIENT_ID_SUBJECT}`,
    },
  },
]

describe('decideConsent', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(decideConsent(c.answer, c.session ?? alice, c.options ?? {}, NOW)).toEqual(c.expected)
  })

  it('reads the answer and the session without changing them', () => {
    const session = {...alice}
    const answer = approveWaiting(waitingFor('alice'))
    const before = JSON.stringify({session, answer})
    decideConsent(answer, session, {loginAs: 'carol'}, NOW)
    decideConsent(answer, nobody, {loginAs: 'carol'}, NOW)
    expect(JSON.stringify({session, answer})).toBe(before)
  })
})
