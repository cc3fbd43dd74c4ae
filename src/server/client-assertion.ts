import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  type JSONWebKeySet,
  type JWTPayload,
  jwtVerify,
  type JWTVerifyGetKey,
} from 'jose'

import {jwksUriMayReachPrivateNetworks, jwksUriProblem} from '../core/client-keys.js'
import {FenceError, fencedGet} from '../core/fenced-fetch.js'
import type {ReplayCache} from '../core/replay-cache.js'
import {OAuthError} from '../errors.js'
import type {ClientRow} from '../store/clients.js'

/** RFC 7523 §2.2: the `client_assertion_type` of a JWT client assertion. */
export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

/**
 * Algorithms accepted for client assertions (SPEC §10.6): asymmetric only, never `none` or HMAC.
 * `Ed25519` is RFC 9864's fully-specified name for EdDSA with Ed25519 (oauth4webapi signs with it).
 */
export const ASSERTION_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA', 'Ed25519'] as const

/** An assertion may expire at most this far ahead (SPEC §10.6), and is remembered (replay) until it does. */
const MAX_LIFETIME_S = 600
/** Leeway for clocks that differ a little between client and server. */
const CLOCK_SKEW_S = 30

/** A client row with the private_key_jwt columns (registration, config, `passport client --jwks`). */
export type KeyedClient = ClientRow & {
  jwks?: JSONWebKeySet | {keys: Record<string, unknown>[]} | null
  jwksUri?: string | null
  tokenEndpointAuthMethod?: string | null
}

const challenge = {'WWW-Authenticate': 'Basic realm="passport"'}
const fail = (description: string) =>
  new OAuthError('invalid_client', `Client assertion: ${description}`, 401, {...challenge})

export interface AssertionContext {
  /** The issuer and the endpoint URLs an assertion's `aud` may name. */
  audiences: readonly string[]
  /** Now, Unix ms (the authority's clock). */
  now: number
  /** Whether a jwks_uri registered anonymously may point at a private network (`clientIdMetadataDocuments.allowPrivateNetworks`). */
  allowPrivateNetworks: boolean
  /** Where jtis are remembered, counted per client (a full client is refused: see replay-cache.ts). */
  replay: ReplayCache
}

/** What an assertion claims before it is verified: only to find the client whose keys verify it. */
export function assertionClientId(assertion: string): string {
  let claims: JWTPayload
  try {
    claims = decodeJwt(assertion)
  } catch {
    throw fail('client_assertion is not a well-formed JWT.')
  }
  if (typeof claims.sub !== 'string' || claims.sub === '') throw fail('the JWT has no sub (it must be the client id).')
  return claims.sub
}

/**
 * Verifies a `private_key_jwt` assertion (RFC 7523 §3, SPEC §10.6) for `client`: an asymmetric
 * algorithm from {@link ASSERTION_ALGORITHMS}, the signature against the client's `jwks` or
 * `jwks_uri`, `iss` = `sub` = the client id, `aud` naming the issuer (or the token / PAR endpoint),
 * `exp` in the future and at most 10 minutes ahead, and a `jti` not seen before within its
 * lifetime. Every failure is `invalid_client` saying which check failed.
 */
export async function verifyClientAssertion(
  client: KeyedClient,
  assertion: string,
  context: AssertionContext,
): Promise<void> {
  let alg: unknown
  try {
    alg = decodeProtectedHeader(assertion).alg
  } catch {
    throw fail('client_assertion is not a well-formed JWT.')
  }
  if (alg === 'none') throw fail('alg none is refused; sign the assertion with RS256, PS256, ES256 or EdDSA.')
  if (typeof alg === 'string' && alg.startsWith('HS'))
    throw fail(
      `${alg} (a shared-secret MAC) is refused for private_key_jwt; sign with the private key (RS256, PS256, ES256 or EdDSA).`,
    )
  if (!(ASSERTION_ALGORITHMS as readonly unknown[]).includes(alg))
    throw fail(`alg ${JSON.stringify(alg)} is not supported; use RS256, PS256, ES256 or EdDSA (Ed25519).`)
  const found = await clientKeys(client, context.allowPrivateNetworks)
  // A key published as EdDSA (or without alg) verifies an Ed25519 assertion too.
  const keys: JWTVerifyGetKey = (header, token) =>
    found(header.alg === 'Ed25519' ? {...header, alg: 'EdDSA'} : header, token)
  let payload
  try {
    ;({payload} = await jwtVerify(assertion, keys, {
      algorithms: [...ASSERTION_ALGORITHMS],
      issuer: client.id,
      subject: client.id,
      audience: [...context.audiences],
      requiredClaims: ['exp', 'jti'],
      currentDate: new Date(context.now),
      clockTolerance: CLOCK_SKEW_S,
    }))
  } catch (error) {
    // The key set could not be had (a busy fetch): not the client's fault, so not invalid_client.
    if (error instanceof OAuthError && error.error === 'temporarily_unavailable') throw error
    throw fail(describe(error, client.id, context.audiences))
  }
  const nowS = Math.floor(context.now / 1000)
  const exp = payload.exp!
  if (exp > nowS + MAX_LIFETIME_S + CLOCK_SKEW_S)
    throw fail(`exp is ${exp - nowS} seconds ahead; an assertion may live at most ${MAX_LIFETIME_S} seconds.`)
  if (typeof payload.jti !== 'string' || payload.jti === '') throw fail('the JWT has no jti.')
  const use = context.replay.use(
    client.id,
    `${client.id}\u0000${payload.jti}`,
    (exp + CLOCK_SKEW_S) * 1000,
    context.now,
  )
  if (use.accepted) return
  if (use.replay) throw fail('this jti was already used; every assertion must carry a new jti (replay refused).')
  const seconds = Math.max(1, Math.ceil(use.retryAfterMs / 1000))
  throw new OAuthError(
    'temporarily_unavailable',
    `Client ${client.id} has ${use.held} client assertions still live (at most ${use.limit} per client; each jti is remembered until its exp): retry in ${seconds} s, or give assertions a shorter exp.`,
    429,
    {'Retry-After': String(seconds)},
  )
}

function describe(error: unknown, clientId: string, audiences: readonly string[]): string {
  if (error instanceof joseErrors.JWTExpired) return 'the JWT has expired (exp is in the past).'
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return `iss must be the client id ${clientId}.`
    if (error.claim === 'sub') return `sub must be the client id ${clientId}.`
    if (error.claim === 'aud') return `aud must name this authorization server (${audiences.join(' or ')}).`
    if (error.reason === 'missing') return `the JWT has no ${error.claim}.`
    if (error.claim === 'nbf') return 'the JWT is not valid yet (nbf is in the future).'
    if (error.claim === 'iat') return 'iat is in the future.'
    return `the ${error.claim} claim is invalid (${error.reason}).`
  }
  if (error instanceof joseErrors.JWKSNoMatchingKey)
    return `no key of client ${clientId} matches the assertion (kid/alg); the keys registered for it did not sign it.`
  if (error instanceof joseErrors.JWKSMultipleMatchingKeys)
    return `several keys of client ${clientId} match; give the assertion a kid.`
  if (error instanceof joseErrors.JWSSignatureVerificationFailed)
    return `the signature does not verify with the keys registered for client ${clientId}.`
  if (error instanceof joseErrors.JOSEAlgNotAllowed)
    return 'the algorithm is not allowed; use RS256, PS256, ES256 or EdDSA.'
  if (error instanceof OAuthError) return error.description.replace(/^Client assertion: /, '')
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid)
    return 'client_assertion is not a well-formed JWT.'
  return 'it could not be verified.'
}

async function clientKeys(client: KeyedClient, allowPrivateNetworks: boolean): Promise<JWTVerifyGetKey> {
  if (client.jwks) {
    try {
      return createLocalJWKSet(client.jwks)
    } catch {
      throw fail(`the jwks registered for client ${client.id} is not a valid JWK Set.`)
    }
  }
  if (client.jwksUri) return remoteKeys(client.jwksUri, jwksUriMayReachPrivateNetworks(client, allowPrivateNetworks))
  throw fail(
    `client ${client.id} has no keys registered (jwks or jwks_uri) to verify a private_key_jwt assertion with.`,
  )
}

/** jwks_uri fetches: at most this long, this big, never redirected (core/fenced-fetch.ts). */
const FETCH_TIMEOUT_MS = 5000
const MAX_JWKS_BYTES = 64 * 1024
const CACHE_MS = 5 * 60_000
/** An unknown kid refetches the set, at most this often. */
const REFETCH_COOLDOWN_MS = 30_000
const CACHE_LIMIT = 100

interface CachedKeys {
  keys: JWTVerifyGetKey
  fetchedAt: number
  pending?: Promise<JWTVerifyGetKey>
}
/** Key sets by fence and URL: an operator's fetch never serves a stranger's lookup of the same URL. */
const remote = new Map<string, CachedKeys>()

/** The key set published at `uri`, cached; a signature by an unknown key refetches it (rate-limited). */
function remoteKeys(uri: string, allowPrivateNetworks: boolean): JWTVerifyGetKey {
  const problem = jwksUriProblem(uri)
  if (problem) throw fail(`the jwks_uri ${uri} cannot be used: ${problem}.`)
  const fetchIt = () => fetchKeySet(new URL(uri), allowPrivateNetworks)
  const cacheKey = `${allowPrivateNetworks ? 'private' : 'public'} ${uri}`
  return async (header, token) => {
    const now = Date.now()
    let cached = remote.get(cacheKey)
    if (!cached || now - cached.fetchedAt > CACHE_MS) cached = await refresh(cacheKey, cached, fetchIt)
    try {
      return await cached.keys(header, token)
    } catch (error) {
      if (!(error instanceof joseErrors.JWKSNoMatchingKey) || now - cached.fetchedAt < REFETCH_COOLDOWN_MS) throw error
      return (await refresh(cacheKey, cached, fetchIt)).keys(header, token)
    }
  }
}

async function refresh(
  cacheKey: string,
  previous: CachedKeys | undefined,
  fetchIt: () => Promise<JWTVerifyGetKey>,
): Promise<CachedKeys> {
  if (previous?.pending) {
    await previous.pending
    return remote.get(cacheKey)!
  }
  const pending = fetchIt()
  if (previous) previous.pending = pending
  try {
    const keys = await pending
    const entry = {keys, fetchedAt: Date.now()}
    if (!remote.has(cacheKey) && remote.size >= CACHE_LIMIT) remote.delete(remote.keys().next().value!)
    remote.set(cacheKey, entry)
    return entry
  } finally {
    if (previous) delete previous.pending
  }
}

async function fetchKeySet(url: URL, allowPrivateNetworks: boolean): Promise<JWTVerifyGetKey> {
  let fetched
  try {
    fetched = await fencedGet(url, {
      allowPrivateNetworks,
      timeoutMs: FETCH_TIMEOUT_MS,
      maxBytes: MAX_JWKS_BYTES,
      accept: 'application/jwk-set+json, application/json',
      what: 'the jwks_uri',
    })
  } catch (error) {
    if (error instanceof FenceError && error.check === 'busy')
      throw new OAuthError('temporarily_unavailable', `Client assertion: ${error.message}`, 503, {'Retry-After': '5'})
    if (error instanceof FenceError) throw fail(error.message)
    throw error
  }
  if (fetched.status !== 200) throw fail(`the jwks_uri at ${url.href} answered HTTP ${fetched.status}.`)
  let set: unknown
  try {
    set = JSON.parse(new TextDecoder('utf-8', {fatal: true}).decode(fetched.body))
  } catch {
    throw fail(`the jwks_uri at ${url.href} did not return JSON.`)
  }
  try {
    return createLocalJWKSet(set as JSONWebKeySet)
  } catch {
    throw fail(`the jwks_uri at ${url.href} did not return a JWK Set (an object with a "keys" array).`)
  }
}
