import {parseDuration} from './duration.js'
import {InvalidInputError} from '../errors.js'

/**
 * The authority's one clock: every expiry, every `iat`/`exp`/`auth_time`, and every code,
 * device code, refresh token, session and purge decision reads it. Tests move it forward
 * (`advance("16d")`) or to a date (`set(...)`) instead of waiting.
 */
export interface Clock {
  /** Now, Unix milliseconds. */
  now(): number
  /** Moves the clock forward by a duration (milliseconds or `"90s"`, `"15m"`, `"16d"`…); returns the new now. */
  advance(duration: number | string): number
  /** Moves the clock to an instant (a Date, Unix ms, or an ISO 8601 date-time / Unix seconds as a string); returns the new now. */
  set(date: Date | number | string): number
}

/**
 * Real time plus an offset: starts at real time (offset 0) unless given a start, and keeps
 * running from wherever it was moved to.
 */
export class OffsetClock implements Clock {
  private offset = 0

  constructor(start?: Date | number | string) {
    if (start !== undefined) this.set(start)
  }

  now(): number {
    return Date.now() + this.offset
  }

  advance(duration: number | string): number {
    this.offset += parseDuration(duration, 'The clock advance')
    return this.now()
  }

  set(date: Date | number | string): number {
    this.offset = parseInstant(date, 'The clock time') - Date.now()
    return this.now()
  }
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/i

/**
 * An instant as Unix ms: a Date, a number of Unix milliseconds, or a string that is an ISO 8601
 * date-time with its zone (`2027-01-01T00:00:00Z`), a date (`2027-01-01`, midnight UTC) or Unix
 * seconds (`1798761600`, as in `iat`/`exp`).
 */
export function parseInstant(value: Date | number | string, what = 'The time'): number {
  let ms = Number.NaN
  if (value instanceof Date) ms = value.getTime()
  else if (typeof value === 'number') ms = Number.isSafeInteger(value) ? value : Number.NaN
  else if (typeof value === 'string') {
    const text = value.trim()
    if (/^\d{1,12}$/.test(text)) ms = Number(text) * 1000
    else if (ISO_DATE_TIME.test(text)) ms = Date.parse(text)
  }
  if (!Number.isFinite(ms) || ms < 0 || ms > 8.64e15) {
    throw new InvalidInputError(
      `${what} must be an ISO 8601 date-time with its zone (e.g. 2027-01-01T00:00:00Z) or Unix seconds; got ${JSON.stringify(value instanceof Date ? String(value) : value)}.`,
    )
  }
  return ms
}
