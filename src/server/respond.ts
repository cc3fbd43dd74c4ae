import type {IncomingMessage, ServerResponse} from 'node:http'

import type {SignInRequired} from '../core/authorization/interaction.js'
import {authorizationResponseUri} from '../core/uris.js'
import {OAuthError} from '../errors.js'
import {currentPath, ensureSession} from './browser.js'
import type {RequestContext} from './context.js'
import {isJsonBody, NO_STORE, noteError, redirect, rfcText, sendHtml, sendJson} from './http.js'
import type {Session} from './session.js'
import {errorPage, type ErrorView} from './views/error.js'
import {signInPage} from './views/sign-in.js'

/**
 * The one place where what an endpoint decided becomes a response: an HTML page for a browser,
 * JSON for an API caller, or a redirect to the client (node-oidc-provider's `error_handler`).
 * Endpoints parse, let the core decide, and answer through these functions; none of them looks
 * at the Accept header itself.
 */

/** The request and the response, all that answering needs. */
type Exchange = Pick<RequestContext, 'req' | 'res'>

/**
 * Does this caller read JSON? Decided once per request: `Accept` naming JSON and not HTML (the
 * seed's API), or a JSON body (no HTML form sends one), is an API caller; `Accept` naming HTML is
 * a browser; without either, `fallback` (pages default to HTML).
 */
function answersJson(req: IncomingMessage, fallback: 'html' | 'json'): boolean {
  const accept = req.headers.accept ?? ''
  if (accept.includes('application/json') && !accept.includes('text/html')) return true
  if (isJsonBody(req)) return true
  if (accept.includes('text/html')) return false
  return fallback === 'json'
}

export interface JsonAnswer {
  status: number
  body: unknown
  /** Sent with `Cache-Control: no-store`. */
  headers?: Record<string, string>
}

export interface HtmlAnswer {
  status: number
  page: string
  /** Sent over the page headers (no framing, strict CSP, no-store). */
  headers?: Record<string, string>
}

/** One answer in both forms; only the one sent is built. */
export interface Answer {
  json: () => JsonAnswer
  html: () => HtmlAnswer
}

/** Sends the form of `answer` this caller reads. */
export function respond(exchange: Exchange, answer: Answer, fallback: 'html' | 'json' = 'html'): void {
  if (answersJson(exchange.req, fallback)) {
    const {status, body, headers} = answer.json()
    sendJson(exchange.res, status, body, {'Cache-Control': 'no-store', ...headers})
    return
  }
  const {status, page, headers} = answer.html()
  sendHtml(exchange.res, status, page, headers)
}

/** An error page, or `{error, error_description}` (message and fix) for API callers; never a redirect. */
export function respondError(
  exchange: Exchange,
  status: number,
  view: ErrorView & {error: string},
  headers: Record<string, string> = {},
  fallback: 'html' | 'json' = 'html',
): void {
  noteError(exchange.res, view.error)
  respond(
    exchange,
    {
      json: () => ({
        status,
        body: {error: view.error, error_description: view.fix ? `${view.message} ${view.fix}` : view.message},
        headers,
      }),
      html: () => ({status, page: errorPage(view), headers}),
    },
    fallback,
  )
}

/** 403 for a POST whose CSRF token is missing or wrong: nothing was changed. */
export function respondCsrfFailure(exchange: Exchange, session: Session | undefined): void {
  respondError(exchange, 403, {
    error: 'invalid_request',
    title: 'Request refused',
    message: session
      ? 'The form’s security token (csrf) is missing or does not match your session, so nothing was changed.'
      : 'Your session has expired or your browser did not send its cookie, so nothing was changed.',
    fix: 'Go back, reload the page and try again. JSON callers send the csrf token from the page or the JSON answer as "csrf" or in an X-CSRF-Token header, with the session cookie.',
    ...(session?.userId ? {user: session.userId} : {}),
  })
}

/** A route that does not exist: a page a browser can read, JSON for everyone else. */
export function respondNotFound(exchange: Exchange, pathname: string): void {
  noteError(exchange.res, 'not_found')
  respond(
    exchange,
    {
      json: () => ({status: 404, body: {error: 'not_found', error_description: `No route ${pathname}.`}}),
      html: () => ({
        status: 404,
        page: errorPage({
          title: 'Page not found',
          message: `There is no page at ${pathname} on this server.`,
          fix: 'Check the address; the dashboard lists every endpoint.',
        }),
      }),
    },
    'json',
  )
}

/**
 * The authorization response (RFC 6749 §4.1.2 and §4.1.2.1, RFC 9207): a redirect to the verified
 * redirect URI with `code` or `error` and `error_description` (in the RFC's character set, as
 * every error description), then `state` and `iss`.
 */
export function respondToClient(
  ctx: Exchange & Pick<RequestContext, 'authority'>,
  target: {redirectUri: string; state: string | undefined},
  result: {code: string} | {error: string; description: string},
  status: 302 | 303,
): void {
  const response =
    'code' in result ? {code: result.code} : {error: result.error, error_description: rfcText(result.description)}
  redirect(
    ctx.res,
    authorizationResponseUri(target.redirectUri, {...response, state: target.state, iss: ctx.authority.issuer}),
    status,
  )
}

export interface SignInOptions {
  returnTo?: string
  subject?: string
  purpose?: string
  error?: string
  status?: number
  /** Prefills the claims field (after a refused sign-in). */
  claims?: string
}

/** The sign-in page (creating the session that carries its CSRF token). */
function signInAnswer(ctx: RequestContext, options: SignInOptions): HtmlAnswer {
  const {session, headers} = ensureSession(ctx)
  const users = Object.entries(ctx.authority.config.users).map(([id, user]) => ({
    id,
    ...(user.name === undefined ? {} : {name: user.name}),
    ...(user.email === undefined ? {} : {email: user.email}),
  }))
  const page = signInPage({
    action: `${ctx.options.prefix}/login`,
    csrf: session.csrf,
    returnTo: options.returnTo ?? currentPath(ctx),
    users,
    ...(options.subject === undefined ? {} : {subject: options.subject}),
    ...(options.purpose === undefined ? {} : {purpose: options.purpose}),
    ...(options.error === undefined ? {} : {error: options.error}),
    ...(options.claims === undefined ? {} : {claims: options.claims}),
  })
  return {status: options.status ?? 200, page, headers}
}

/** The sign-in page again, after a refused sign-in (the sign-in form's own answers). */
export function sendSignInPage(ctx: RequestContext, options: SignInOptions): void {
  const {status, page, headers} = signInAnswer(ctx, options)
  sendHtml(ctx.res, status, page, headers)
}

/**
 * Someone must sign in first: the sign-in page coming back to this URL (400 with the problem
 * when the signed-in subject cannot be used); for API callers `error` (401 `login_required`,
 * else 400) with its description.
 */
export function respondSignIn(ctx: RequestContext, signIn: SignInRequired): void {
  respond(ctx, {
    json: () => ({
      status: signIn.error === 'login_required' ? 401 : 400,
      body: {error: signIn.error, error_description: signIn.description},
    }),
    html: () =>
      signInAnswer(ctx, {
        returnTo: currentPath(ctx),
        purpose: signIn.purpose,
        ...(signIn.subject === undefined ? {} : {subject: signIn.subject}),
        ...(signIn.problem === undefined ? {} : {status: 400, error: signIn.problem}),
      }),
  })
}

/**
 * The funnel from a thrown error to a response: an {@link OAuthError} becomes its RFC status
 * and `{error, error_description}`; anything else is logged (message only, never request data)
 * and answered as a bare `server_error` — a storage failure as 503, the rest as 500.
 */
export function sendError(res: ServerResponse, error: unknown, log?: (line: string) => void): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  if (error instanceof OAuthError) {
    sendJson(
      res,
      error.status,
      {error: error.code, error_description: rfcText(error.message)},
      {...NO_STORE, ...error.headers},
    )
    return
  }
  const storage = isStorageError(error)
  log?.(`error: ${storage ? 'storage unavailable' : 'unexpected fault'}: ${describe(error)}`)
  const status = storage ? 503 : 500
  sendJson(
    res,
    status,
    {
      error: storage ? 'temporarily_unavailable' : 'server_error',
      error_description: storage
        ? 'The database is busy or unavailable; retry shortly.'
        : 'An unexpected error occurred.',
    },
    {...NO_STORE},
  )
}

function isStorageError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as {name?: string}).name === 'SqliteError'
}

/** The error's class and code only: messages may quote request data, which may hold secrets. */
function describe(error: unknown): string {
  if (error instanceof Error)
    return `${error.name}${(error as {code?: string}).code ? ` (${(error as {code?: string}).code})` : ''}`
  return typeof error
}
