import {InvalidInputError} from '../errors.js'

/** A lifetime string: digits and an optional unit (ms, s, m, h, d, w). */
export const DURATION_PATTERN = /^\s*(\d+)\s*(ms|s|m|h|d|w)?\s*$/

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
}

/**
 * Parses a lifetime given as milliseconds (the seed's unit: a number or a string of digits) or as
 * a duration string such as `"90s"`, `"15m"`, `"1h"`, `"30d"`, `"2w"`. Returns milliseconds.
 */
export function parseDuration(value: unknown, what = 'duration'): number {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value > 0) return value
    throw new InvalidInputError(
      `${what} must be a positive whole number of milliseconds or a duration like "15m", "1h", "30d"; got ${value}.`,
    )
  }
  if (typeof value === 'string') {
    const match = DURATION_PATTERN.exec(value)
    if (match) {
      const amount = Number(match[1]) * UNITS[match[2] ?? 'ms']!
      if (Number.isSafeInteger(amount) && amount > 0) return amount
    }
  }
  throw new InvalidInputError(
    `${what} must be milliseconds or a duration like "15m", "1h", "30d"; got ${JSON.stringify(value)}.`,
  )
}

/** Renders milliseconds as the largest whole unit, e.g. 1296000000 → "15d". */
export function formatDuration(ms: number): string {
  for (const unit of ['w', 'd', 'h', 'm', 's'] as const) {
    const size = UNITS[unit]!
    if (ms % size === 0 && ms >= size) return `${ms / size}${unit}`
  }
  return `${ms}ms`
}
