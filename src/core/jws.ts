import type {KeyObject} from 'node:crypto'

import {SignJWT} from 'jose'

/**
 * Signs a JWT as an RS256 compact JWS with jose: the one place passport signs access and id
 * tokens. The caller sets every claim (in the order it wants them); the header is
 * `{alg: "RS256", typ, kid}`. jose signs through WebCrypto, which runs the RSA work on libuv's
 * thread pool, so a busy server signs on every core.
 */
export function signJwtRs256(header: {typ: string; kid: string}, claims: Record<string, unknown>, privateKey: KeyObject): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({alg: 'RS256', typ: header.typ, kid: header.kid}).sign(privateKey)
}
