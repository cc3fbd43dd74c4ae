import {SubjectError} from '../errors.js'

/**
 * The one subject rule: what may stand in `sub` (a user id). The configuration's `users` keys,
 * {@link mintToken} and `passport token --user`, the sign-in page, `login_hint`, `--login-as`
 * and device approval all check through here, so a subject refused in one place is refused in
 * every other.
 *
 * A subject is 1–255 characters, does not start or end with white space, and holds no C0 or C1
 * control characters and no bidirectional controls (U+061C, U+200E, U+200F, U+202A–U+202E,
 * U+2066–U+2069): such a subject prints differently from what it is in `token:list`, logs and
 * pages (Trojan Source, CVE-2021-42574).
 */

export const MAX_SUBJECT_LENGTH = 255

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/

/** Why `subject` cannot be a subject (one sentence), or undefined when it can. */
export function subjectProblem(subject: string): string | undefined {
  if (subject.trim() === '') return 'Enter a subject (a user id such as alice).'
  if (subject !== subject.trim()) return 'A subject must not start or end with spaces.'
  if (subject.length > MAX_SUBJECT_LENGTH) return `A subject is at most ${MAX_SUBJECT_LENGTH} characters.`
  if (CONTROL.test(subject)) return 'A subject must not contain control characters.'
  if (BIDI.test(subject))
    return 'A subject must not contain bidirectional control characters (U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069).'
  return undefined
}

/**
 * Why `subject` cannot be the user of a token issued to client `clientId`, or undefined: the
 * subject rule, and a user's subject must differ from the client's id, or the token would read
 * as the client's own (client credentials: `sub` = `client_id`, no user).
 */
export function userSubjectProblem(subject: string, clientId: string): string | undefined {
  const problem = subjectProblem(subject)
  if (problem) return problem
  if (subject === clientId) {
    return `The user "${subject}" has the id of the client it would be issued to; such a token would read as a client-credentials token (sub = client_id).`
  }
  return undefined
}

/** Throws {@link SubjectError} unless `subject` is a subject; `what` names it in the message. */
export function assertSubject(subject: string, what = 'The user'): string {
  const problem = subjectProblem(subject)
  if (problem) throw new SubjectError(`${what} "${printable(subject)}" is not a subject: ${problem}`)
  return subject
}

/** Throws {@link SubjectError} unless `subject` may be the user of a token for `clientId`. */
export function assertUserSubject(subject: string, clientId: string): string {
  assertSubject(subject)
  const problem = userSubjectProblem(subject, clientId)
  if (problem) throw new SubjectError(problem)
  return subject
}

/** A refused subject quoted in a message: control and bidi characters shown as `\u{…}` escapes. */
export function printable(subject: string): string {
  return subject.replace(
    new RegExp(`${CONTROL.source}|${BIDI.source}`, 'gu'),
    (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`,
  )
}
