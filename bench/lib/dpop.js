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
export function proofSource({method, url}) {
  const {privateKey, publicKey} = generateKeyPairSync('ec', {namedCurve: 'P-256'})
  const {kty, crv, x, y} = publicKey.export({format: 'jwk'})
  const header = b64({typ: 'dpop+jwt', alg: 'ES256', jwk: {kty, crv, x, y}})
  const prefix = randomBytes(6).toString('hex')
  let counter = 0
  let ath
  const make = () => {
    const claims = {
      jti: `${prefix}-${(counter++).toString(36)}`,
      htm: method,
      htu: url,
      iat: Math.floor(Date.now() / 1000),
    }
    if (ath !== undefined) claims.ath = ath
    const input = `${header}.${b64(claims)}`
    return `${input}.${sign('sha256', Buffer.from(input), {key: privateKey, dsaEncoding: 'ieee-p1363'}).toString('base64url')}`
  }
  let pool = []
  let next = 0
  const source = {
    /** RFC 7638 thumbprint of the proof key: the `cnf.jkt` of tokens bound to it. */
    jkt: createHash('sha256').update(JSON.stringify({crv, kty, x, y})).digest('base64url'),
    /** The access token the proofs go with (`ath`); set before `fill`. */
    set accessToken(token) {
      ath = createHash('sha256').update(token).digest('base64url')
    },
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

/**
 * The DPoP checks a resource server written with bare jose makes (RFC 9449 §4.3, §7.1): the
 * proof verified with its embedded key (`typ`, `alg`), `htm`, `htu`, `iat` within 60 s, `ath`,
 * the key's thumbprint against the token's `cnf.jkt`, and a `jti` not seen before (a Map swept of
 * entries older than the window). The baselines of the bearer rows use it; throws on failure.
 */
export function bareDpopCheck({jwtVerify, EmbeddedJWK, calculateJwkThumbprint}) {
  const seen = new Map()
  let swept = Date.now()
  return async function check(proof, {method, url, token, jkt}) {
    if (typeof proof !== 'string') throw new Error('no DPoP proof')
    const {payload, protectedHeader} = await jwtVerify(proof, EmbeddedJWK, {
      typ: 'dpop+jwt',
      algorithms: ['ES256', 'EdDSA', 'RS256', 'PS256'],
    })
    const now = Date.now()
    if (payload.htm !== method || payload.htu !== url) throw new Error('htm or htu')
    if (typeof payload.iat !== 'number' || Math.abs(payload.iat - now / 1000) > 60) throw new Error('iat')
    if (payload.ath !== createHash('sha256').update(token).digest('base64url')) throw new Error('ath')
    if ((await calculateJwkThumbprint(protectedHeader.jwk)) !== jkt) throw new Error('jkt')
    if (typeof payload.jti !== 'string' || seen.has(payload.jti)) throw new Error('jti')
    seen.set(payload.jti, now)
    if (now - swept > 10_000) {
      swept = now
      for (const [jti, at] of seen) if (now - at > 120_000) seen.delete(jti)
    }
  }
}
