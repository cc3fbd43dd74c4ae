import {createHash, randomBytes} from 'node:crypto'

import {calculateJwkThumbprint, compactVerify, decodeProtectedHeader, importJWK, type JWK} from 'jose'

import {InvalidTokenError, OAuthError} from '../errors.js'
import {DPOP_REPLAY_LIMITS, ReplayCache} from './replay-cache.js'

/**
 * DPoP (RFC 9449): proofs of possession of a client's key, and the tokens bound to it. The checks
 * here serve the token endpoint (and PAR), `/userinfo`, `requireBearer`, `verifyAccessToken` and
 * `token:verify` alike; each failure is an `invalid_dpop_proof` that names the check.
 */

/** Asymmetric algorithms accepted for proofs (`dpop_signing_alg_values_supported`). */
export const DPOP_ALGORITHMS = [
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
  'RS256',
  'RS384',
  'RS512',
  'EdDSA',
] as const

/** How far a proof's `iat` may be from the server's clock, either way (RFC 9449 §11.1). */
export const DPOP_IAT_WINDOW_SECONDS = 60

/** Longest proof looked at: a proof is a header, a small payload and one signature. */
const MAX_PROOF_LENGTH = 8192

/** Members that only a private (or symmetric) JWK has. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

/** A JWK SHA-256 thumbprint (RFC 7638) as `cnf.jkt` and `dpop_jkt` carry it. */
const THUMBPRINT = /^[A-Za-z0-9_-]{43}$/

export function invalidDpopProof(description: string): OAuthError {
  return new OAuthError('invalid_dpop_proof', description)
}

/** RFC 9449 §8: the server demands a nonce; the answer carries a fresh one in `DPoP-Nonce`. */
export function useDpopNonce(nonce: string, description: string): OAuthError {
  return new OAuthError('use_dpop_nonce', description, 400, {'DPoP-Nonce': nonce})
}

/** `ath` (RFC 9449 §4.2): base64url of the SHA-256 of the access token's ASCII bytes. */
export function accessTokenHashForDpop(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'ascii').digest('base64url')
}

/** Checks a `dpop_jkt` parameter (RFC 9449 §10): a base64url SHA-256 JWK thumbprint. */
export function checkDpopJkt(value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  if (!THUMBPRINT.test(value))
    throw new OAuthError(
      'invalid_request',
      'The dpop_jkt parameter must be the base64url SHA-256 JWK thumbprint (RFC 7638) of the DPoP key: 43 characters.',
    )
  return value
}

/**
 * Server-provided nonces (RFC 9449 §8, `serve --dpop-nonce`): a random value that changes every
 * `lifetime`; the current and the previous one are accepted.
 */
export class DpopNonces {
  private currentValue = ''
  private previousValue = ''
  private rotatedAt = Number.NEGATIVE_INFINITY

  constructor(readonly lifetime = 5 * 60_000) {}

  current(now: number): string {
    if (now - this.rotatedAt >= this.lifetime || now < this.rotatedAt) {
      this.previousValue = now - this.rotatedAt < 2 * this.lifetime ? this.currentValue : ''
      this.currentValue = randomBytes(16).toString('base64url')
      this.rotatedAt = now
    }
    return this.currentValue
  }

  accepts(nonce: string, now: number): boolean {
    const current = this.current(now)
    return nonce === current || (this.previousValue !== '' && nonce === this.previousValue)
  }
}

export interface DpopExpectations {
  /** The request's method (`htm`). */
  method: string
  /** The request's URL (`htu`): compared without query and fragment. */
  url: string
  /** With an access token (a resource request), the proof must carry its hash as `ath`. */
  accessToken?: string
  /** The key the proof must be made with (`cnf.jkt` of the token, `dpop_jkt` of a code). */
  jkt?: string
  /** Server time, Unix ms. */
  now: number
  /** Where the proof's `jti` is remembered, and the client it is counted against (see replay-cache.ts). */
  replay: ReplayCache
  client: string
  /** When set, the proof must carry one of these nonces (`use_dpop_nonce` otherwise). */
  nonces?: DpopNonces
}

export interface VerifiedDpopProof {
  /** RFC 7638 SHA-256 thumbprint of the proof's public key: what tokens are bound to (`cnf.jkt`). */
  jkt: string
  jti: string
  iat: number
  jwk: JWK
}

/**
 * Verifies a DPoP proof (RFC 9449 §4.3) — the value of the request's `DPoP` header — in this
 * order: one compact JWS; `typ: dpop+jwt`; an asymmetric `alg` from {@link DPOP_ALGORITHMS}; a
 * public `jwk` header (a private key is refused); the signature; `jti`; `htm`; `htu` (without
 * query and fragment); `iat` within {@link DPOP_IAT_WINDOW_SECONDS}; `ath` when an access token
 * is presented; the expected key; the server's nonce when it demands one; and last, that the
 * `jti` was not seen before (so a proof failing another check does not use up the cache).
 */
export async function verifyDpopProof(
  header: string | string[] | undefined,
  expected: DpopExpectations,
): Promise<VerifiedDpopProof> {
  if (header === undefined) throw invalidDpopProof('A DPoP proof is required: send it in the DPoP header.')
  if (Array.isArray(header) || header.includes(','))
    throw invalidDpopProof('The request has more than one DPoP header; send exactly one proof.')
  const proof = header.trim()
  if (proof.length > MAX_PROOF_LENGTH)
    throw invalidDpopProof(`The DPoP proof is longer than ${MAX_PROOF_LENGTH} characters.`)
  if (!COMPACT_JWS.test(proof))
    throw invalidDpopProof('The DPoP header is not a signed JWT (three base64url parts separated by dots).')

  // A known header is answered without a turn of the event loop.
  const {alg, key, jkt, jwk} = knownProofHeader(proof) ?? (await proofHeader(proof))
  let payloadBytes: Uint8Array
  try {
    payloadBytes = (await compactVerify(proof, key, verifyOptions(alg))).payload
  } catch {
    throw invalidDpopProof("The DPoP proof's signature does not verify with its jwk.")
  }
  let claims: Record<string, unknown>
  try {
    claims = JSON.parse(UTF8.decode(payloadBytes)) as Record<string, unknown>
  } catch {
    throw invalidDpopProof("The DPoP proof's payload is not a JSON object.")
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims))
    throw invalidDpopProof("The DPoP proof's payload is not a JSON object.")

  const {jti, htm, htu, iat, ath, nonce} = claims
  if (typeof jti !== 'string' || jti === '' || jti.length > 256)
    throw invalidDpopProof('The DPoP proof has no jti (a unique identifier of at most 256 characters).')
  if (htm !== expected.method)
    throw invalidDpopProof(`The DPoP proof's htm is ${describe(htm)}; this request is ${expected.method}.`)
  if (typeof htu !== 'string' || !sameTarget(htu, expected.url)) {
    throw invalidDpopProof(
      `The DPoP proof's htu is ${describe(htu)}; this request's URL is ${withoutQuery(expected.url)}.`,
    )
  }
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw invalidDpopProof('The DPoP proof has no numeric iat.')
  const skew = iat - expected.now / 1000
  if (Math.abs(skew) > DPOP_IAT_WINDOW_SECONDS) {
    throw invalidDpopProof(
      `The DPoP proof's iat is ${Math.round(Math.abs(skew))} s ${skew > 0 ? 'in the future' : 'old'}; it must be within ${DPOP_IAT_WINDOW_SECONDS} s of the server's time.`,
    )
  }
  if (expected.accessToken !== undefined) {
    if (typeof ath !== 'string')
      throw invalidDpopProof('The DPoP proof has no ath (the hash of the access token it is sent with).')
    if (ath !== accessTokenHashForDpop(expected.accessToken))
      throw invalidDpopProof("The DPoP proof's ath does not match the access token it is sent with.")
  }

  if (expected.jkt !== undefined && jkt !== expected.jkt)
    throw invalidDpopProof('The DPoP proof is made with another key than the one the token is bound to (cnf.jkt).')
  if (expected.nonces) {
    const current = expected.nonces.current(expected.now)
    if (nonce === undefined)
      throw useDpopNonce(
        current,
        'This server requires a nonce in DPoP proofs: make a new proof with the nonce in the DPoP-Nonce header.',
      )
    if (typeof nonce !== 'string' || !expected.nonces.accepts(nonce, expected.now)) {
      throw useDpopNonce(
        current,
        "The DPoP proof's nonce is not current: make a new proof with the nonce in the DPoP-Nonce header.",
      )
    }
  }
  // Remembered until the proof's iat window has passed: after that it is refused anyway.
  const expiresAt = Math.max(iat * 1000, expected.now) + DPOP_IAT_WINDOW_SECONDS * 1000
  if (!expected.replay.use(expected.client, `${jkt}:${jti}`, expiresAt, expected.now).accepted) {
    throw invalidDpopProof(
      'The DPoP proof was already used (its jti was seen before); make a new proof for every request.',
    )
  }
  return {jkt, jti, iat, jwk: {...jwk}}
}

type ProofHeader = {alg: string; jwk: JWK; key: Awaited<ReturnType<typeof importJWK>>; jkt: string}

/**
 * Checked proof headers with their imported key and its thumbprint, by the header's base64url text
 * exactly as sent: a client proves with one key over many requests (and so sends the same header),
 * and decoding the header, importing the key and hashing its thumbprint cost as much as checking
 * the signature. Decoding is deterministic, so the same text gives the same header, checks and key,
 * and a hit changes no outcome; a header that fails a check or an import is not remembered.
 * Bounded (least recently used goes first).
 */
const proofHeaders = new Map<string, ProofHeader>()
const PROOF_HEADERS_LIMIT = 256

/** The remembered header of a proof, when its header text was checked before. */
function knownProofHeader(proof: string): ProofHeader | undefined {
  const text = proof.slice(0, proof.indexOf('.'))
  const known = proofHeaders.get(text)
  if (known !== undefined) {
    proofHeaders.delete(text)
    proofHeaders.set(text, known)
  }
  return known
}

/**
 * The header checks of {@link verifyDpopProof}, in its order: `typ: dpop+jwt`; an asymmetric `alg`
 * from {@link DPOP_ALGORITHMS}; a public `jwk` header (a private key is refused); a key for `alg`.
 */
async function proofHeader(proof: string): Promise<ProofHeader> {
  let protectedHeader: Record<string, unknown>
  try {
    protectedHeader = decodeProtectedHeader(proof)
  } catch {
    throw invalidDpopProof("The DPoP proof's header is not base64url-encoded JSON.")
  }
  const {typ, alg, jwk} = protectedHeader
  if (typ !== 'dpop+jwt') throw invalidDpopProof(`The DPoP proof's typ must be dpop+jwt (got ${describe(typ)}).`)
  if (typeof alg !== 'string' || !(DPOP_ALGORITHMS as readonly string[]).includes(alg)) {
    throw invalidDpopProof(
      `The DPoP proof's alg must be an asymmetric algorithm from dpop_signing_alg_values_supported (${DPOP_ALGORITHMS.join(', ')}); got ${describe(alg)}.`,
    )
  }
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk))
    throw invalidDpopProof('The DPoP proof has no jwk header (the public key it is signed with).')
  const privateMember = PRIVATE_MEMBERS.find((member) => Object.hasOwn(jwk, member))
  if (privateMember !== undefined)
    throw invalidDpopProof(
      `The DPoP proof's jwk header holds a private key (it has the private member ${privateMember}); send only the public key.`,
    )
  let entry: ProofHeader
  try {
    entry = {alg, jwk, key: await importJWK(jwk, alg), jkt: await calculateJwkThumbprint(jwk, 'sha256')}
  } catch {
    throw invalidDpopProof(`The DPoP proof's jwk header is not a public key for ${alg}.`)
  }
  if (proofHeaders.size >= PROOF_HEADERS_LIMIT) proofHeaders.delete(proofHeaders.keys().next().value!)
  proofHeaders.set(proof.slice(0, proof.indexOf('.')), entry)
  return entry
}

/** jose's verify options per proof algorithm, made once (the proof's own `alg` only). */
const verifyOptionsByAlg = new Map<string, {algorithms: string[]}>()
function verifyOptions(alg: string): {algorithms: string[]} {
  let options = verifyOptionsByAlg.get(alg)
  if (!options) verifyOptionsByAlg.set(alg, (options = {algorithms: [alg]}))
  return options
}

const UTF8 = new TextDecoder()

/** RFC 9449 §4.3 (9): `htu` matches the request URL, ignoring query and fragment. */
function sameTarget(htu: string, url: string): boolean {
  const target = requestTarget(url)
  if (target === undefined) return false
  // The proof names the request URL exactly as the server spells it: equal text, equal URL.
  if (htu === url) return true
  let a: URL
  try {
    a = new URL(htu)
  } catch {
    return false
  }
  return a.protocol === target.protocol && a.host === target.host && a.pathname === target.pathname
}

type Target = {protocol: string; host: string; pathname: string}

/**
 * The parts of a request URL that `htu` is compared with, parsed once per URL (an endpoint's or a
 * resource's URL is the same on every request): undefined for a URL that does not parse. Bounded:
 * the oldest goes first (a resource guard without `resource` builds the URL from the Host header).
 */
const targets = new Map<string, Target | undefined>()
const TARGETS_LIMIT = 64

function requestTarget(url: string): Target | undefined {
  const known = targets.get(url)
  if (known !== undefined || targets.has(url)) return known
  let target: Target | undefined
  try {
    const {protocol, host, pathname} = new URL(url)
    target = {protocol, host, pathname}
  } catch {
    target = undefined
  }
  if (targets.size >= TARGETS_LIMIT) targets.delete(targets.keys().next().value!)
  targets.set(url, target)
  return target
}

function withoutQuery(url: string): string {
  const cut = url.search(/[?#]/)
  return cut === -1 ? url : url.slice(0, cut)
}

/** A claim or header value quoted for a description, shortened. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing'
  // Single quotes: an error_description may not hold double quotes (RFC 6749 §5.2).
  const text = typeof value === 'string' ? `'${value}'` : (JSON.stringify(value) ?? typeof value).replace(/"/g, "'")
  return text.length > 80 ? `${text.slice(0, 80)}...` : text
}

/** The replay cache of verifications without an authority (`requireBearer` with a JWKS URL): one per process. */
export const processDpopReplay = new ReplayCache(DPOP_REPLAY_LIMITS, 'evict')

/**
 * A DPoP failure at a resource (RFC 9449 §7.1): answered 401 with a `DPoP` challenge. `error` is
 * `invalid_token` (a bound token sent as Bearer, an unbound one sent as DPoP) or
 * `invalid_dpop_proof` (the proof failed a check).
 */
export class DpopTokenError extends InvalidTokenError {
  constructor(
    readonly error: 'invalid_token' | 'invalid_dpop_proof',
    message: string,
  ) {
    super(message, 'dpop')
  }
}

/** The DPoP proof a token was presented with, and the request it must describe. */
export interface DpopPresentation {
  /** The `DPoP` header's value(s). */
  proof: string | string[] | undefined
  method: string
  /** The request's URL (query and fragment are ignored). */
  url: string
}

/**
 * RFC 9449 §7: a token sent with the DPoP scheme must be bound and come with a valid proof made
 * by its key, carrying its hash (`ath`); a bound token sent as Bearer is refused.
 */
export async function checkTokenBinding(
  token: string,
  jkt: string | undefined,
  presentation: DpopPresentation | undefined,
  now: number,
  replay: ReplayCache,
  /** The token's `client_id`: the proof's jti counts against that client's share. */
  client: string,
): Promise<void> {
  if (presentation === undefined) {
    if (jkt !== undefined)
      throw new DpopTokenError(
        'invalid_token',
        'The token is DPoP-bound (cnf.jkt): send it with Authorization: DPoP and a DPoP proof made with its key.',
      )
    return
  }
  if (jkt === undefined)
    throw new DpopTokenError(
      'invalid_token',
      'The token is not DPoP-bound (it has no cnf.jkt): send it with Authorization: Bearer.',
    )
  try {
    await verifyDpopProof(presentation.proof, {
      method: presentation.method,
      url: presentation.url,
      accessToken: token,
      jkt,
      now,
      replay,
      client,
    })
  } catch (error) {
    if (error instanceof OAuthError) throw new DpopTokenError('invalid_dpop_proof', error.message)
    throw error
  }
}

/** The `cnf.jkt` of verified access-token claims, or undefined; a malformed `cnf` is invalid_token. */
export function tokenJkt(claims: {cnf?: unknown}): string | undefined {
  if (claims.cnf === undefined) return undefined
  const cnf = claims.cnf
  const jkt = typeof cnf === 'object' && cnf !== null && 'jkt' in cnf ? cnf.jkt : undefined
  if (typeof jkt !== 'string' || !THUMBPRINT.test(jkt))
    throw new InvalidTokenError("The token's cnf claim holds no DPoP key thumbprint (cnf.jkt).", 'claim')
  return jkt
}
