import type {webcrypto} from 'node:crypto'

import {exportJWK, type JWK, SignJWT} from 'jose'

type CryptoKeyPair = webcrypto.CryptoKeyPair
type CryptoKey = webcrypto.CryptoKey

export interface ProofOptions {
  typ?: string
  iat?: number
  jti?: string | null
  ath?: string
  nonce?: string
  privateJwk?: boolean
  noJwk?: boolean
  signWith?: CryptoKey
}

/** A DPoP proof built by hand (jose), so that every field can be wrong on purpose. */
export async function proof(
  pair: CryptoKeyPair,
  htm: string,
  htu: string,
  options: ProofOptions = {},
): Promise<string> {
  const jwk: JWK = options.privateJwk ? await exportJWK(pair.privateKey) : await exportJWK(pair.publicKey)
  const claims: Record<string, unknown> = {htm, htu, iat: options.iat ?? Math.floor(Date.now() / 1000)}
  if (options.jti !== null) claims.jti = options.jti ?? crypto.randomUUID()
  if (options.ath !== undefined) claims.ath = options.ath
  if (options.nonce !== undefined) claims.nonce = options.nonce
  const header: Record<string, unknown> = {alg: 'ES256', typ: options.typ ?? 'dpop+jwt'}
  if (!options.noJwk) header.jwk = jwk
  return new SignJWT(claims).setProtectedHeader(header as {alg: string}).sign(options.signWith ?? pair.privateKey)
}

/** An `alg: none` proof. */
export async function unsigned(pair: CryptoKeyPair, htm: string, htu: string): Promise<string> {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
  return `${enc({alg: 'none', typ: 'dpop+jwt', jwk: await exportJWK(pair.publicKey)})}.${enc({htm, htu, iat: Math.floor(Date.now() / 1000), jti: crypto.randomUUID()})}.`
}
