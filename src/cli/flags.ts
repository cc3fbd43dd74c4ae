import * as Flags from '@oclif/core/flags'

/** `--issuer` with its environment variable; the config file's `issuer` and the default come after. */
export const issuerFlag = Flags.string({
  description: 'Issuer (iss) to sign or expect (default: "issuer" in the config file, else http://127.0.0.1:9000).',
  env: 'PASSPORT_ISSUER',
})

/**
 * `--now` (or PASSPORT_NOW): the time a command acts at instead of real time, e.g. the clock of a
 * test-controlled authority (`serve --control`).
 */
export function nowFlag(what: string) {
  return Flags.string({
    description: `${what} at this time: an ISO 8601 date-time (2027-01-01T00:00:00Z) or Unix seconds, e.g. the clock of a test-controlled authority.`,
    env: 'PASSPORT_NOW',
  })
}
