import {knownScopes} from '../../core/config.js'
import {
  decideDeviceAuthorization,
  findPendingDeviceAuthorization,
  formatUserCode,
  normalizeUserCode,
} from '../../core/device.js'
import {lockedRefusal, refuseUserCode, type UserCodeRefusal} from '../../core/device/refusal.js'
import type {DeviceCodeRow} from '../../store/device-codes.js'
import {ensureSession, formDecision} from '../browser.js'
import {readCheckedPost} from '../checked-post.js'
import type {RequestContext} from '../context.js'
import {isJsonBody, Params, SCRIPT_PAGE_CSP} from '../http.js'
import {type HtmlAnswer, respond, respondError, respondSignIn} from '../respond.js'
import type {Session} from '../session.js'
import {type DeviceEnterView, deviceConfirmPage, deviceDonePage, deviceEnterPage} from '../views/device.js'
import {loginClaimsOf} from './login.js'

/**
 * The device verification page (RFC 8628 §3.3).
 *
 * `GET {prefix}/device` (`Accept: application/json` gets `{user, csrf_token}`, or with a user_code
 * `{user, user_code, client, scopes, csrf_token}`) — needs a signed-in user (the sign-in page first; `--login-as` signs in
 * directly). Without `user_code`: the form to enter it. With `user_code` (typed, or from
 * `verification_uri_complete`): the confirmation page showing the client and its scopes with
 * Approve and Deny — never an approval by itself.
 *
 * `POST {prefix}/device/approve` — the decision. Form: `user_code`, `action=approve|deny`, `csrf`.
 * JSON (the seed's API): `{"user_code": "…", "approved": true|false}` (a real JSON boolean), with
 * the session cookie of a signed-in user and the CSRF token as `csrf` or an `X-CSRF-Token` header.
 * JSON answers: 200 `{user_code, status: "approved"|"denied", client_id}`; errors
 * `{error, error_description}` — 400 `invalid_request` (malformed code or body), 400
 * `invalid_grant` (unknown, expired or already decided code), 403 (CSRF or not signed in),
 * 429 `too_many_attempts` with `Retry-After` while locked.
 *
 * Wrong codes (malformed or unknown) are limited per signed-in subject and for the whole server
 * (RFC 8628 §5.1, see src/core/device/lockout.ts): a new session or another subject does not
 * reset them.
 */

export function handleDevicePage(ctx: RequestContext): void {
  const signedIn = deviceUser(ctx)
  if (!signedIn) return
  const {session, headers, user} = signedIn
  const action = `${ctx.options.prefix}/device`

  let typed: string | undefined
  try {
    typed = Params.fromSearch(ctx.url.searchParams).get('user_code')
  } catch (error) {
    respondEnterError(ctx, user, {status: 400, error: 'invalid_request', message: (error as Error).message}, headers)
    return
  }
  const lock = ctx.deviceLockout.check(user)
  if (lock.locked) {
    respondEnterError(ctx, user, codeProblem(lockedRefusal(lock)), headers)
    return
  }
  if (typed === undefined) {
    respond(ctx, {
      json: () => ({status: 200, body: {user, csrf_token: session.csrf}, headers}),
      html: () => enterPage(200, {action, user}, headers),
    })
    return
  }

  let row: DeviceCodeRow
  try {
    row = findPendingDeviceAuthorization(ctx.authority.store, typed, ctx.authority.clock.now())
  } catch (error) {
    respondEnterError(ctx, user, codeProblem(refuseCode(ctx, user, error), typed), headers)
    return
  }
  const client = ctx.authority.store.clients.find(row.clientId)
  const known = knownScopes(ctx.authority.config)
  const scopes = row.scopes.map((id) => ({id, description: known[id] ?? id}))
  const userCode = formatUserCode(normalizeUserCode(typed)!)
  respond(ctx, {
    json: () => ({
      status: 200,
      body: {
        user,
        user_code: userCode,
        client: {id: row.clientId, name: client?.name ?? row.clientId},
        scopes,
        csrf_token: session.csrf,
      },
      headers,
    }),
    html: () => ({
      status: 200,
      page: deviceConfirmPage({
        action: `${ctx.options.prefix}/device/approve`,
        csrf: session.csrf,
        user,
        userCode,
        client: {id: row.clientId, name: client?.name ?? row.clientId},
        scopes,
      }),
      headers,
    }),
  })
}

export async function handleDeviceApprove(ctx: RequestContext): Promise<void> {
  const post = await readCheckedPost(ctx)
  if (!post) return
  const {params, session} = post
  // --login-as signs the device pages in without storing a session (see deviceUser).
  const user = ctx.options.loginAs ?? session.userId
  if (user === undefined) {
    respondError(ctx, 403, {
      error: 'access_denied',
      title: 'Not signed in',
      message: 'Nobody is signed in in this browser session, so no device can be approved.',
      fix: `Open ${ctx.options.prefix}/device and sign in first.`,
    })
    return
  }

  const lock = ctx.deviceLockout.check(user)
  if (lock.locked) {
    respondEnterError(ctx, user, codeProblem(lockedRefusal(lock)))
    return
  }
  let userCode: string | undefined
  let approve: boolean | undefined
  try {
    userCode = params.get('user_code')
    approve = isJsonBody(ctx.req) ? jsonDecision(params) : formDecision(params)
  } catch (error) {
    respondEnterError(ctx, user, {
      status: 400,
      error: 'invalid_request',
      message: (error as Error).message,
      ...(userCode === undefined ? {} : {value: userCode}),
    })
    return
  }
  if (userCode === undefined) {
    respondEnterError(ctx, user, {
      status: 400,
      error: 'invalid_request',
      message: 'Enter the code shown on the device (user_code is missing).',
    })
    return
  }
  if (approve === undefined) {
    respondEnterError(ctx, user, {
      status: 400,
      error: 'invalid_request',
      message: 'Choose Approve or Deny (action=approve or action=deny).',
      jsonMessage: 'Send "approved": true or false.',
      value: userCode,
    })
    return
  }

  let row: DeviceCodeRow
  try {
    row = decideDeviceAuthorization(ctx.authority.store, userCode, user, approve, ctx.authority.clock.now())
    if (approve) ctx.authority.loginClaims.set(row.id, loginClaimsOf(ctx, user))
  } catch (error) {
    respondEnterError(ctx, user, codeProblem(refuseCode(ctx, user, error), userCode))
    return
  }
  const client = ctx.authority.store.clients.find(row.clientId)
  respond(ctx, {
    json: () => ({
      status: 200,
      body: {user_code: formatUserCode(normalizeUserCode(userCode)!), status: row.status, client_id: row.clientId},
    }),
    html: () => ({
      status: 200,
      page: deviceDonePage({user, approved: approve, client: {id: row.clientId, name: client?.name ?? row.clientId}}),
    }),
  })
}

/** Why a code could not be entered or decided; a 429 carries `retryAfter` (seconds). */
interface CodeProblem {
  status: 400 | 429
  error: string
  message: string
  /** The message for JSON callers, when it differs (they send `approved`, not a form's action). */
  jsonMessage?: string
  retryAfter?: number
  /** The code as typed, shown again in the field (never on a locked page). */
  value?: string
}

/**
 * The code entry page again with the problem (a 429 page is locked: no field, and no script),
 * or `{error, error_description}` for API callers; a lock adds `Retry-After`.
 */
function respondEnterError(
  ctx: RequestContext,
  user: string,
  problem: CodeProblem,
  headers: Record<string, string> = {},
): void {
  const all = problem.retryAfter === undefined ? headers : {...headers, 'Retry-After': String(problem.retryAfter)}
  const locked = problem.status === 429
  respond(ctx, {
    json: () => ({
      status: problem.status,
      body: {error: problem.error, error_description: problem.jsonMessage ?? problem.message},
      headers: all,
    }),
    html: () =>
      enterPage(
        problem.status,
        {
          action: `${ctx.options.prefix}/device`,
          user,
          error: problem.message,
          ...(locked || problem.value === undefined ? {} : {value: problem.value}),
          ...(locked ? {locked} : {}),
        },
        all,
      ),
  })
}

/** The code entry page; unless locked it loads the code-formatting script, which its CSP then allows. */
function enterPage(status: number, view: DeviceEnterView, headers: Record<string, string>): HtmlAnswer {
  return {
    status,
    page: deviceEnterPage(view),
    headers: view.locked ? headers : {...headers, 'Content-Security-Policy': SCRIPT_PAGE_CSP},
  }
}

/** The signed-in user for the device pages, or undefined after answering with the sign-in page. */
function deviceUser(
  ctx: RequestContext,
): {session: Session; headers: Record<string, string>; user: string} | undefined {
  const loginAs = ctx.options.loginAs
  if (loginAs !== undefined) {
    // Nothing to remember: the approval POST signs in as --login-as again, with this session's CSRF token.
    const {session, headers} = ensureSession(ctx)
    return {session, headers, user: loginAs}
  }
  const session = ctx.sessions.find(ctx.req)
  if (session?.userId === undefined) {
    respondSignIn(ctx, {
      kind: 'sign-in',
      error: 'login_required',
      description:
        'No user is signed in: sign in through POST /login (or the page) first, or start passport serve with --login-as SUB.',
      purpose: 'to connect a device',
    })
    return undefined
  }
  return {session, headers: {}, user: session.userId}
}

/** Why the code cannot be used (core/device/refusal.ts: wrong codes count towards a lock); a fault is rethrown. */
function refuseCode(ctx: RequestContext, user: string, error: unknown): UserCodeRefusal {
  const refusal = refuseUserCode(ctx.deviceLockout, user, error)
  if (refusal === undefined) throw error
  return refusal
}

/** A refusal as the entry page shows it: a lock is a 429 (no field), else a 400 keeping the code as typed. */
function codeProblem(refusal: UserCodeRefusal, typed?: string): CodeProblem {
  if (refusal.locked)
    return {status: 429, error: refusal.error, message: refusal.message, retryAfter: refusal.retryAfter}
  return {status: 400, error: refusal.error, message: refusal.message, ...(typed === undefined ? {} : {value: typed})}
}

/** JSON: `approved` must be a real boolean (the string "true" is refused); `action` also accepted. */
function jsonDecision(params: Params): boolean | undefined {
  let asString: string | undefined
  try {
    asString = params.get('approved')
  } catch {
    // Not a string: a boolean (checked below), a number, an object or a list.
    const value = params.boolean('approved')
    if (params.has('action')) throw new Error('Send either action or approved, not both.')
    return value
  }
  if (asString !== undefined) throw new Error('"approved" must be the JSON boolean true or false, not a string.')
  return formDecision(params)
}
