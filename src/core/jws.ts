import {type KeyObject, sign} from 'node:crypto'

/**
 * Signs a JWT as an RS256 compact JWS (RFC 7515 §7.1, RFC 7519 §7.1): `BASE64URL(header) "."
 * BASE64URL(claims) "." BASE64URL(RSASSA-PKCS1-v1_5-SHA-256 signature)`.
 *
 * The same OpenSSL RSASSA-PKCS1-v1_5 signature jose's SignJWT makes through WebCrypto, run by
 * `crypto.sign` with a callback on libuv's thread pool (the event loop keeps serving), without
 * WebCrypto's per-call work, and without loading jose at all in commands that only mint tokens.
 * The scheme is deterministic, so the token is byte for byte what
 * `new SignJWT(claims).setProtectedHeader(header).sign(key)` returns for the same header and
 * claims (test/tokens/jws.test.ts checks exactly that), and jose verifies it as usual.
 */
export function signJwtRs256(header: {typ: string; kid: string}, claims: Record<string, unknown>, privateKey: KeyObject): Promise<string> {
  // jose refuses keys under 2048 bits for RS256: the same rule, the same message.
  const bits = privateKey.asymmetricKeyDetails?.modulusLength
  if (privateKey.asymmetricKeyType !== 'rsa' || privateKey.type !== 'private' || typeof bits !== 'number' || bits < 2048) {
    return Promise.reject(new TypeError('RS256 requires key modulusLength to be 2048 bits or larger'))
  }
  const input = `${encode({alg: 'RS256', typ: header.typ, kid: header.kid})}.${encode(claims)}`
  return new Promise((resolve, reject) => {
    sign('sha256', Buffer.from(input, 'ascii'), privateKey, (error, signature) => {
      if (error) reject(error)
      else resolve(`${input}.${signature.toString('base64url')}`)
    })
  })
}

function encode(value: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url')
}
