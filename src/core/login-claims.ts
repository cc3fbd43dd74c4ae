import {RESERVED_CLAIMS} from './claims.js'
import {InvalidInputError} from '../errors.js'

/** At most this many sign-ins keep their claims in memory (the oldest go first). */
const MAX_ENTRIES = 10_000

/**
 * Longest claims for one sign-in, as JSON. Anyone who can reach the sign-in page can add claims,
 * and they are kept in the session (up to 5,000) and by sign-in (up to 10,000): without this cap a
 * form body (64 KB) each would let a caller fill hundreds of MB; with it, about 30 MB at most.
 */
export const MAX_LOGIN_CLAIMS_BYTES = 2048

/**
 * Claims a person added for one sign-in (the sign-in page's claims field, `serve --login-claim`),
 * held in memory by the family they belong to: the authorization code's or device code's id, which
 * its refresh and access tokens carry. The id token and userinfo add them to the configured
 * user's claims by the same rules (core/claims.ts); a restart forgets them.
 */
export class LoginClaims {
  private readonly byFamily = new Map<string, Record<string, unknown>>()

  set(familyId: string, claims: Record<string, unknown> | undefined): void {
    if (claims === undefined || Object.keys(claims).length === 0) return
    if (this.byFamily.size >= MAX_ENTRIES) this.byFamily.delete(this.byFamily.keys().next().value!)
    this.byFamily.set(familyId, claims)
  }

  get(familyId: string | null | undefined): Record<string, unknown> | undefined {
    return familyId === null || familyId === undefined ? undefined : this.byFamily.get(familyId)
  }
}

/**
 * Checks claims for one sign-in: a JSON object whose names are not passport's own claims
 * (`sub`, `iss`, `aud`, `exp`, `nonce`…). `name`, `email` and `email_verified` are allowed and
 * replace the configured ones for this sign-in.
 */
export function checkLoginClaims(value: unknown, what = 'The claims'): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InvalidInputError(`${what} must be a JSON object such as {"role": "admin"}.`)
  for (const name of Object.keys(value)) {
    if (name === '') throw new InvalidInputError(`${what} need non-empty names.`)
    if (RESERVED_CLAIMS.has(name)) throw new InvalidInputError(`${what} cannot set "${name}": passport sets it itself.`)
  }
  if ('email_verified' in value && typeof value.email_verified !== 'boolean')
    throw new InvalidInputError(`${what}: "email_verified" must be true or false.`)
  const size = Buffer.byteLength(JSON.stringify(value))
  if (size > MAX_LOGIN_CLAIMS_BYTES)
    throw new InvalidInputError(`${what} are ${size} bytes of JSON; at most ${MAX_LOGIN_CLAIMS_BYTES} are kept.`)
  return value as Record<string, unknown>
}

/** Parses the sign-in page's claims field: empty means none. */
export function parseLoginClaimsText(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined || text.trim() === '') return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new InvalidInputError(
      'The claims for this sign-in are not valid JSON; write an object such as {"role": "admin"}.',
    )
  }
  const claims = checkLoginClaims(parsed, 'The claims for this sign-in')
  return Object.keys(claims).length === 0 ? undefined : claims
}
