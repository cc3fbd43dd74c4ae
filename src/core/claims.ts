import {InvalidInputError} from '../errors.js'
import type {PassportConfig, UserConfig} from './config.js'
import {nameMap} from './names.js'

/**
 * User claims and the scopes that release them: the one place that decides what an id token and
 * the userinfo endpoint say about a user.
 */

/** OpenID Connect Core §5.4: the standard claims of the `profile` scope. */
export const PROFILE_CLAIMS = [
  'name',
  'family_name',
  'given_name',
  'middle_name',
  'nickname',
  'preferred_username',
  'profile',
  'picture',
  'website',
  'gender',
  'birthdate',
  'zoneinfo',
  'locale',
  'updated_at',
] as const

/** Released by the `email` scope, from a user's `email` and `email_verified` (never from `claims`). */
export const EMAIL_CLAIMS = ['email', 'email_verified'] as const

/**
 * Standard claims of the OIDC `address` and `phone` scopes. passport does not know these scopes
 * unless the configuration adds them; then such claims of a user are released with them.
 */
const OTHER_STANDARD_CLAIMS: Readonly<Record<string, string>> = {
  address: 'address',
  phone_number: 'phone',
  phone_number_verified: 'phone',
}

/**
 * Claims passport sets itself, in access tokens, id tokens and userinfo: neither a
 * configuration (user claims) nor `--claim` / {@link mintToken}'s `claims` can supply them.
 */
export const RESERVED_CLAIMS: ReadonlySet<string> = new Set([
  'iss',
  'sub',
  'aud',
  'exp',
  'iat',
  'nbf',
  'jti',
  'auth_time',
  'nonce',
  'at_hash',
  'c_hash',
  's_hash',
  'azp',
  'acr',
  'amr',
  'sid',
  'typ',
  'client_id',
  'scope',
  'scopes',
  'cnf',
  'events',
  'act',
])

/** Throws {@link InvalidInputError} when extra access-token claims name a reserved or empty claim. */
export function assertCustomClaims(claims: Readonly<Record<string, unknown>>): void {
  for (const claim of Object.keys(claims)) {
    if (RESERVED_CLAIMS.has(claim))
      throw new InvalidInputError(`Claim "${claim}" is set by passport itself and cannot be overridden.`)
    if (claim === '') throw new InvalidInputError('A claim needs a non-empty name.')
  }
}

/** A custom claim with no entry in the top-level `claims` mapping is released with this scope. */
export const DEFAULT_CUSTOM_CLAIM_SCOPE = 'profile'

/** The claims id tokens always carry (OIDC Core §2), whatever the scopes. */
const ID_TOKEN_CLAIMS = ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'at_hash', 'azp']

export function isProfileClaim(name: string): boolean {
  return (PROFILE_CLAIMS as readonly string[]).includes(name)
}

/**
 * Why a user's `claims` entry cannot be configured, or undefined when it can: passport's own
 * claims and `email` / `email_verified` (which have their own user keys).
 */
export function userClaimProblem(name: string): string | undefined {
  if (RESERVED_CLAIMS.has(name)) return `"${name}" is set by passport itself and cannot be configured`
  if ((EMAIL_CLAIMS as readonly string[]).includes(name))
    return `"${name}" is configured with the user's own "${name}" key, not under "claims"`
  return undefined
}

/**
 * Why a claim cannot be mapped to a scope by the top-level `claims` setting, or undefined when
 * it can: only custom claims (and `address` / `phone_number*`) are mappable; the profile and
 * email claims keep their standard scopes.
 */
export function claimMappingProblem(name: string): string | undefined {
  const problem = userClaimProblem(name)
  if (problem) return problem
  if (isProfileClaim(name)) return `"${name}" is a standard claim of the profile scope and always released with it`
  return undefined
}

/** The scope that releases claim `name` of a user (`name` being a key of a user's `claims`). */
export function claimScope(config: Pick<PassportConfig, 'claims'>, name: string): string {
  if (isProfileClaim(name)) return 'profile'
  if (Object.hasOwn(config.claims, name)) return config.claims[name]!
  return Object.hasOwn(OTHER_STANDARD_CLAIMS, name) ? OTHER_STANDARD_CLAIMS[name]! : DEFAULT_CUSTOM_CLAIM_SCOPE
}

/**
 * The claims about user `sub` that the granted scopes release, from `config.users` — for id tokens
 * and userinfo alike. `profile` → `name` and the profile claims found in the user's `claims`;
 * `email` → `email` and `email_verified` (false unless configured); every other claim of the
 * user → with the scope the top-level `claims` setting maps it to, `profile` by default. A subject
 * that is not a configured user (typed on the sign-in page, `--login-as`, `login_hint`) has no
 * claims beyond `sub`, which the caller adds. The seed's wildcard scope `*` releases everything.
 */
export function userClaims(
  config: Pick<PassportConfig, 'users' | 'claims'>,
  sub: string,
  scopes: readonly string[],
  loginClaims?: Record<string, unknown>,
): Record<string, unknown> {
  const configured = Object.hasOwn(config.users, sub) ? config.users[sub] : undefined
  const user = loginClaims === undefined ? configured : withLoginClaims(configured, loginClaims)
  if (!user) return {}
  const has = (scope: string) => scopes.includes(scope) || scopes.includes('*')
  const claims = nameMap<unknown>()
  if (has('profile') && user.name !== undefined) claims.name = user.name
  for (const [name, value] of Object.entries(user.claims ?? {})) {
    if (value === undefined || userClaimProblem(name) !== undefined) continue
    if (name === 'name' && user.name !== undefined) continue
    if (has(claimScope(config, name))) claims[name] = value
  }
  if (has('email') && user.email !== undefined) {
    claims.email = user.email
    claims.email_verified = user.email_verified ?? false
  }
  return claims
}

/**
 * The user as one sign-in sees it: claims added at sign-in (core/login-claims.ts) over the
 * configured ones; their `name`, `email` and `email_verified` replace the user's own.
 */
function withLoginClaims(user: UserConfig | undefined, loginClaims: Record<string, unknown>): UserConfig {
  const {name, email, email_verified: verified, ...claims} = loginClaims
  const merged: UserConfig = {...user, claims: {...user?.claims, ...claims}}
  if (name !== undefined) merged.name = typeof name === 'string' ? name : JSON.stringify(name)
  if (email !== undefined) merged.email = typeof email === 'string' ? email : JSON.stringify(email)
  if (typeof verified === 'boolean') merged.email_verified = verified
  return merged
}

/**
 * `claims_supported` for discovery: the id token's own claims, the standard profile and email
 * claims, and every other claim a configured user has.
 */
export function supportedClaims(config: Pick<PassportConfig, 'users' | 'claims'>): string[] {
  const names = new Set<string>([...ID_TOKEN_CLAIMS, ...PROFILE_CLAIMS, ...EMAIL_CLAIMS])
  for (const user of Object.values(config.users)) {
    for (const name of Object.keys(user.claims ?? {})) if (userClaimProblem(name) === undefined) names.add(name)
  }
  for (const name of Object.keys(config.claims)) names.add(name)
  return [...names]
}

/** A configured user as `passport user:list` shows it (snake_case, as the claims are named). */
export interface UserView {
  sub: string
  name: string | null
  email: string | null
  email_verified: boolean | null
  /** The user's other claims, as configured. */
  claims: Record<string, unknown>
  /** The scope that releases each of `claims`. */
  claim_scopes: Record<string, string>
}

/** The configured users, in configuration order. */
export function userViews(config: Pick<PassportConfig, 'users' | 'claims'>): UserView[] {
  return Object.entries(config.users).map(([sub, user]) => {
    const claims = nameMap<unknown>(user.claims)
    const scopes = nameMap<string>()
    for (const name of Object.keys(claims)) scopes[name] = claimScope(config, name)
    return {
      sub,
      name: user.name ?? null,
      email: user.email ?? null,
      email_verified: user.email === undefined ? (user.email_verified ?? null) : (user.email_verified ?? false),
      claims,
      claim_scopes: scopes,
    }
  })
}
