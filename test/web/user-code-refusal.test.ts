import {describe, expect, it} from 'vitest'

import {DEFAULT_LOCKOUT_LIMITS, type LockoutLimits, UserCodeLockout} from '../../src/core/device/lockout.js'
import {lockedRefusal, refuseUserCode} from '../../src/core/device/refusal.js'
import {ConflictError, InvalidInputError, NotFoundError, SubjectError} from '../../src/errors.js'

/**
 * What the device page says when a typed user code cannot be used, without a server: wrong codes
 * count down to a lock per subject and for the server (RFC 8628 §5.1); expired, decided and
 * not-approvable codes do not count. test/web/device-page.test.ts and device-limits.test.ts run
 * the same refusals through the endpoint.
 */

const NOW = Date.UTC(2026, 0, 1, 12)
const malformed = new InvalidInputError('The code has letters that are not in a user code (A, E).')
const unknown = new NotFoundError('No device authorization has the code BBBB-BBBB.')

function lockout(limits: Partial<LockoutLimits> = {}): UserCodeLockout {
  return new UserCodeLockout({now: () => NOW}, {...DEFAULT_LOCKOUT_LIMITS, ...limits})
}

describe('refuseUserCode', () => {
  it('a malformed code is invalid_request and counts: attempts left, the field keeps the code', () => {
    expect(refuseUserCode(lockout(), 'alice', malformed, NOW)).toEqual({
      locked: false,
      error: 'invalid_request',
      message: `${malformed.message} Check the code on the device and try again (4 attempts left).`,
    })
  })

  it('an unknown code is invalid_grant and counts; the last attempt is singular', () => {
    const limits = lockout()
    for (let i = 0; i < 3; i++) refuseUserCode(limits, 'alice', unknown, NOW)
    expect(refuseUserCode(limits, 'alice', unknown, NOW)).toEqual({
      locked: false,
      error: 'invalid_grant',
      message: `${unknown.message} Check the code on the device and try again (1 attempt left).`,
    })
  })

  it('the fifth wrong code locks the subject for 5 minutes and says so', () => {
    const limits = lockout()
    for (let i = 0; i < 4; i++) refuseUserCode(limits, 'alice', malformed, NOW)
    expect(refuseUserCode(limits, 'alice', unknown, NOW)).toEqual({
      locked: true,
      error: 'too_many_attempts',
      message: `${unknown.message} That was the 5th wrong code: codes cannot be entered for 5 minutes.`,
      retryAfter: 300,
    })
    // Other subjects are not locked by alice's guesses.
    expect(refuseUserCode(limits, 'bob', unknown, NOW)).toMatchObject({locked: false})
  })

  it.each([
    [1, '1st'],
    [2, '2nd'],
    [3, '3rd'],
    [11, '11th'],
    [12, '12th'],
    [13, '13th'],
    [21, '21st'],
    [22, '22nd'],
    [101, '101st'],
    [111, '111th'],
  ])('a limit of %i wrong codes: "That was the %s wrong code"', (perSubject, nth) => {
    const limits = lockout({perSubject, lockMs: 60_000, global: 1_000})
    for (let i = 1; i < perSubject; i++) refuseUserCode(limits, 'alice', malformed, NOW)
    expect(refuseUserCode(limits, 'alice', malformed, NOW)).toEqual({
      locked: true,
      error: 'too_many_attempts',
      message: `${malformed.message} That was the ${nth} wrong code: codes cannot be entered for 1 minute.`,
      retryAfter: 60,
    })
  })

  it('the wrong code that reaches the server-wide limit locks every subject, with the seconds left', () => {
    const limits = lockout({global: 3, globalWindowMs: 60_000})
    refuseUserCode(limits, 'alice', unknown, NOW)
    refuseUserCode(limits, 'bob', unknown, NOW)
    expect(refuseUserCode(limits, 'carol', unknown, NOW + 20_000)).toEqual({
      locked: true,
      error: 'too_many_attempts',
      message: `${unknown.message} Too many wrong codes on this server (3 within 60 seconds, RFC 8628 §5.1). For everyone's safety, codes cannot be entered for 40 more seconds.`,
      retryAfter: 40,
    })
  })

  it('expired or decided codes (invalid_grant), and a code the subject may not approve (invalid_request), do not count', () => {
    const limits = lockout({perSubject: 1})
    const decided = new ConflictError('The code BBBB-BBBB was already approved.')
    const asClient = new SubjectError('The user "web" has the id of the client it would be issued to.')
    expect(refuseUserCode(limits, 'alice', decided, NOW)).toEqual({
      locked: false,
      error: 'invalid_grant',
      message: decided.message,
    })
    expect(refuseUserCode(limits, 'alice', asClient, NOW)).toEqual({
      locked: false,
      error: 'invalid_request',
      message: asClient.message,
    })
    expect(limits.check('alice', NOW)).toEqual({locked: false, attemptsLeft: 1})
  })

  it('a fault says nothing about the code: no refusal, nothing counted', () => {
    const limits = lockout()
    expect(refuseUserCode(limits, 'alice', new Error('disk I/O error'), NOW)).toBeUndefined()
    expect(refuseUserCode(limits, 'alice', 'not even an error', NOW)).toBeUndefined()
    expect(limits.check('alice', NOW)).toEqual({locked: false, attemptsLeft: 5})
  })
})

describe('lockedRefusal', () => {
  it('while locked, every code is refused with the lock message and the seconds left', () => {
    const limits = lockout()
    for (let i = 0; i < 5; i++) refuseUserCode(limits, 'alice', unknown, NOW)
    const state = limits.check('alice', NOW + 90_000)
    if (!state.locked) throw new Error('alice should be locked')
    expect(lockedRefusal(state)).toEqual({
      locked: true,
      error: 'too_many_attempts',
      message: 'Too many wrong codes (5). For your safety, codes cannot be entered for 4 more minutes.',
      retryAfter: 210,
    })
  })
})
