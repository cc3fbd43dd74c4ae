/**
 * Limits on guessing device user codes (RFC 8628 §5.1): wrong codes are counted per signed-in
 * subject (a new browser session does not reset them) and for the whole server (signing in as
 * someone else does not help either). Memory is bounded: at most {@link LockoutLimits.subjects}
 * subjects are tracked, the least recently failing forgotten first.
 */

export interface LockoutLimits {
  /** Wrong codes one subject may enter before being locked out. */
  perSubject: number
  /** How long a subject stays locked out, ms. */
  lockMs: number
  /** Wrong codes the whole server accepts per window before refusing every code until it ends. */
  global: number
  globalWindowMs: number
  /** Subjects tracked at once. */
  subjects: number
}

export const DEFAULT_LOCKOUT_LIMITS: LockoutLimits = {
  perSubject: 5,
  lockMs: 5 * 60_000,
  global: 30,
  globalWindowMs: 60_000,
  subjects: 10_000,
}

export type LockoutState =
  {locked: false; attemptsLeft: number} | {locked: true; scope: 'subject' | 'server'; seconds: number; message: string}

interface SubjectEntry {
  failures: number
  lockedUntil?: number
}

export class UserCodeLockout {
  private readonly subjects = new Map<string, SubjectEntry>()
  private windowStart = 0
  private windowFailures = 0

  /** @param clock the authority's clock (lock expiry follows it). */
  constructor(
    private readonly clock: {now(): number} = {now: Date.now},
    readonly limits: LockoutLimits = DEFAULT_LOCKOUT_LIMITS,
  ) {}

  /** Whether `subject` may enter a code now; an expired lock is lifted. */
  check(subject: string, now = this.clock.now()): LockoutState {
    const entry = this.subjects.get(subject)
    if (entry?.lockedUntil !== undefined) {
      if (entry.lockedUntil > now) return this.subjectLock(entry.lockedUntil, now)
      this.subjects.delete(subject)
    }
    if (this.globalLocked(now)) return this.serverLock(now)
    return {locked: false, attemptsLeft: this.limits.perSubject - (this.subjects.get(subject)?.failures ?? 0)}
  }

  /** Counts a wrong (malformed or unknown) code; returns the state after it. */
  fail(subject: string, now = this.clock.now()): LockoutState {
    if (now - this.windowStart >= this.limits.globalWindowMs) {
      this.windowStart = now
      this.windowFailures = 0
    }
    this.windowFailures += 1
    const entry = this.subjects.get(subject) ?? {failures: 0}
    // Re-inserted: the map stays in order of the last failure, so eviction drops the stalest.
    this.subjects.delete(subject)
    entry.failures += 1
    if (entry.failures >= this.limits.perSubject) {
      entry.failures = 0
      entry.lockedUntil = now + this.limits.lockMs
    }
    this.subjects.set(subject, entry)
    while (this.subjects.size > this.limits.subjects) this.subjects.delete(this.subjects.keys().next().value!)
    if (entry.lockedUntil !== undefined) return this.subjectLock(entry.lockedUntil, now)
    if (this.globalLocked(now)) return this.serverLock(now)
    return {locked: false, attemptsLeft: this.limits.perSubject - entry.failures}
  }

  private globalLocked(now: number): boolean {
    return now - this.windowStart < this.limits.globalWindowMs && this.windowFailures >= this.limits.global
  }

  private subjectLock(until: number, now: number): LockoutState {
    const seconds = Math.ceil((until - now) / 1000)
    const minutes = Math.ceil(seconds / 60)
    return {
      locked: true,
      scope: 'subject',
      seconds,
      message: `Too many wrong codes (${this.limits.perSubject}). For your safety, codes cannot be entered for ${minutes} more minute${minutes === 1 ? '' : 's'}.`,
    }
  }

  private serverLock(now: number): LockoutState {
    const seconds = Math.max(1, Math.ceil((this.windowStart + this.limits.globalWindowMs - now) / 1000))
    return {
      locked: true,
      scope: 'server',
      seconds,
      message: `Too many wrong codes on this server (${this.limits.global} within ${this.limits.globalWindowMs / 1000} seconds, RFC 8628 §5.1). For everyone's safety, codes cannot be entered for ${seconds} more second${seconds === 1 ? '' : 's'}.`,
    }
  }
}

/**
 * How many device authorizations may wait for a user at once (RFC 8628 §5.1–5.2): every pending
 * code is one more target for a guessed user code, and anonymous callers create them.
 */
export interface DeviceAuthorizationLimits {
  perClient: number
  global: number
}

export const DEFAULT_DEVICE_AUTHORIZATION_LIMITS: DeviceAuthorizationLimits = {perClient: 100, global: 1_000}

/**
 * Why a new device authorization for `clientId` is refused now, with the seconds until a slot
 * frees up (the oldest pending code expires), or undefined.
 */
export function deviceAuthorizationRefusal(
  pending: (clientId?: string) => {count: number; oldestExpiresAt: number | null},
  clientId: string,
  now = Date.now(),
  limits: DeviceAuthorizationLimits = DEFAULT_DEVICE_AUTHORIZATION_LIMITS,
): {message: string; retryAfter: number} | undefined {
  const retry = (oldest: number | null) => Math.max(1, Math.ceil(((oldest ?? now) - now) / 1000))
  const mine = pending(clientId)
  if (mine.count >= limits.perClient) {
    return {
      message: `Client ${clientId} already has ${mine.count} device authorizations waiting for a user (the limit is ${limits.perClient}); let them expire or complete first.`,
      retryAfter: retry(mine.oldestExpiresAt),
    }
  }
  const all = pending()
  if (all.count >= limits.global) {
    return {
      message: `This server already has ${all.count} device authorizations waiting for a user (the limit is ${limits.global}); let them expire or complete first.`,
      retryAfter: retry(all.oldestExpiresAt),
    }
  }
  return undefined
}
