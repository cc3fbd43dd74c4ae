import * as nodeCrypto from 'node:crypto'
import {createHash, randomBytes, timingSafeEqual} from 'node:crypto'

/**
 * SHA-256 of a string's UTF-8 bytes. `crypto.hash` (Node ≥ 20.12) hashes in one call, without
 * the Hash object `createHash` builds: it runs for every client secret presented.
 */
const sha256Bytes: (value: string) => Buffer =
  typeof (nodeCrypto as {hash?: unknown}).hash === 'function'
    ? (value) => nodeCrypto.hash('sha256', value, 'buffer')
    : (value) => createHash('sha256').update(value, 'utf8').digest()

/** An opaque credential: 32 random bytes (256 bits), base64url. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url')
}

/** SHA-256 of a credential, hex. Only this is ever stored. */
export function sha256(value: string): string {
  return sha256Bytes(value).toString('hex')
}

/** Constant-time comparison of a presented credential against a stored SHA-256 hex digest. */
export function matchesHash(presented: string, storedHash: string): boolean {
  const a = sha256Bytes(presented)
  const b = Buffer.from(storedHash, 'hex')
  return a.length === b.length && timingSafeEqual(a, b)
}

/** base64url(SHA-256(ascii)) as used by PKCE S256 (RFC 7636 §4.2) and `at_hash`. */
export function s256(value: string): string {
  return createHash('sha256').update(value, 'ascii').digest('base64url')
}
