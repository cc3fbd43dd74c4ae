import {createHmac, randomBytes} from 'node:crypto'
import type {IncomingMessage} from 'node:http'

import type {AuthorizationRequest} from '../core/authorization/request.js'
import {randomToken} from '../core/crypto.js'

/** The session cookie's name before the server knows its port (see {@link SessionStore.useCookieName}). */
export const SESSION_COOKIE = 'passport_session'

export interface Session {
  id: string
  /** Anti-CSRF token bound to this session (an HMAC of its id); every state-changing form must echo it. */
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
  /** Clients this user consented to in this session, with the scopes granted. */
  consents: Map<string, Set<string>>
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
  /** The validated request without its client row (read again at decision time). */
  request: Omit<AuthorizationRequest, 'client'> & {clientId: string}
  /** Who saw the consent page; the decision must come from the same user. */
  userId: string
  expiresAt: number
}

/**
 * A waiting request as kept: bound to the id of the session (stored or transient) that saw the
 * consent page, and serialized into a Buffer, so the client-supplied values it carries (`state`,
 * `nonce`, … up to the ~16 KB request line) live outside the JS heap and are counted exactly
 * against {@link SessionLimits.pendingBytes}.
 */
interface PackedPending {
  sessionId: string
  packed: Buffer
  userId: string
  expiresAt: number
}

/** Idle lifetime of a session: each use extends it. */
export const SESSION_TTL = 12 * 60 * 60 * 1000
/** How long a consent page stays answerable. */
export const PENDING_TTL = 10 * 60_000

/** Limits on what callers can make the server remember (the least recently used evicted first). */
export interface SessionLimits {
  /** Sessions held at once. */
  sessions: number
  /** Consent requests waiting, across all sessions. */
  pending: number
  /** Their serialized size in all (each is up to ~16 KB: the request line limit). */
  pendingBytes: number
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = {sessions: 5_000, pending: 1_000, pendingBytes: 1024 * 1024}

/** A session id as {@link randomToken} makes them (32 random bytes, base64url). */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/

/**
 * In-memory sign-in sessions for the development login: a restart signs everyone out.
 *
 * A session is stored only once something must be remembered across requests (a signed-in
 * user, consents given, a "try it" flow). Until then it is transient: its id lives only in the
 * cookie and its CSRF token is an HMAC of that id under a per-process key, so sign-in, device and
 * consent pages cost no session however many cookie-less requests arrive. Consent requests
 * waiting for an answer are kept apart, bound to the session id, within a count and a byte
 * budget. Both maps are capped with the least recently used entry evicted first, and kept in
 * order of last use, which is also expiry order, so expiring them costs O(1) amortised.
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>()
  /** Every waiting consent request by id, oldest first. */
  private readonly pending = new Map<string, PackedPending>()
  private pendingBytes = 0
  private readonly key = randomBytes(32)
  private cookieName = SESSION_COOKIE

  /** @param clock the authority's clock, which session expiry reads. */
  constructor(
    private readonly clock: {now(): number} = {now: Date.now},
    private readonly limits: SessionLimits = DEFAULT_SESSION_LIMITS,
  ) {}

  /** Names the cookie (after the listening port, so servers on other localhost ports do not overwrite it). */
  useCookieName(name: string): void {
    this.cookieName = name
  }

  get name(): string {
    return this.cookieName
  }

  /** Sessions and waiting consent requests held now. */
  get size(): {sessions: number; pending: number; pendingBytes: number} {
    return {sessions: this.sessions.size, pending: this.pending.size, pendingBytes: this.pendingBytes}
  }

  /** The request's stored session, if its cookie names a live one (its idle lifetime starts again). */
  find(req: IncomingMessage, now = this.clock.now()): Session | undefined {
    const id = readCookie(req, this.cookieName)
    if (!id) return undefined
    const session = this.sessions.get(id)
    if (!session) return undefined
    this.sessions.delete(id)
    if (session.expiresAt <= now) return undefined
    session.expiresAt = now + SESSION_TTL
    this.sessions.set(id, session)
    return session
  }

  /**
   * The request's session: the stored one, else a transient one for the cookie's id (so a CSRF
   * token handed out earlier still matches), else undefined when the request carries no cookie.
   */
  fromCookie(req: IncomingMessage, now = this.clock.now()): Session | undefined {
    const stored = this.find(req, now)
    if (stored) return stored
    const id = readCookie(req, this.cookieName)
    return id !== undefined && SESSION_ID.test(id) ? this.transient(id, now) : undefined
  }

  /** The request's session, or a new transient one (the caller must then send {@link cookie}). */
  current(req: IncomingMessage, now = this.clock.now()): {session: Session; created: boolean} {
    const existing = this.fromCookie(req, now)
    if (existing) return {session: existing, created: false}
    return {session: this.transient(randomToken(), now), created: true}
  }

  /** Is this session stored (rather than transient)? */
  isStored(session: Session): boolean {
    return this.sessions.get(session.id) === session
  }

  /** Stores a transient session (it now has something to remember); evicts the least recently used beyond the cap. */
  keep(session: Session, now = this.clock.now()): Session {
    if (this.isStored(session)) return session
    this.expire(now)
    while (this.sessions.size >= this.limits.sessions) this.remove(this.sessions.values().next().value!)
    session.expiresAt = now + SESSION_TTL
    this.sessions.set(session.id, session)
    return session
  }

  /**
   * Replaces a session by a new transient one with fresh id and CSRF token (on sign-in and
   * sign-out, against session fixation); a "try it" flow in progress carries over (it signs in
   * halfway), and then the new session is stored.
   */
  rotate(session: Session, now = this.clock.now()): Session {
    this.remove(session)
    const next = this.transient(randomToken(), now)
    if (session.demo !== undefined && session.demo.expiresAt > now) {
      next.demo = session.demo
      this.keep(next, now)
    }
    return next
  }

  destroy(session: Session): void {
    this.remove(session)
  }

  /** Keeps a validated authorization request for the consent of `session` (stored or transient). */
  addPending(session: Session, request: AuthorizationRequest, userId: string, now = this.clock.now()): {id: string} {
    this.expirePending(now)
    const {client, ...rest} = request
    const packed = Buffer.from(JSON.stringify({...rest, clientId: client.id}))
    while (
      this.pending.size > 0 &&
      (this.pending.size >= this.limits.pending || this.pendingBytes + packed.length > this.limits.pendingBytes)
    ) {
      this.dropPending(this.pending.keys().next().value!)
    }
    const id = randomToken()
    this.pending.set(id, {sessionId: session.id, packed, userId, expiresAt: now + PENDING_TTL})
    this.pendingBytes += packed.length
    return {id}
  }

  /** The waiting request with this id for this session, removed (a decision is taken once); undefined when gone or expired. */
  takePending(session: Session, id: string, now = this.clock.now()): PendingAuthorization | undefined {
    const found = this.findPending(session, id, now)
    if (this.pending.get(id)?.sessionId === session.id) this.dropPending(id)
    return found
  }

  /** The waiting request with this id for this session, left waiting; undefined when gone or expired. */
  findPending(session: Session, id: string, now = this.clock.now()): PendingAuthorization | undefined {
    const entry = this.pending.get(id)
    if (!entry || entry.sessionId !== session.id || entry.expiresAt <= now) return undefined
    return {
      id,
      request: JSON.parse(entry.packed.toString()) as PendingAuthorization['request'],
      userId: entry.userId,
      expiresAt: entry.expiresAt,
    }
  }

  /** Set-Cookie value: HttpOnly, SameSite=Lax, scoped to the whole server. */
  cookie(session: Session, secure: boolean): string {
    return `${this.cookieName}=${session.id}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${SESSION_TTL / 1000}${secure ? '; Secure' : ''}`
  }

  clearCookie(secure = false): string {
    return `${this.cookieName}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0${secure ? '; Secure' : ''}`
  }

  private transient(id: string, now: number): Session {
    const csrf = createHmac('sha256', this.key).update(id).digest('base64url')
    return {id, csrf, consents: new Map(), expiresAt: now + SESSION_TTL}
  }

  private remove(session: Session): void {
    if (this.isStored(session)) this.sessions.delete(session.id)
  }

  private dropPending(id: string): void {
    const entry = this.pending.get(id)
    if (!entry) return
    this.pending.delete(id)
    this.pendingBytes -= entry.packed.length
  }

  /** Drops expired sessions from the front (order of last use is expiry order). */
  private expire(now: number): void {
    for (const session of this.sessions.values()) {
      if (session.expiresAt > now) break
      this.sessions.delete(session.id)
    }
  }

  private expirePending(now: number): void {
    for (const [id, entry] of this.pending) {
      if (entry.expiresAt > now) break
      this.dropPending(id)
    }
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
