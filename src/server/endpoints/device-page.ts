import {knownScopes} from '../../core/config.js'
import {decideDeviceAuthorization, findPendingDeviceAuthorization, formatUserCode, normalizeUserCode} from '../../core/device.js'
import {type LockoutState} from '../../core/device/lockout.js'
import {ConflictError, InvalidInputError, NotFoundError, SubjectError} from '../../errors.js'
import type {DeviceCodeRow} from '../../store/device-codes.js'
import {csrfMatches, currentPath, ensureSession, formDecision, presentedCsrf, sendCsrfFailure, sendErrorPage} from '../browser.js'
import type {RequestContext} from '../context.js'
import {Params, SCRIPT_PAGE_CSP, readParams, sendHtml, sendJson, wantsJson} from '../http.js'
import type {Session} from '../session.js'
import {type DeviceEnterView, deviceConfirmPage, deviceDonePage, deviceEnterPage} from '../views/device.js'
import {loginClaimsOf, sendSignIn} from './login.js'

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
    sendEnterPage(ctx, 400, {action, user, error: (error as Error).message}, headers)
    return
  }
  const lock = ctx.deviceLockout.check(user)
  if (lock.locked) {
    if (wantsJson(ctx.req)) sendJson(ctx.res, 429, {error: 'too_many_attempts', error_description: lock.message}, {'Cache-Control': 'no-store', ...headers, 'Retry-After': String(lock.seconds)})
    else sendEnterPage(ctx, 429, {action, user, error: lock.message, locked: true}, {...headers, 'Retry-After': String(lock.seconds)})
    return
  }
  const json = wantsJson(ctx.req)
  if (typed === undefined) {
    if (json) sendJson(ctx.res, 200, {user, csrf_token: session.csrf}, {'Cache-Control': 'no-store', ...headers})
    else sendEnterPage(ctx, 200, {action, user}, headers)
    return
  }

  let row: DeviceCodeRow
  try {
    row = findPendingDeviceAuthorization(ctx.authority.store, typed, ctx.authority.clock.now())
  } catch (error) {
    const failure = codeFailure(ctx, user, error)
    if (json) {
      sendJson(ctx.res, failure.retryAfter !== undefined ? 429 : 400, {error: failure.error, error_description: failure.message}, {'Cache-Control': 'no-store', ...headers, ...(failure.retryAfter !== undefined ? {'Retry-After': String(failure.retryAfter)} : {})})
      return
    }
    if (failure.retryAfter !== undefined) {
      sendEnterPage(ctx, 429, {action, user, error: failure.message, locked: true}, {...headers, 'Retry-After': String(failure.retryAfter)})
      return
    }
    sendEnterPage(ctx, 400, {action, user, value: typed, error: failure.message}, headers)
    return
  }
  const client = ctx.authority.store.clients.find(row.clientId)
  const known = knownScopes(ctx.authority.config)
  const scopes = row.scopes.map((id) => ({id, description: known[id] ?? id}))
  const userCode = formatUserCode(normalizeUserCode(typed)!)
  if (json) {
    sendJson(ctx.res, 200, {user, user_code: userCode, client: {id: row.clientId, name: client?.name ?? row.clientId}, scopes, csrf_token: session.csrf}, {'Cache-Control': 'no-store', ...headers})
    return
  }
  const page = deviceConfirmPage({
    action: `${ctx.options.prefix}/device/approve`,
    csrf: session.csrf,
    user,
    userCode,
    client: {id: row.clientId, name: client?.name ?? row.clientId},
    scopes,
  })
  sendHtml(ctx.res, 200, page, headers)
}

export async function handleDeviceApprove(ctx: RequestContext): Promise<void> {
  const json = isJsonBody(ctx) || wantsJson(ctx.req)
  const params = await readParams(ctx.req)
  const session = ctx.sessions.fromCookie(ctx.req)
  if (!csrfMatches(session, presentedCsrf(ctx, () => params.get('csrf')))) {
    sendCsrfFailure(ctx, session)
    return
  }
  // --login-as signs the device pages in without storing a session (see deviceUser).
  const user = ctx.options.loginAs ?? session.userId
  if (user === undefined) {
    sendErrorPage(ctx, 403, {error: 'access_denied', title: 'Not signed in', message: 'Nobody is signed in in this browser session, so no device can be approved.', fix: `Open ${ctx.options.prefix}/device and sign in first.`})
    return
  }
  const action = `${ctx.options.prefix}/device`
  const fail = (status: number, error: string, message: string, value?: string, extra: Record<string, string> = {}) => {
    if (json) sendJson(ctx.res, status, {error, error_description: message}, {'Cache-Control': 'no-store', ...extra})
    else sendEnterPage(ctx, status, {action, user, error: message, ...(value === undefined ? {} : {value}), ...(status === 429 ? {locked: true} : {})}, extra)
  }

  const lock = ctx.deviceLockout.check(user)
  if (lock.locked) {
    fail(429, 'too_many_attempts', lock.message, undefined, {'Retry-After': String(lock.seconds)})
    return
  }
  let userCode: string | undefined
  let approve: boolean | undefined
  try {
    userCode = params.get('user_code')
    approve = json && isJsonBody(ctx) ? jsonDecision(params) : formDecision(params)
  } catch (error) {
    fail(400, 'invalid_request', (error as Error).message, userCode)
    return
  }
  if (userCode === undefined) {
    fail(400, 'invalid_request', 'Enter the code shown on the device (user_code is missing).')
    return
  }
  if (approve === undefined) {
    fail(400, 'invalid_request', json ? 'Send "approved": true or false.' : 'Choose Approve or Deny (action=approve or action=deny).', userCode)
    return
  }

  let row: DeviceCodeRow
  try {
    row = decideDeviceAuthorization(ctx.authority.store, userCode, user, approve, ctx.authority.clock.now())
    if (approve) ctx.authority.loginClaims.set(row.id, loginClaimsOf(ctx, user))
  } catch (error) {
    const failure = codeFailure(ctx, user, error)
    if (failure.retryAfter !== undefined) fail(429, 'too_many_attempts', failure.message, undefined, {'Retry-After': String(failure.retryAfter)})
    else fail(400, failure.error, failure.message, userCode)
    return
  }
  const client = ctx.authority.store.clients.find(row.clientId)
  if (json) {
    sendJson(ctx.res, 200, {user_code: formatUserCode(normalizeUserCode(userCode)!), status: row.status, client_id: row.clientId}, {'Cache-Control': 'no-store'})
    return
  }
  sendHtml(ctx.res, 200, deviceDonePage({user, approved: approve, client: {id: row.clientId, name: client?.name ?? row.clientId}}))
}

/** The code entry page; unless locked it loads the code-formatting script, which its CSP then allows. */
function sendEnterPage(ctx: RequestContext, status: number, view: DeviceEnterView, headers: Record<string, string>): void {
  sendHtml(ctx.res, status, deviceEnterPage(view), view.locked ? headers : {...headers, 'Content-Security-Policy': SCRIPT_PAGE_CSP})
}

/** The signed-in user for the device pages, or undefined after answering with the sign-in page. */
function deviceUser(ctx: RequestContext): {session: Session; headers: Record<string, string>; user: string} | undefined {
  const loginAs = ctx.options.loginAs
  if (loginAs !== undefined) {
    // Nothing to remember: the approval POST signs in as --login-as again, with this session's CSRF token.
    const {session, headers} = ensureSession(ctx)
    return {session, headers, user: loginAs}
  }
  const session = ctx.sessions.find(ctx.req)
  if (session?.userId === undefined) {
    if (wantsJson(ctx.req)) sendJson(ctx.res, 401, {error: 'login_required', error_description: 'No user is signed in: sign in through POST /login (or the page) first, or start passport serve with --login-as SUB.'}, {'Cache-Control': 'no-store'})
    else sendSignIn(ctx, {returnTo: currentPath(ctx), purpose: 'to connect a device'})
    return undefined
  }
  return {session, headers: {}, user: session.userId}
}

/**
 * Explains why a code cannot be used. Malformed and unknown codes count as wrong (per subject and
 * server-wide); the one that reaches a limit locks (`retryAfter` set). Expired and already-used
 * codes are real codes and do not count.
 */
function codeFailure(ctx: RequestContext, user: string, error: unknown): {error: string; message: string; retryAfter?: number} {
  // The code was right; the signed-in user may not approve it (its subject is the client's id).
  if (error instanceof SubjectError) return {error: 'invalid_request', message: error.message}
  if (error instanceof InvalidInputError || error instanceof NotFoundError) {
    const state: LockoutState = ctx.deviceLockout.fail(user)
    if (state.locked) {
      const limits = ctx.deviceLockout.limits
      const why =
        state.scope === 'subject'
          ? `That was the ${limits.perSubject}th wrong code: codes cannot be entered for ${Math.ceil(state.seconds / 60)} minutes.`
          : state.message
      return {error: 'too_many_attempts', message: `${error.message} ${why}`, retryAfter: state.seconds}
    }
    const left = state.attemptsLeft
    const kind = error instanceof InvalidInputError ? 'invalid_request' : 'invalid_grant'
    return {error: kind, message: `${error.message} Check the code on the device and try again (${left} attempt${left === 1 ? '' : 's'} left).`}
  }
  if (error instanceof ConflictError) return {error: 'invalid_grant', message: error.message}
  throw error
}

function isJsonBody(ctx: RequestContext): boolean {
  return (ctx.req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() === 'application/json'
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
