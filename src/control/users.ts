import {userClaimProblem} from '../core/claims.js'
import {subjectProblem} from '../core/subjects.js'
import type {UserConfig} from '../core/config.js'
import {ControlInputError} from './faults.js'

/** A user as `users.set(sub, user)` and `PUT /_passport/users/{sub}` take it: the config file's shape. */
export interface UserInput {
  name?: string
  email?: string
  email_verified?: boolean
  claims?: Record<string, unknown>
}

const USER_KEYS = ['name', 'email', 'email_verified', 'claims']

function bad(field: string, message: string): never {
  throw new ControlInputError(field, `"${field}" ${message}`)
}

/**
 * Checks a user set at run time by the rules of the config file's `users` (and the subject rules
 * of the sign-in page); throws {@link ControlInputError} naming the field.
 */
export function checkUser(sub: unknown, input: unknown): {sub: string; user: UserConfig} {
  if (typeof sub !== 'string') bad('sub', 'must be a string.')
  const problem = subjectProblem(sub)
  if (problem) bad('sub', `is not a usable subject: ${problem}`)
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    bad('user', 'must be an object with name, email, email_verified and claims.')
  const u = input as Record<string, unknown>
  for (const key of Object.keys(u))
    if (!USER_KEYS.includes(key)) bad(key, `is not a user key; use ${USER_KEYS.join(', ')}.`)
  if (u.name !== undefined && typeof u.name !== 'string') bad('name', 'must be a string.')
  if (u.email !== undefined && typeof u.email !== 'string') bad('email', 'must be a string.')
  if (u.email_verified !== undefined && typeof u.email_verified !== 'boolean')
    bad('email_verified', 'must be true or false.')
  if (u.claims !== undefined && (typeof u.claims !== 'object' || u.claims === null || Array.isArray(u.claims)))
    bad('claims', 'must be an object of claim names to values.')
  const claims = u.claims as Record<string, unknown> | undefined
  for (const name of Object.keys(claims ?? {})) {
    const reason = userClaimProblem(name)
    if (reason) bad(`claims.${name}`, `is not allowed: ${reason}.`)
  }
  const user: UserConfig = {}
  if (u.name !== undefined) user.name = u.name
  if (u.email !== undefined) user.email = u.email
  if (u.email_verified !== undefined) user.email_verified = u.email_verified
  if (claims !== undefined) user.claims = structuredClone(claims)
  return {sub, user}
}
