#!/usr/bin/env node
// A protected resource on node:http, two ways, for the bench's requireBearer rows (SPEC §9):
//   --mode guard: passport's requireBearer (from the built dist/) against a local JWK Set;
//   --mode bare:  the same server calling jose.jwtVerify against a local JWK Set (createLocalJWKSet),
//                 plus the bare DPoP checks of bench/lib/dpop.js for `Authorization: DPoP`.
// Both answer GET /api with the same send() ({"sub": …}); only the verification differs.
//   node bench/bearer-server.js --mode guard|bare --jwks FILE --issuer URL --resource URL
// prints one JSON line {"port":…} once listening on 127.0.0.1.
import {readFileSync} from 'node:fs'
import {createServer} from 'node:http'
import {parseArgs} from 'node:util'

import {EmbeddedJWK, calculateJwkThumbprint, createLocalJWKSet, jwtVerify} from 'jose'

import {bareDpopCheck} from './lib/dpop.js'

const {values: opts} = parseArgs({
  options: {mode: {type: 'string'}, jwks: {type: 'string'}, issuer: {type: 'string'}, resource: {type: 'string'}},
})
const set = JSON.parse(readFileSync(opts.jwks, 'utf8'))
const {issuer, resource} = opts
const path = new URL(resource).pathname
const htu = `${new URL(resource).origin}${path}`

function send(res, status, payload) {
  const body = JSON.stringify(payload)
  res.writeHead(status, {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(body),
  })
  res.end(body)
}

let handler
if (opts.mode === 'guard') {
  const {requireBearer} = await import('../dist/index.js')
  const guard = requireBearer({issuer, jwks: set, resource})
  handler = async (req, res) => {
    const verified = await guard(req, res)
    if (verified) send(res, 200, {sub: verified.claims.sub})
  }
} else if (opts.mode === 'bare') {
  const keys = createLocalJWKSet(set)
  const dpop = bareDpopCheck({jwtVerify, EmbeddedJWK, calculateJwkThumbprint})
  handler = async (req, res) => {
    const header = req.headers.authorization ?? ''
    const space = header.indexOf(' ')
    const scheme = header.slice(0, space).toLowerCase()
    const token = header.slice(space + 1)
    try {
      const {payload} = await jwtVerify(token, keys, {
        issuer,
        audience: resource,
        typ: 'at+jwt',
        algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'],
      })
      if (scheme === 'dpop') await dpop(req.headers.dpop, {method: req.method, url: htu, token, jkt: payload.cnf?.jkt})
      else if (scheme !== 'bearer' || payload.cnf !== undefined) throw new Error('scheme')
      send(res, 200, {sub: payload.sub})
    } catch {
      send(res, 401, {error: 'invalid_token'})
    }
  }
} else throw new Error('--mode guard|bare')

const server = createServer((req, res) => {
  if (req.url !== path) return send(res, 404, {error: 'not_found'})
  handler(req, res).catch((error) => {
    if (!res.headersSent) send(res, 500, {error: 'server_error', error_description: error.message})
  })
})
server.keepAliveTimeout = 10_000
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({port: server.address().port})}\n`))
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close()
    server.closeAllConnections?.()
    process.exit(0)
  })
}
