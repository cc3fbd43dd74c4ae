import * as Flags from '@oclif/core/flags'

import {UsageError} from '../core/errors.js'
import type {AccessTokenRow} from '../store/access-tokens.js'

/** `--issuer` with its environment variable; the config file's `issuer` and the default come after. */
export const issuerFlag = Flags.string({
  description: 'Issuer (iss) to sign or expect (default: "issuer" in the config file, else http://127.0.0.1:9000).',
  env: 'PASSPORT_ISSUER',
})

/** Checks an `--issuer` value; undefined when the flag was not given. */
export function checkIssuer(value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new UsageError(`--issuer must be an absolute http(s) URL such as http://localhost:9000; got "${value}".`)
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || value.includes('#')) {
    throw new UsageError(`--issuer must be an http(s) URL without query or fragment; got "${value}".`)
  }
  return value
}

/**
 * Parses `--claim name=value` pairs. A value that is valid JSON (number, boolean, null, array,
 * object, quoted string) is used as such; anything else is a plain string.
 */
export function parseClaims(pairs: readonly string[] | undefined): Record<string, unknown> | undefined {
  if (!pairs || pairs.length === 0) return undefined
  const claims: Record<string, unknown> = {}
  for (const pair of pairs) {
    const at = pair.indexOf('=')
    if (at <= 0) throw new UsageError(`--claim needs the form name=value; got "${pair}".`)
    const name = pair.slice(0, at)
    if (Object.hasOwn(claims, name)) throw new UsageError(`--claim ${name} is given twice.`)
    claims[name] = parseClaimValue(pair.slice(at + 1))
  }
  return claims
}

function parseClaimValue(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

export type TokenStatus = 'active' | 'revoked' | 'expired'

export function tokenStatus(row: Pick<AccessTokenRow, 'revokedAt' | 'expiresAt'>, now = Date.now()): TokenStatus {
  if (row.revokedAt !== null) return 'revoked'
  return row.expiresAt <= now ? 'expired' : 'active'
}

/** An access-token row as `token:list --json` shows it (OAuth vocabulary, snake_case). */
export interface TokenView {
  id: string
  client_id: string
  user_id: string | null
  name: string | null
  scopes: string[]
  grant_type: string
  created_at: string
  expires_at: string
  revoked: boolean
  status: TokenStatus
}

export function tokenView(row: AccessTokenRow, now = Date.now()): TokenView {
  return {
    id: row.id,
    client_id: row.clientId,
    user_id: row.userId,
    name: row.name,
    scopes: row.scopes,
    grant_type: row.grantType,
    created_at: new Date(row.createdAt).toISOString(),
    expires_at: new Date(row.expiresAt).toISOString(),
    revoked: row.revokedAt !== null,
    status: tokenStatus(row, now),
  }
}
