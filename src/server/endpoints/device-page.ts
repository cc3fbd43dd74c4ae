import {knownScopes} from '../../core/config.js'
import {decideDeviceAuthorization, findPendingDeviceAuthorization, formatUserCode, normalizeUserCode} from '../../core/device.js'
import {ConflictError, InvalidInputError, NotFoundError} from '../../core/errors.js'
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
 * 429 `too_many_attempts` with `Retry-After` while the session is locked.
 *
 * A session that enters {@link MAX_WRONG_CODES} wrong codes (malformed or unknown) is refused
 * for {@link LOCK_MS} (RFC 8628 §5.1); signing in again keeps the count.
 */
export const MAX_WRONG_CODES = 5
export const LOCK_MS = 5 * 60_000

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
  const lock = lockMessage(session)
  if (lock) {
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
    const failure = codeFailure(session, error)
    if (json) {
      sendJson(ctx.res, failure.locked ? 429 : 400, {error: failure.error, error_description: failure.message}, {'Cache-Control': 'no-store', ...headers, ...(failure.locked ? {'Retry-After': String(LOCK_MS / 1000)} : {})})
      return
    }
    if (failure.locked) {
      sendEnterPage(ctx, 429, {action, user, error: failure.message, locked: true}, {...headers, 'Retry-After': String(LOCK_MS / 1000)})
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
  const session = ctx.sessions.find(ctx.req)
  if (!csrfMatches(session, presentedCsrf(ctx, () => params.get('csrf')))) {
    sendCsrfFailure(ctx, session)
    return
  }
  const user = session.userId
  if (user === undefined) {
    sendErrorPage(ctx, 403, {error: 'access_denied', title: 'Not signed in', message: 'Nobody is signed in in this browser session, so no device can be approved.', fix: `Open ${ctx.options.prefix}/device and sign in first.`})
    return
  }
  const action = `${ctx.options.prefix}/device`
  const fail = (status: number, error: string, message: string, value?: string, extra: Record<string, string> = {}) => {
    if (json) sendJson(ctx.res, status, {error, error_description: message}, {'Cache-Control': 'no-store', ...extra})
    else sendEnterPage(ctx, status, {action, user, error: message, ...(value === undefined ? {} : {value}), ...(status === 429 ? {locked: true} : {})}, extra)
  }

  const lock = lockMessage(session)
  if (lock) {
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
    const failure = codeFailure(session, error)
    if (failure.locked) fail(429, 'too_many_attempts', failure.message, undefined, {'Retry-After': String(LOCK_MS / 1000)})
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
    const {session, headers} = ensureSession(ctx)
    if (session.userId !== loginAs) {
      session.userId = loginAs
      session.authTime = ctx.authority.clock.now()
      session.consents.clear()
      session.pending.clear()
    }
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

/** While locked: the message and the seconds left; clears an expired lock. */
function lockMessage(session: Session, now = Date.now()): {message: string; seconds: number} | undefined {
  if (session.deviceLockedUntil === undefined) return undefined
  if (session.deviceLockedUntil <= now) {
    delete session.deviceLockedUntil
    session.deviceFailures = 0
    return undefined
  }
  const seconds = Math.ceil((session.deviceLockedUntil - now) / 1000)
  const minutes = Math.ceil(seconds / 60)
  return {seconds, message: `Too many wrong codes (${MAX_WRONG_CODES}). For your safety, codes cannot be entered for ${minutes} more minute${minutes === 1 ? '' : 's'}.`}
}

/**
 * Explains why a code cannot be used. Malformed and unknown codes count as wrong; the
 * {@link MAX_WRONG_CODES}th locks the session. Expired and already-used codes are real codes and
 * do not count.
 */
function codeFailure(session: Session, error: unknown): {error: string; message: string; locked: boolean} {
  if (error instanceof InvalidInputError || error instanceof NotFoundError) {
    session.deviceFailures += 1
    if (session.deviceFailures >= MAX_WRONG_CODES) {
      session.deviceFailures = 0
      session.deviceLockedUntil = Date.now() + LOCK_MS
      return {error: 'too_many_attempts', message: `${error.message} That was the ${MAX_WRONG_CODES}th wrong code: codes cannot be entered for ${LOCK_MS / 60_000} minutes.`, locked: true}
    }
    const left = MAX_WRONG_CODES - session.deviceFailures
    const kind = error instanceof InvalidInputError ? 'invalid_request' : 'invalid_grant'
    return {error: kind, message: `${error.message} Check the code on the device and try again (${left} attempt${left === 1 ? '' : 's'} left).`, locked: false}
  }
  if (error instanceof ConflictError) return {error: 'invalid_grant', message: error.message, locked: false}
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
