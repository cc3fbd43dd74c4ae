import {ConflictError, InvalidInputError, NotFoundError, SubjectError} from '../../errors.js'
import type {LockoutState, UserCodeLockout} from './lockout.js'

/**
 * What the person is told when a typed user code cannot be used (RFC 8628 §3.3, §5.1), and
 * whether codes are locked for them now. The device page shows it (a locked page has no field);
 * API callers get `error` and the message as `error_description`.
 */
export type UserCodeRefusal =
  | {locked: false; error: 'invalid_request' | 'invalid_grant'; message: string}
  /** `retryAfter`: seconds until a code may be entered again. */
  | {locked: true; error: 'too_many_attempts'; message: string; retryAfter: number}

/** The refusal of any code while the subject or the server is locked out. */
export function lockedRefusal(state: Extract<LockoutState, {locked: true}>): UserCodeRefusal {
  return {locked: true, error: 'too_many_attempts', message: state.message, retryAfter: state.seconds}
}

/**
 * Why the code `subject` typed cannot be used, given the error looking it up or deciding it threw.
 * Malformed and unknown codes count as wrong (per subject and server-wide, see
 * {@link UserCodeLockout}); the one that reaches a limit locks. Expired and already-decided codes
 * are real codes and do not count; nor does a right code the subject may not approve (its id is
 * the client's). Undefined for an error that says nothing about the code (a fault).
 */
export function refuseUserCode(
  lockout: UserCodeLockout,
  subject: string,
  error: unknown,
  now?: number,
): UserCodeRefusal | undefined {
  if (error instanceof SubjectError) return {locked: false, error: 'invalid_request', message: error.message}
  if (error instanceof ConflictError) return {locked: false, error: 'invalid_grant', message: error.message}
  if (!(error instanceof InvalidInputError || error instanceof NotFoundError)) return undefined
  const state = lockout.fail(subject, now)
  if (state.locked) {
    const why =
      state.scope === 'subject'
        ? `That was the ${ordinal(lockout.limits.perSubject)} wrong code: codes cannot be entered for ${count(Math.ceil(state.seconds / 60), 'minute')}.`
        : state.message
    return {locked: true, error: 'too_many_attempts', message: `${error.message} ${why}`, retryAfter: state.seconds}
  }
  return {
    locked: false,
    error: error instanceof InvalidInputError ? 'invalid_request' : 'invalid_grant',
    message: `${error.message} Check the code on the device and try again (${count(state.attemptsLeft, 'attempt')} left).`,
  }
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`
}

/** 1st, 2nd, 3rd, 4th, …, 11th, 12th, 13th, 21st. */
function ordinal(n: number): string {
  const teen = n % 100 >= 11 && n % 100 <= 13
  const suffix = teen ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th')
  return `${n}${suffix}`
}
