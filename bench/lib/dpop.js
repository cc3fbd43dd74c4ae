// DPoP proofs (RFC 9449) for the bench's load generator: a fresh proof (new jti, current iat) for
// every request. Proofs are made before a measured run, outside the timed path, so that the
// bench process's own signing (which shares the 2 cores with the server) does not set the pace;
// when a run uses more than were made, the rest are signed on the spot and counted.
import {createHash, generateKeyPairSync, randomBytes, sign} from 'node:crypto'

const b64 = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')

/**
 * A source of single-use proofs for one method and URL, signed with one ES256 key (P-256,
 * `node:crypto`, IEEE P1363 signatures as JWS wants them).
 */
export function proofSource({method, url, accessToken}) {
  const {privateKey, publicKey} = generateKeyPairSync('ec', {namedCurve: 'P-256'})
  const {kty, crv, x, y} = publicKey.export({format: 'jwk'})
  const header = b64({typ: 'dpop+jwt', alg: 'ES256', jwk: {kty, crv, x, y}})
  const ath = accessToken === undefined ? undefined : createHash('sha256').update(accessToken).digest('base64url')
  const prefix = randomBytes(6).toString('hex')
  let counter = 0
  const make = () => {
    const claims = {jti: `${prefix}-${(counter++).toString(36)}`, htm: method, htu: url, iat: Math.floor(Date.now() / 1000)}
    if (ath !== undefined) claims.ath = ath
    const input = `${header}.${b64(claims)}`
    return `${input}.${sign('sha256', Buffer.from(input), {key: privateKey, dsaEncoding: 'ieee-p1363'}).toString('base64url')}`
  }
  let pool = []
  let next = 0
  const source = {
    /** Proofs signed during measured runs because the pool ran dry (should stay 0). */
    madeInRun: 0,
    /** Makes `count` proofs now (iat = now: use them within the server's 60 s window). */
    fill(count) {
      pool = Array.from({length: count}, make)
      next = 0
    },
    take() {
      if (next < pool.length) return pool[next++]
      source.madeInRun++
      return make()
    },
    /** autocannon's per-request hook: the same request with a new `DPoP` header. */
    setupRequest: (request) => ({...request, headers: {...request.headers, dpop: source.take()}}),
  }
  return source
}
