import {DEMO_CLIENT_ID} from '../clients.js'
import {userSubjectProblem} from '../subjects.js'
import type {AuthorizationRequest} from './request.js'

/**
 * Who signs in and whether the person is asked: the decisions of `GET /authorize` after the
 * request is valid (OpenID Connect Core §3.1.2.1 `prompt` and `max_age`, `--login-as`,
 * `--auto-approve`, consents remembered in the session). {@link decideAuthorization} is pure: it
 * reads the request, the browser's session and the server's options and returns what to do; the
 * endpoint carries it out (issues the code, keeps the pending request) and answers.
 */

/** What the decision reads of the browser's sign-in session (a server session satisfies it). */
export interface AuthorizationSession {
  userId?: string | undefined
  /** When the user signed in (ms since the epoch). */
  authTime?: number | undefined
  /** Scopes the user granted each client in this session. */
  consents: ReadonlyMap<string, ReadonlySet<string>>
  /**
   * The sign-in form returned to exactly this request just now: that sign-in satisfies
   * `prompt=login`, `prompt=select_account` and `max_age` once (no sign-in loop).
   */
  justSignedIn?: boolean | undefined
}

export interface AuthorizationOptions {
  /** `serve --login-as SUB`: every request is signed in as SUB (a `login_hint` overrides it). */
  loginAs?: string | undefined
  /** `serve --auto-approve`: no consent page for any client. */
  autoApprove?: boolean | undefined
  /** The request comes from this machine (the built-in demo client works only from there). */
  loopback: boolean
}

/** Who is signed in for this request, and since when (ms). */
export interface SignIn {
  user: string
  authTime: number
}

/**
 * What `GET /authorize` does next:
 * - `page-error`: an error shown to the person, never redirected;
 * - `sign-in`: the sign-in page (JSON callers: `error` with `description`, 401 for
 *   `login_required`, 400 otherwise); `problem` is shown on the page when the signed-in subject
 *   cannot be used;
 * - `redirect-error`: `error` and `description` back to the client's redirect URI;
 * - `consent`: ask the person; `issue`: issue the code without asking.
 * Every outcome after the user is known carries `signIn`, which the session then records.
 */
export type AuthorizationOutcome =
  | {kind: 'page-error'; status: number; error: string; title: string; message: string; fix: string}
  | SignInRequired
  | {kind: 'redirect-error'; error: string; description: string; signIn?: SignIn}
  | {kind: 'consent'; signIn: SignIn}
  | {kind: 'issue'; signIn: SignIn}

/** Someone must sign in (again) before the request can go on. */
export interface SignInRequired {
  kind: 'sign-in'
  error: 'login_required' | 'invalid_request'
  /** For API callers, which cannot use the page. */
  description: string
  /** Completes "Sign in …" on the page. */
  purpose: string
  /** Prefills the subject field. */
  subject?: string
  /** Why the signed-in subject cannot be used (shown on the page, which is then a 400). */
  problem?: string
}

/**
 * A reason to show the sign-in page to someone already signed in (node-oidc-provider's
 * `interaction_policy` checks): a name, what to say, and when it applies.
 */
interface SignInCheck {
  name: 'prompt_login' | 'select_account' | 'max_age'
  /** Completes "…: open this URL in a browser to sign in again." and "… and prompt=none forbids …". */
  sentence: (request: AuthorizationRequest) => string
  /** Completes "Sign in … {client name}" on the sign-in page. */
  purpose: string
  applies: (request: AuthorizationRequest, authTime: number | undefined, now: number) => boolean
}

const SIGN_IN_CHECKS: readonly SignInCheck[] = [
  {
    name: 'prompt_login',
    sentence: () => 'The request asks for a new sign-in (prompt=login)',
    purpose: 'again to continue to',
    applies: (request) => request.prompt.includes('login'),
  },
  {
    // The sign-in page is the account chooser.
    name: 'select_account',
    sentence: () => 'The request asks the user to choose an account (prompt=select_account)',
    purpose: 'with the account to use for',
    applies: (request) => request.prompt.includes('select_account'),
  },
  {
    name: 'max_age',
    sentence: (request) => `The sign-in is older than max_age=${request.maxAge} seconds`,
    purpose: 'again (your last sign-in is too old) to continue to',
    // max_age=0 is prompt=login (OIDC Core §3.1.2.1), whatever the clock's resolution.
    applies: (request, authTime, now) =>
      request.maxAge !== undefined &&
      (request.maxAge === 0 || authTime === undefined || now - authTime > request.maxAge * 1000),
  },
]

/** The first check that sends a signed-in person back to the sign-in page, or undefined. */
export function signInAgainReason(
  request: AuthorizationRequest,
  authTime: number | undefined,
  now: number,
): SignInCheck | undefined {
  return SIGN_IN_CHECKS.find((check) => check.applies(request, authTime, now))
}

/**
 * Decides what a valid authorization request leads to, in this order: the demo client only from
 * this machine; who is signed in (`--login-as` or its `login_hint` sign in without a page, and
 * a forced or too old sign-in then simply happens again now; else the session; else the sign-in
 * page, or `login_required` for `prompt=none`); a subject that cannot be used with this client;
 * no consent page when auto-approved or when this session already granted every scope (unless
 * `prompt=consent`); `consent_required` for `prompt=none`; else the consent page.
 */
export function decideAuthorization(
  request: AuthorizationRequest,
  session: AuthorizationSession | undefined,
  options: AuthorizationOptions,
  now: number,
): AuthorizationOutcome {
  const {client} = request
  if (client.id === DEMO_CLIENT_ID && !options.loopback) {
    return {
      kind: 'page-error',
      status: 403,
      error: 'unauthorized_client',
      title: 'Demo client is local only',
      message: `The built-in client ${DEMO_CLIENT_ID} (the dashboard's "Try it") works only from this machine.`,
      fix: 'Use a client of your own from other machines.',
    }
  }
  const promptNone = request.prompt.includes('none')

  let signIn: SignIn
  if (options.loginAs !== undefined) {
    const {user, problem} = loginAsSubject(request, options.loginAs)
    if (problem !== undefined) return {kind: 'redirect-error', error: 'invalid_request', description: problem}
    const previous = session?.userId === user ? session.authTime : undefined
    signIn = {
      user,
      authTime: previous !== undefined && signInAgainReason(request, previous, now) === undefined ? previous : now,
    }
  } else if (session?.userId !== undefined) {
    const reason = session.justSignedIn ? undefined : signInAgainReason(request, session.authTime, now)
    if (reason !== undefined) {
      const sentence = reason.sentence(request)
      if (promptNone)
        return {
          kind: 'redirect-error',
          error: 'login_required',
          description: `${sentence} and prompt=none forbids showing the sign-in page.`,
        }
      return {
        kind: 'sign-in',
        error: 'login_required',
        description: `${sentence}: open this URL in a browser to sign in again.`,
        purpose: `${reason.purpose} ${client.name}`,
        subject: request.loginHint ?? session.userId,
      }
    }
    signIn = {user: session.userId, authTime: session.authTime ?? now}
    // Typed on the sign-in page: a subject equal to this client's id would make a user token that reads as the client's own.
    const problem = userSubjectProblem(signIn.user, client.id)
    if (problem) {
      return {
        kind: 'sign-in',
        error: 'invalid_request',
        description: `The signed-in user cannot use client ${client.id}: ${problem}`,
        purpose: `with another subject to continue to ${client.name}`,
        problem,
      }
    }
  } else {
    if (promptNone)
      return {
        kind: 'redirect-error',
        error: 'login_required',
        description: 'No user is signed in and prompt=none forbids showing the sign-in page.',
      }
    return {
      kind: 'sign-in',
      error: 'login_required',
      description:
        'No user is signed in: open this URL in a browser to sign in, or start passport serve with --login-as SUB.',
      purpose: `to continue to ${client.name}`,
      ...(request.loginHint === undefined ? {} : {subject: request.loginHint}),
    }
  }

  const granted = session !== undefined && session.userId === signIn.user ? session.consents.get(client.id) : undefined
  const alreadyGranted =
    granted !== undefined && request.scopes.every((scope) => granted.has(scope)) && !request.prompt.includes('consent')
  if (options.autoApprove || client.autoApprove || alreadyGranted) return {kind: 'issue', signIn}
  if (promptNone)
    return {
      kind: 'redirect-error',
      error: 'consent_required',
      description: `The user has not approved client ${client.id} and prompt=none forbids showing the consent page.`,
      signIn,
    }
  return {kind: 'consent', signIn}
}

/**
 * The subject `--login-as` signs in for this request (its `login_hint` overrides it), and why it
 * cannot be used with this client (an `invalid_request` description), if it cannot.
 */
export function loginAsSubject(
  request: Pick<AuthorizationRequest, 'client' | 'loginHint'>,
  loginAs: string,
): {user: string; problem: string | undefined} {
  const user = request.loginHint ?? loginAs
  const problem = userSubjectProblem(user, request.client.id)
  return {user, problem: problem === undefined ? undefined : `login_hint cannot be used as a subject: ${problem}`}
}

/** A sign-in session as {@link signSessionIn} changes it. */
export interface SignedInSession {
  userId?: string | undefined
  authTime?: number | undefined
  loginClaims?: Record<string, unknown> | undefined
  consents: Map<string, Set<string>>
}

/**
 * Records in a session that `user` signed in at `authTime`: the one place a session changes
 * hands (the sign-in form, `--login-as` and its `login_hint`). Signed in as someone else before,
 * the session forgets that user's consents and sign-in claims.
 */
export function signSessionIn(session: SignedInSession, user: string, authTime: number): void {
  if (session.userId !== user) {
    session.consents.clear()
    delete session.loginClaims
  }
  session.userId = user
  session.authTime = authTime
}

/**
 * Signs in the fresh session a sign-in form rotated to (a new id, against session fixation):
 * `user` at `authTime`. Signing in again as the same user (for `prompt=login` or `max_age`) keeps
 * the consents given in the previous session; another user starts with none.
 */
export function signRotatedSessionIn(
  previous: Pick<SignedInSession, 'userId' | 'consents'>,
  next: SignedInSession,
  user: string,
  authTime: number,
): void {
  signSessionIn(next, user, authTime)
  if (previous.userId === user) for (const [client, scopes] of previous.consents) next.consents.set(client, scopes)
}

/** Remembers in the session that the user granted `scopes` to the client (the consent page is not shown again for them). */
export function rememberConsent(
  session: Pick<SignedInSession, 'consents'>,
  clientId: string,
  scopes: readonly string[],
): void {
  const granted = session.consents.get(clientId) ?? new Set<string>()
  for (const scope of scopes) granted.add(scope)
  session.consents.set(clientId, granted)
}
