import type {KeyObject} from 'node:crypto'

import {CompactSign} from 'jose'

import type {SigningAlgorithm} from './keys.js'

const UTF8 = new TextEncoder()

/**
 * Signs a JWT as a compact JWS with jose: the one place passport signs access and id tokens.
 * The caller sets every claim (in the order it wants them); the header is `{alg, typ, kid}`,
 * `alg` being the active key's (RS256, PS256, ES256 or EdDSA). jose signs through WebCrypto,
 * which runs the RSA and EC work on libuv's thread pool, so a busy server signs on every core.
 *
 * The claims set goes to jose's `CompactSign` as JSON, which is what `SignJWT` hands it too
 * (the tokens are byte for byte the same). `SignJWT` first copies the claims with
 * `structuredClone` and keeps the copy in a `WeakMap` for its setters, which passport does not
 * use: ~30 µs of the event loop's time per token (see docs/performance.md).
 */
export function signJwt(
  alg: SigningAlgorithm,
  header: {typ: string; kid: string},
  claims: Record<string, unknown>,
  privateKey: KeyObject,
): Promise<string> {
  return new CompactSign(UTF8.encode(JSON.stringify(claims)))
    .setProtectedHeader({alg, typ: header.typ, kid: header.kid})
    .sign(privateKey)
}

/** {@link signJwt} with RS256. */
export function signJwtRs256(
  header: {typ: string; kid: string},
  claims: Record<string, unknown>,
  privateKey: KeyObject,
): Promise<string> {
  return signJwt('RS256', header, claims, privateKey)
}
