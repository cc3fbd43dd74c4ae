import {type KeyObject, sign} from 'node:crypto'

/**
 * Signs a JWT as an RS256 compact JWS (RFC 7515 §7.1, RFC 7519 §7.1): `BASE64URL(header) "."
 * BASE64URL(claims) "." BASE64URL(RSASSA-PKCS1-v1_5-SHA-256 signature)`.
 *
 * Why not jose's SignJWT: in Node 20 its WebCrypto path costs the event loop far more per token
 * than the RSA work it hands to the thread pool, so a server signing with it is bound to one
 * core. `crypto.sign` with a callback runs the same OpenSSL signature on libuv's thread pool
 * (both cores sign) with almost no main-thread work. RSASSA-PKCS1-v1_5 is deterministic, so the
 * token is byte for byte what `new SignJWT(claims).setProtectedHeader(header).sign(key)` returns
 * for the same header and claims (test/tokens/jws.test.ts checks exactly that), and jose
 * verifies it as usual.
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
