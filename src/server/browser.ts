import {createHash, timingSafeEqual} from 'node:crypto'

import type {RequestContext} from './context.js'
import {noteError, type Params, sendHtml, sendJson, wantsJson} from './http.js'
import type {Session} from './session.js'
import {errorPage, type ErrorView} from './views/error.js'

/**
 * Shared pieces of the browser-facing endpoints (sign-in, consent, device pages): the session
 * cookie, CSRF checks, safe return paths and error pages.
 */

/**
 * The request's session, or a new transient one (stored only once something is kept in it, see
 * SessionStore); `headers` carries the Set-Cookie to send.
 */
export function ensureSession(ctx: RequestContext): {session: Session; headers: Record<string, string>} {
  const {session, created} = ctx.sessions.current(ctx.req)
  return {session, headers: created ? cookieHeader(ctx, session) : {}}
}

export function cookieHeader(ctx: RequestContext, session: Session): Record<string, string> {
  return {'Set-Cookie': ctx.sessions.cookie(session, ctx.authority.issuer.startsWith('https:'))}
}

/** Constant-time comparison of a presented CSRF token with the session's. */
export function csrfMatches(session: Session | undefined, presented: string | undefined): session is Session {
  if (!session || presented === undefined) return false
  const a = createHash('sha256').update(presented).digest()
  const b = createHash('sha256').update(session.csrf).digest()
  return timingSafeEqual(a, b)
}

/** The CSRF token a POST carries: the `csrf` field, or the `X-CSRF-Token` header (JSON callers). */
export function presentedCsrf(ctx: RequestContext, field: () => string | undefined): string | undefined {
  let value: string | undefined
  try {
    value = field()
  } catch {
    return undefined
  }
  if (value !== undefined) return value
  const header = ctx.req.headers['x-csrf-token']
  return typeof header === 'string' && header !== '' ? header : undefined
}

/** This request's path and query, to come back to after signing in. */
export function currentPath(ctx: RequestContext): string {
  return `${ctx.url.pathname}${ctx.url.search}`
}

/**
 * A return path is only followed when it points at this server's authorization or device page
 * (never an absolute URL or `//host`: no open redirect).
 */
export function safeReturnTo(ctx: RequestContext, value: string | undefined): string | undefined {
  if (value === undefined || /[\s\\]/.test(value)) return undefined
  const prefix = ctx.options.prefix
  const targets = [`${prefix}/authorize`, `${prefix}/device`]
  for (const target of targets) {
    if (value === target || value.startsWith(`${target}?`)) return value
  }
  return undefined
}

/** An error page (HTML) or `{error, error_description}` (JSON callers), never a redirect. */
export function sendErrorPage(ctx: RequestContext, status: number, view: ErrorView & {error: string}, headers: Record<string, string> = {}): void {
  noteError(ctx.res, view.error)
  if (wantsJson(ctx.req)) {
    sendJson(ctx.res, status, {error: view.error, error_description: view.fix ? `${view.message} ${view.fix}` : view.message}, {'Cache-Control': 'no-store', ...headers})
    return
  }
  sendHtml(ctx.res, status, errorPage(view), headers)
}

/** 403 for a POST whose CSRF token is missing or wrong: nothing was changed. */
export function sendCsrfFailure(ctx: RequestContext, session: Session | undefined): void {
  sendErrorPage(ctx, 403, {
    error: 'invalid_request',
    title: 'Request refused',
    message: session
      ? 'The form’s security token (csrf) is missing or does not match your session, so nothing was changed.'
      : 'Your session has expired or your browser did not send its cookie, so nothing was changed.',
    fix: 'Go back, reload the page and try again. JSON callers send the csrf token from the page or the JSON answer as "csrf" or in an X-CSRF-Token header, with the session cookie.',
    ...(session?.userId ? {user: session.userId} : {}),
  })
}

/** Content-Security-Policy of a page whose form may end in a redirect to `redirectUri`. */
export function cspAllowingRedirect(base: string, redirectUri: string): string {
  let scheme: string
  try {
    scheme = new URL(redirectUri).protocol
  } catch {
    return base
  }
  if (scheme === 'http:' || scheme === 'https:' || !/^[a-z][a-z0-9+.-]*:$/.test(scheme)) return base
  return base.replace("form-action 'self' http: https:", `form-action 'self' http: https: ${scheme}`)
}

/** A form's approve / deny answer: `action=approve|deny`, or `approved=true|false`; not both. */
export function formDecision(params: Params): boolean | undefined {
  const action = params.get('action')
  const approved = params.boolean('approved')
  if (action !== undefined && approved !== undefined) throw new Error('Send either action or approved, not both.')
  if (action === undefined) return approved
  if (action === 'approve') return true
  if (action === 'deny') return false
  throw new Error(`action must be approve or deny, not "${action}".`)
}
