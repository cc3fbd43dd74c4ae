import type {IncomingMessage} from 'node:http'

import type {AuthorizationRequest} from '../core/authorization.js'
import {randomToken} from '../core/crypto.js'

export const SESSION_COOKIE = 'passport_session'

export interface Session {
  id: string
  /** Anti-CSRF token bound to this session; every state-changing form must echo it. */
  csrf: string
  /** Signed-in subject. */
  userId?: string
  authTime?: number
  /** Claims the person added for this sign-in (the sign-in page's claims field). */
  loginClaims?: Record<string, unknown>
  /**
   * The path the person signed in for (the sign-in form's return path). An authorization request
   * at exactly this path counts as freshly signed in once, so `prompt=login` and `max_age` do not
   * send the person back to the sign-in page in a loop.
   */
  signedInFor?: string
  /** Failed user-code attempts on the device page (RFC 8628 §5.1), and when the lock ends. */
  deviceFailures: number
  deviceLockedUntil?: number
  /** Clients this user consented to in this session, with the scopes granted. */
  consents: Map<string, Set<string>>
  /** Authorization requests waiting for this session's consent, by request id (server-side, so nothing can be tampered with). */
  pending: Map<string, PendingAuthorization>
  /** The dashboard's "try it" flow in progress: its state, PKCE verifier and nonce. */
  demo?: DemoFlow
  expiresAt: number
}

export interface DemoFlow {
  state: string
  verifier: string
  nonce: string
  expiresAt: number
}

/** A validated authorization request shown on the consent page and awaiting approve / deny. */
export interface PendingAuthorization {
  id: string
  request: AuthorizationRequest
  /** Who saw the consent page; the decision must come from the same user. */
  userId: string
  expiresAt: number
}

const SESSION_TTL = 12 * 60 * 60 * 1000

/** In-memory sign-in sessions for the development login: a restart signs everyone out. */
export class SessionStore {
  private readonly sessions = new Map<string, Session>()

  /** @param clock the authority's clock, which session expiry reads. */
  constructor(private readonly clock: {now(): number} = {now: Date.now}) {}

  /** The request's session, if its cookie names a live one. */
  find(req: IncomingMessage, now = this.clock.now()): Session | undefined {
    const id = readCookie(req, SESSION_COOKIE)
    if (!id) return undefined
    const session = this.sessions.get(id)
    if (!session) return undefined
    if (session.expiresAt <= now) {
      this.sessions.delete(id)
      return undefined
    }
    return session
  }

  /** The request's session, or a new one (the caller must then send {@link cookie}). */
  findOrCreate(req: IncomingMessage, now = this.clock.now()): {session: Session; created: boolean} {
    const existing = this.find(req, now)
    if (existing) return {session: existing, created: false}
    return {session: this.create(now), created: true}
  }

  /** A new, empty session (the caller must then send {@link cookie}). */
  create(now = this.clock.now()): Session {
    this.sweep(now)
    const session: Session = {id: randomToken(), csrf: randomToken(), deviceFailures: 0, consents: new Map(), pending: new Map(), expiresAt: now + SESSION_TTL}
    this.sessions.set(session.id, session)
    return session
  }

  /**
   * Replaces a session by a new one with fresh id and CSRF token (on sign-in, against session
   * fixation). The device-code failure count and lock carry over, so signing in again does not
   * reset them; so does a "try it" flow in progress (it signs in halfway).
   */
  rotate(session: Session, now = this.clock.now()): Session {
    this.sessions.delete(session.id)
    const next = this.create(now)
    next.deviceFailures = session.deviceFailures
    if (session.deviceLockedUntil !== undefined) next.deviceLockedUntil = session.deviceLockedUntil
    if (session.demo !== undefined) next.demo = session.demo
    return next
  }

  destroy(session: Session): void {
    this.sessions.delete(session.id)
  }

  /** Set-Cookie value: HttpOnly, SameSite=Lax, scoped to the whole server. */
  cookie(session: Session, secure: boolean): string {
    return `${SESSION_COOKIE}=${session.id}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${SESSION_TTL / 1000}${secure ? '; Secure' : ''}`
  }

  clearCookie(): string {
    return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`
  }

  private sweep(now: number): void {
    if (this.sessions.size < 1000) return
    for (const [id, session] of this.sessions) if (session.expiresAt <= now) this.sessions.delete(id)
  }
}

export function readCookie(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie
  if (!header) return undefined
  for (const part of header.split(';')) {
    const index = part.indexOf('=')
    if (index === -1) continue
    if (part.slice(0, index).trim() === name) return part.slice(index + 1).trim()
  }
  return undefined
}
