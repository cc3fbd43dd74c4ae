import type {Authority} from '../core/authority.js'
import {parseDuration} from '../core/duration.js'
import {UsageError} from '../errors.js'
import {mintToken} from '../core/mint.js'
import type {TokenResponse} from '../core/tokens.js'
import {ISSUER_RULE, isIssuerUrl} from '../core/uris.js'
import type {AccessTokenRow} from '../store/access-tokens.js'

// No oclif here: `passport token` also runs without it (./lean-token.ts).

/** The flags of `passport token` as parsed (environment variables applied). */
export interface TokenFlags {
  client?: string | undefined
  user?: string | undefined
  scope?: string[] | undefined
  ttl?: string | undefined
  claim?: string[] | undefined
  audience?: string | undefined
  resource?: string[] | undefined
  issuer?: string | undefined
  'dpop-jkt'?: string | undefined
}

export type MintedView = Pick<TokenResponse, 'access_token' | 'token_type' | 'expires_in' | 'scope'>

/**
 * `passport token` between parsing and printing: checks the flags, opens the authority (for the
 * `--issuer` given, if any) and mints. `warn` gets the key-permission warning, if there is one.
 */
export async function mintFromFlags(
  flags: TokenFlags,
  open: (issuer: string | undefined) => Authority,
  warn: (message: string) => void,
): Promise<MintedView> {
  const claims = parseClaims(flags.claim)
  const ttl = flags.ttl === undefined ? undefined : parseDuration(flags.ttl, '--ttl')
  const authority = open(checkIssuer(flags.issuer))
  const minted = await mintToken(authority, {
    scopes: flags.scope ?? [],
    ...(flags.client === undefined ? {} : {client: flags.client}),
    ...(flags.user === undefined ? {} : {user: flags.user}),
    ...(ttl === undefined ? {} : {ttl}),
    ...(claims === undefined ? {} : {claims}),
    ...(flags.audience === undefined ? {} : {audience: flags.audience}),
    ...(flags.resource === undefined ? {} : {resources: flags.resource}),
    ...(flags['dpop-jkt'] === undefined ? {} : {dpopJkt: flags['dpop-jkt']}),
  })
  const keys = await authority.signingKeys()
  if (keys.permissionWarning) warn(keys.permissionWarning)
  const {access_token, token_type, expires_in, scope} = minted.response
  return {access_token, token_type, expires_in, scope}
}

/** Checks an `--issuer` value; undefined when the flag was not given. */
export function checkIssuer(value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  if (!isIssuerUrl(value)) throw new UsageError(`--issuer must be ${ISSUER_RULE}; got "${value}".`)
  return value
}

/**
 * Parses `--claim name=value` pairs. A value that is valid JSON (number, boolean, null, array,
 * object, quoted string) is used as such; anything else is a plain string.
 */
export function parseClaims(
  pairs: readonly string[] | undefined,
  flag = '--claim',
): Record<string, unknown> | undefined {
  if (!pairs || pairs.length === 0) return undefined
  const claims: Record<string, unknown> = {}
  for (const pair of pairs) {
    const at = pair.indexOf('=')
    if (at <= 0) throw new UsageError(`${flag} needs the form name=value; got "${pair}".`)
    const name = pair.slice(0, at)
    if (Object.hasOwn(claims, name)) throw new UsageError(`${flag} ${name} is given twice.`)
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
