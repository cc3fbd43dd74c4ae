import type {ReadAuthorizationRequest} from '../par.js'
import {type AuthorizationSession, loginAsSubject, type SignIn} from './interaction.js'
import type {AuthorizationPageError, AuthorizationRedirectError, AuthorizationRequest} from './request.js'

/**
 * The consent decision (`POST /authorize`): whether the person's approve or deny can be taken,
 * for which request and user, and what it leads to. {@link decideConsent} is pure: the endpoint
 * reads the answer and the request it names (without using either up), lets this decide, then
 * carries the outcome out (uses up the waiting or pushed request, signs the session in,
 * remembers the consent, issues the code) and answers.
 */

/**
 * A request waiting for consent, as the consent page left it: the client is read again at
 * decision time (it may have been deleted while the page was open).
 */
export interface WaitingConsent {
  /** Who the consent page was shown to; the answer must come from the same user. */
  userId: string
  request: Omit<AuthorizationRequest, 'client'> & {clientId: string}
  /** The client as it is now; undefined when it no longer exists. */
  client: AuthorizationRequest['client'] | undefined
}

/** The sent parameters were not a valid authorization request (answered as `GET /authorize` answers it). */
export interface InvalidAuthorizationRequest {
  invalid: AuthorizationPageError | AuthorizationRedirectError
}

/**
 * What the consent form (or an API caller) answered, as read from the request: approve or deny
 * (undefined when it says neither), about a waiting request (`request_id`) or about authorization
 * parameters sent again; or why the answer could not be read.
 */
export type ConsentAnswer =
  | {problem: string}
  | {
      approve: boolean | undefined
      about:
        | {requestId: string; waiting: WaitingConsent | undefined}
        | {sent: ReadAuthorizationRequest | InvalidAuthorizationRequest}
    }

export interface ConsentOptions {
  /** `serve --login-as SUB`: the consent page needs no stored session. */
  loginAs?: string | undefined
}

/** An error page (JSON callers: `error` and `error_description`), never a redirect. */
export interface ConsentPageError {
  status: 400 | 403
  error: 'invalid_request' | 'access_denied'
  title: string
  message: string
  fix?: string
  user?: string
}

/**
 * What the answer leads to:
 * - `refused`: the answer cannot be taken (nobody signed in, unreadable); it reached no request,
 *   so a waiting one stays for a corrected answer;
 * - `invalid-request`: the authorization parameters sent again are not valid;
 * - `request-gone`: the waiting request cannot be answered (any more); it is dropped;
 * - `redirect-error`: `error` and `description` back to the client (a denial, or a `--login-as`
 *   subject the client cannot use);
 * - `issue`: the code for `user`, with `authTime` (null when unknown); the consent is remembered in
 *   the session, which `signIn` (the `--login-as` case) first signs in and keeps.
 * Every outcome but `refused` and `invalid-request` uses the request up, waiting or pushed.
 */
export type ConsentOutcome =
  | ({kind: 'refused'} & ConsentPageError)
  | {kind: 'invalid-request'; error: AuthorizationPageError | AuthorizationRedirectError}
  | ({kind: 'request-gone'} & ConsentPageError)
  | {kind: 'redirect-error'; request: AuthorizationRequest; error: string; description: string}
  | {kind: 'issue'; request: AuthorizationRequest; user: string; authTime: number | null; signIn?: SignIn}

/**
 * Decides what a consent answer leads to, in this order: someone must be signed in (with
 * `--login-as` the user the page was shown to); the answer must say approve or deny; the waiting
 * request must still wait, for this user, and its client still exist (or the parameters sent
 * again must be valid, and the `--login-as` subject usable with the client); then a denial goes
 * back to the client, and an approval issues the code.
 */
export function decideConsent(
  answer: ConsentAnswer,
  session: Pick<AuthorizationSession, 'userId' | 'authTime'>,
  options: ConsentOptions,
  now: number,
): ConsentOutcome {
  const loginAs = options.loginAs
  if (session.userId === undefined && loginAs === undefined) {
    return {
      kind: 'refused',
      status: 403,
      error: 'access_denied',
      title: 'Not signed in',
      message: 'Nobody is signed in in this browser session, so nothing can be approved.',
      fix: 'Start again from the application.',
    }
  }
  const refuseAnswer = (message: string, fix?: string): ConsentOutcome => ({
    kind: 'refused',
    status: 400,
    error: 'invalid_request',
    title: 'Invalid decision',
    message,
    ...(fix === undefined ? {} : {fix}),
    ...(session.userId === undefined ? {} : {user: session.userId}),
  })
  if ('problem' in answer) return refuseAnswer(answer.problem)
  if (answer.approve === undefined)
    return refuseAnswer(
      'The request says neither approve nor deny.',
      'Send action=approve or action=deny (JSON: "approved": true or false).',
    )

  let request: AuthorizationRequest
  let user: string
  if ('requestId' in answer.about) {
    const {waiting} = answer.about
    // With --login-as and no stored session, whoever the page was shown to decides.
    const answering = session.userId ?? (loginAs !== undefined ? waiting?.userId : undefined)
    const gone = (message: string): ConsentOutcome => ({
      kind: 'request-gone',
      status: 400,
      error: 'invalid_request',
      title: 'Authorization request expired',
      message,
      fix: 'Start the sign-in again from the application.',
      ...(answering ? {user: answering} : {}),
    })
    if (!waiting)
      return gone(
        'This authorization request is no longer waiting for an answer: it was already answered, it expired, or the server restarted.',
      )
    if (waiting.userId !== answering)
      return gone(`This consent page was shown to ${waiting.userId}, but ${answering ?? 'nobody'} is signed in now.`)
    const {clientId, ...rest} = waiting.request
    if (!waiting.client) return gone(`Client ${clientId} was deleted while the consent page was open.`)
    request = {...rest, client: waiting.client}
    user = waiting.userId
  } else {
    const {sent} = answer.about
    if ('invalid' in sent) return {kind: 'invalid-request', error: sent.invalid}
    request = sent.request
    if (session.userId !== undefined) user = session.userId
    else {
      const subject = loginAsSubject(request, loginAs!)
      if (subject.problem !== undefined)
        return {kind: 'redirect-error', request, error: 'invalid_request', description: subject.problem}
      user = subject.user
    }
  }

  if (!answer.approve)
    return {
      kind: 'redirect-error',
      request,
      error: 'access_denied',
      description: `The user denied client ${request.client.id} access.`,
    }
  // --login-as without a stored session: the consent given is worth remembering, so the session
  // is signed in now and kept.
  if (session.userId === undefined) return {kind: 'issue', request, user, authTime: now, signIn: {user, authTime: now}}
  return {kind: 'issue', request, user, authTime: session.authTime ?? null}
}
