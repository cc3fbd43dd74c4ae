import {randomInt} from 'node:crypto'

import {randomToken, sha256} from './crypto.js'
import {ConflictError, InvalidInputError, NotFoundError, SubjectError} from '../errors.js'
import {uuidv7} from './ids.js'
import {assertSubject, userSubjectProblem} from './subjects.js'
import type {ClientRow} from '../store/clients.js'
import type {DeviceCodeRow} from '../store/device-codes.js'
import type {Store} from '../store/index.js'

/** RFC 8628 §6.1: consonants only, no vowels (no words), no look-alikes. */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ'
export const USER_CODE_LENGTH = 8
export const DEFAULT_POLL_INTERVAL = 5

/** A fresh user code, shown as `XXXX-XXXX`. */
export function generateUserCode(): string {
  let code = ''
  for (let i = 0; i < USER_CODE_LENGTH; i++) code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)]
  return `${code.slice(0, 4)}-${code.slice(4)}`
}

/**
 * Normalises a typed user code: upper case, spaces and hyphens dropped. Returns undefined when
 * what remains is not 8 characters of the alphabet.
 */
export function normalizeUserCode(input: string): string | undefined {
  const code = input.toUpperCase().replace(/[\s-]/g, '')
  if (code.length !== USER_CODE_LENGTH) return undefined
  for (const char of code) if (!USER_CODE_ALPHABET.includes(char)) return undefined
  return code
}

export function formatUserCode(normalized: string): string {
  return `${normalized.slice(0, 4)}-${normalized.slice(4)}`
}

export interface NewDeviceAuthorization {
  row: DeviceCodeRow
  deviceCode: string
  userCode: string
}

/** Records a new device authorization (RFC 8628 §3.2); only hashes of both codes are stored. */
export function createDeviceAuthorization(
  store: Store,
  client: Pick<ClientRow, 'id'>,
  scopes: string[],
  ttl: number,
  now = Date.now(),
  resources: string[] = [],
): NewDeviceAuthorization {
  const deviceCode = randomToken()
  const userCode = generateUserCode()
  const row: DeviceCodeRow = {
    id: uuidv7(now),
    deviceCodeHash: sha256(deviceCode),
    userCodeHash: store.deviceCodes.hashUserCode(normalizeUserCode(userCode)!),
    clientId: client.id,
    scopes,
    status: 'pending',
    userId: null,
    interval: DEFAULT_POLL_INTERVAL,
    lastPolledAt: null,
    decidedAt: null,
    redeemedAt: null,
    createdAt: now,
    expiresAt: now + ttl,
    resources: resources.length > 0 ? resources : null,
  }
  store.deviceCodes.insert(row)
  return {row, deviceCode, userCode}
}

/** Finds the device authorization a typed user code names; explains why it cannot be used. */
export function findPendingDeviceAuthorization(store: Store, userCode: string, now = Date.now()): DeviceCodeRow {
  const normalized = normalizeUserCode(userCode)
  if (!normalized) {
    throw new InvalidInputError(
      `"${userCode}" is not a user code: it has 8 letters from ${USER_CODE_ALPHABET}, shown as XXXX-XXXX.`,
    )
  }
  const row = store.deviceCodes.findByUserCodeHash(store.deviceCodes.hashUserCode(normalized))
  if (!row) throw new NotFoundError(`No device authorization has the code ${formatUserCode(normalized)}.`)
  if (row.status !== 'pending')
    throw new ConflictError(
      `The code ${formatUserCode(normalized)} was already ${row.status === 'redeemed' ? 'approved and used' : row.status}.`,
    )
  if (row.expiresAt <= now)
    throw new ConflictError(`The code ${formatUserCode(normalized)} has expired; start the device sign-in again.`)
  return row
}

/**
 * Approves or denies a pending device authorization for `userId`, once: a concurrent or later
 * decision on the same code fails. Used by `POST /device/approve` and `passport device:approve`.
 */
export function decideDeviceAuthorization(
  store: Store,
  userCode: string,
  userId: string,
  approve: boolean,
  now = Date.now(),
): DeviceCodeRow {
  assertSubject(userId)
  return store.transaction(() => {
    const row = findPendingDeviceAuthorization(store, userCode, now)
    const problem = approve ? userSubjectProblem(userId, row.clientId) : undefined
    if (problem) throw new SubjectError(problem)
    const decision = approve ? 'approved' : 'denied'
    if (!store.deviceCodes.decide(row.id, decision, userId, now)) {
      throw new ConflictError('The code was decided by someone else a moment ago.')
    }
    return {...row, status: decision, userId, decidedAt: now}
  })
}
