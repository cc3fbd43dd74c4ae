#!/usr/bin/env node
// In-process bearer verification for the bench (SPEC §9): passport's verifyAccessToken (from the
// built dist/) against a bare jose.jwtVerify on a local key set made once, on the same RS256
// token, 10 verifications in flight, in interleaved rounds (A B, B A, …). With --dpop, the token
// is DPoP-bound and each call checks a fresh proof: verifyAccessToken's own checks against the
// bare DPoP checks of bench/lib/dpop.js. Proofs are signed before each run, outside the timing.
//   node bench/bearer-inproc.js --key FILE --issuer URL --resource URL --seconds S --rounds R
// prints one JSON line: {rows: [{name, rounds_ops_per_s, ops_per_s, cpu_us_per_op}], …}.
import {createPrivateKey, createPublicKey, randomUUID} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {parseArgs} from 'node:util'

import {EmbeddedJWK, SignJWT, calculateJwkThumbprint, createLocalJWKSet, jwtVerify} from 'jose'

import {verifyAccessToken} from '../dist/index.js'
import {bareDpopCheck, proofSource} from './lib/dpop.js'

const {values: opts} = parseArgs({
  options: {
    key: {type: 'string'},
    issuer: {type: 'string'},
    resource: {type: 'string'},
    seconds: {type: 'string', default: '2'},
    rounds: {type: 'string', default: '4'},
  },
})
const {issuer, resource} = opts
const seconds = Number(opts.seconds)
const rounds = Number(opts.rounds)
const privateKey = createPrivateKey(readFileSync(opts.key, 'utf8'))
const jwk = {...createPublicKey(privateKey).export({format: 'jwk'}), alg: 'RS256', use: 'sig'}
jwk.kid = await calculateJwkThumbprint(jwk)
const set = {keys: [jwk]}
const url = resource

const mint = (extra = {}) => {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({client_id: 'bench', scope: 'read', scopes: ['read'], ...extra})
    .setProtectedHeader({alg: 'RS256', typ: 'at+jwt', kid: jwk.kid})
    .setIssuer(issuer)
    .setSubject('alice')
    .setAudience(resource)
    .setJti(randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(privateKey)
}
const proofs = proofSource({method: 'GET', url})
const bearer = await mint()
const bound = await mint({cnf: {jkt: proofs.jkt}})
proofs.accessToken = bound

const keys = createLocalJWKSet(set)
const bareOptions = {issuer, audience: resource, typ: 'at+jwt', algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA']}
const dpop = bareDpopCheck({jwtVerify, EmbeddedJWK, calculateJwkThumbprint})
const rows = [
  // verifyAccessToken as a user calls it: the options each time (the JWK Set object included).
  {name: 'verifyAccessToken', pair: 'bearer', run: () => verifyAccessToken(bearer, {issuer, jwks: set, resource})},
  {name: 'bare jwtVerify', pair: 'bearer', run: () => jwtVerify(bearer, keys, bareOptions)},
  {
    name: 'verifyAccessToken, DPoP',
    pair: 'dpop',
    proofs: true,
    run: () =>
      verifyAccessToken(bound, {issuer, jwks: set, resource, dpop: {proof: proofs.take(), method: 'GET', url}}),
  },
  {
    name: 'bare jwtVerify + DPoP checks',
    pair: 'dpop',
    proofs: true,
    run: async () => {
      const {payload} = await jwtVerify(bound, keys, bareOptions)
      await dpop(proofs.take(), {method: 'GET', url, token: bound, jkt: payload.cnf.jkt})
    },
  },
]

async function measure(row, ms) {
  if (row.proofs) proofs.fill(Math.ceil(Math.max(row.best ?? 10_000, 1000) * 1.3 * (ms / 1000)) + 500)
  const made = proofs.madeInRun
  const cpu = process.cpuUsage()
  const start = performance.now()
  const end = start + ms
  let count = 0
  await Promise.all(
    Array.from({length: 10}, async () => {
      while (performance.now() < end) {
        await row.run()
        count++
      }
    }),
  )
  const elapsed = (performance.now() - start) / 1000
  const used = process.cpuUsage(cpu)
  if (row.proofs) row.proofs_made_in_run = (row.proofs_made_in_run ?? 0) + proofs.madeInRun - made
  const opsPerS = count / elapsed
  row.best = Math.max(row.best ?? 0, opsPerS)
  return {ops: count, seconds: elapsed, cpu_ms: (used.user + used.system) / 1000, ops_per_s: Math.round(opsPerS)}
}

for (const row of rows) {
  await row.run() // fails loudly here, not in the timed loop, when a row cannot verify
  await measure(row, 1000) // warm-up (JIT, jose's key cache)
  row.runs = []
}
for (let round = 0; round < rounds; round++) {
  for (const row of round % 2 === 0 ? rows : [...rows].reverse()) row.runs.push(await measure(row, seconds * 1000))
}
const out = rows.map((row) => {
  const ops = row.runs.reduce((a, r) => a + r.ops, 0)
  const secs = row.runs.reduce((a, r) => a + r.seconds, 0)
  const cpu = row.runs.reduce((a, r) => a + r.cpu_ms, 0)
  return {
    name: row.name,
    pair: row.pair,
    ops_per_s: Math.round(ops / secs),
    cpu_us_per_op: Math.round((cpu / ops) * 1000 * 10) / 10,
    rounds_ops_per_s: row.runs.map((r) => r.ops_per_s),
    ...(row.proofs ? {proofs_made_in_run: row.proofs_made_in_run ?? 0} : {}),
  }
})
process.stdout.write(`${JSON.stringify({rows: out})}\n`)
