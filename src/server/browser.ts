import {createHash, timingSafeEqual} from 'node:crypto'

import type {RequestContext} from './context.js'
import type {Params} from './http.js'
import type {Session} from './session.js'

/**
 * Shared pieces of the browser-facing endpoints (sign-in, consent, device pages): the session
 * cookie, CSRF checks and safe return paths (their answers: ./respond.ts).
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
