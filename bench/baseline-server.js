#!/usr/bin/env node
// The baseline: the practical ceiling for a token endpoint on this machine. A bare node:http
// server that does per request what a token endpoint must do and nothing more: parse the form
// body, authenticate the client (SHA-256 of the secret, constant-time compare), sign one RS256
// JWT with jose carrying the same claims as passport's access tokens, and insert one row into
// SQLite (better-sqlite3, WAL) with the same table and indexes as passport's schema.
// It also serves the bare bearer-verification baseline: GET /oauth/userinfo and
// POST /oauth/introspect with one jose.jwtVerify each (userinfo with `Authorization: DPoP` also
// makes bare DPoP proof checks, bench/lib/dpop.js), GET /oauth/userinfo-recorded (the same plus
// the token's row looked up by jti, as a recording authority must), and GET /healthz (SELECT 1).
//
//   node bench/baseline-server.js --key-dir D --database F [--issuer URL]
//        [--client-id bench --client-secret bench-secret-123] [--port 0]
// prints one JSON line {"issuer":…,"port":…} once listening on 127.0.0.1.
import {createHash, createPrivateKey, createPublicKey, randomBytes, timingSafeEqual} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {createServer} from 'node:http'
import {join} from 'node:path'
import {parseArgs} from 'node:util'

import Database from 'better-sqlite3'
import {EmbeddedJWK, SignJWT, calculateJwkThumbprint, jwtVerify} from 'jose'

import {bareDpopCheck} from './lib/dpop.js'

const {values: opts} = parseArgs({
  options: {
    'key-dir': {type: 'string'},
    database: {type: 'string', default: ':memory:'},
    issuer: {type: 'string'},
    'client-id': {type: 'string', default: 'bench'},
    'client-secret': {type: 'string', default: 'bench-secret-123'},
    port: {type: 'string', default: '0'},
  },
})

const privateKey = createPrivateKey(readFileSync(join(opts['key-dir'], 'oauth-private.key'), 'utf8'))
const publicKey = createPublicKey(readFileSync(join(opts['key-dir'], 'oauth-public.key'), 'utf8'))
const kid = 'baseline'
const clientId = opts['client-id']
const secretHash = createHash('sha256').update(opts['client-secret']).digest()
const TTL_S = 3600

const db = new Database(opts.database)
db.pragma('busy_timeout = 10000')
db.pragma('journal_mode = WAL')
db.pragma('synchronous = NORMAL')
// Same table and indexes as passport's oauth_access_tokens (no foreign key: no clients table
// here), as of passport's schema version 3. The bench runs it on databases made by passport's
// openDatabase, so the table and indexes there are passport's own; these statements only matter
// for a fresh file.
db.exec(`
  CREATE TABLE IF NOT EXISTS oauth_access_tokens (
    id TEXT PRIMARY KEY, client_id TEXT NOT NULL, user_id TEXT, name TEXT, scopes TEXT NOT NULL,
    audience TEXT NOT NULL, grant_type TEXT NOT NULL, family_id TEXT, revoked_at INTEGER,
    created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
  CREATE INDEX IF NOT EXISTS oauth_access_tokens_family ON oauth_access_tokens (family_id) WHERE family_id IS NOT NULL;
  CREATE INDEX IF NOT EXISTS oauth_access_tokens_expires_user ON oauth_access_tokens (expires_at, user_id);
`)
const insert =
  db.prepare(`INSERT INTO oauth_access_tokens (id, client_id, user_id, name, scopes, audience, grant_type, family_id, revoked_at, created_at, expires_at)
  VALUES (?, ?, NULL, NULL, ?, ?, 'client_credentials', NULL, NULL, ?, ?)`)
const ping = db.prepare('SELECT 1')
const recorded = db.prepare('SELECT client_id, revoked_at, expires_at FROM oauth_access_tokens WHERE id = ?')

// UUIDv7 like passport's ids (time-ordered primary keys append to the index).
let lastMs = 0
let seq = 0
function uuidv7(now) {
  if (now <= lastMs) {
    seq = (seq + 1) & 0xfff
    if (seq === 0) lastMs += 1
    now = lastMs
  } else {
    lastMs = now
    seq = randomBytes(2).readUInt16BE(0) & 0x7ff
  }
  const b = randomBytes(16)
  b.writeUIntBE(now, 0, 6)
  b[6] = 0x70 | (seq >> 8)
  b[7] = seq & 0xff
  b[8] = 0x80 | (b[8] & 0x3f)
  const h = b.toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk) => {
      body += chunk
      if (body.length > 65536) reject(new Error('too large'))
    })
    req.on('end', () => resolve(body))
    req.on('error', reject)
  })
}

function send(res, status, payload, headers = {}) {
  const body = JSON.stringify(payload)
  res.writeHead(status, {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(body),
    ...headers,
  })
  res.end(body)
}

/** client_secret_basic or client_secret_post; true when the client authenticates. */
function authenticate(req, form) {
  let id = form.get('client_id')
  let secret = form.get('client_secret')
  const header = req.headers.authorization
  if (header?.startsWith('Basic ')) {
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    id = decodeURIComponent(decoded.slice(0, colon))
    secret = decodeURIComponent(decoded.slice(colon + 1))
  }
  if (id !== clientId || typeof secret !== 'string') return false
  return timingSafeEqual(createHash('sha256').update(secret).digest(), secretHash)
}

let issuer = opts.issuer

async function token(req, res) {
  const form = new URLSearchParams(await readBody(req))
  if (!authenticate(req, form))
    return send(res, 401, {error: 'invalid_client'}, {'www-authenticate': 'Basic realm="baseline"'})
  if (form.get('grant_type') !== 'client_credentials') return send(res, 400, {error: 'unsupported_grant_type'})
  const scopes = (form.get('scope') ?? 'read').split(' ').filter(Boolean)
  const now = Date.now()
  const jti = uuidv7(now)
  const iat = Math.floor(now / 1000)
  const exp = iat + TTL_S
  insert.run(jti, clientId, JSON.stringify(scopes), clientId, now, exp * 1000)
  const accessToken = await new SignJWT({client_id: clientId, scope: scopes.join(' '), scopes})
    .setProtectedHeader({alg: 'RS256', typ: 'at+jwt', kid})
    .setIssuer(issuer)
    .setSubject(clientId)
    .setAudience(clientId)
    .setJti(jti)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(privateKey)
  send(res, 200, {access_token: accessToken, token_type: 'Bearer', expires_in: TTL_S, scope: scopes.join(' ')})
}

async function verify(token) {
  const {payload} = await jwtVerify(token, publicKey, {issuer, typ: 'at+jwt', algorithms: ['RS256']})
  return payload
}

const dpop = bareDpopCheck({jwtVerify, EmbeddedJWK, calculateJwkThumbprint})

async function userinfo(req, res) {
  const header = req.headers.authorization
  const scheme = header?.startsWith('Bearer ') ? 'bearer' : header?.startsWith('DPoP ') ? 'dpop' : undefined
  if (!scheme) return send(res, 401, {error: 'invalid_token'}, {'www-authenticate': 'Bearer'})
  try {
    const token = header.slice(scheme === 'dpop' ? 5 : 7)
    const claims = await verify(token)
    // A DPoP-bound token with its proof (RFC 9449 §7): the bare checks of bench/lib/dpop.js.
    if (scheme === 'dpop')
      await dpop(req.headers.dpop, {method: 'GET', url: `${issuer}/oauth/userinfo`, token, jkt: claims.cnf?.jkt})
    else if (claims.cnf !== undefined) throw new Error('a bound token sent as Bearer')
    send(res, 200, {sub: claims.sub})
  } catch {
    send(res, 401, {error: 'invalid_token'}, {'www-authenticate': 'Bearer error="invalid_token"'})
  }
}

/** userinfo plus the revocation lookup a recording authority makes: the token's row by its jti. */
async function userinfoRecorded(req, res) {
  const header = req.headers.authorization
  if (!header?.startsWith('Bearer ')) return send(res, 401, {error: 'invalid_token'}, {'www-authenticate': 'Bearer'})
  try {
    const claims = await verify(header.slice(7))
    const row = recorded.get(claims.jti)
    if (!row || row.revoked_at !== null || row.client_id !== claims.client_id || row.expires_at <= Date.now())
      throw new Error('not recorded')
    send(res, 200, {sub: claims.sub})
  } catch {
    send(res, 401, {error: 'invalid_token'}, {'www-authenticate': 'Bearer error="invalid_token"'})
  }
}

async function introspect(req, res) {
  const form = new URLSearchParams(await readBody(req))
  if (!authenticate(req, form)) return send(res, 401, {error: 'invalid_client'})
  try {
    const c = await verify(form.get('token') ?? '')
    send(res, 200, {
      active: true,
      scope: c.scope,
      client_id: c.client_id,
      sub: c.sub,
      aud: c.aud,
      iss: c.iss,
      exp: c.exp,
      iat: c.iat,
      jti: c.jti,
      token_type: 'Bearer',
    })
  } catch {
    send(res, 200, {active: false})
  }
}

const server = createServer((req, res) => {
  const url = req.url ?? '/'
  let handler
  if (req.method === 'POST' && url === '/oauth/token') handler = token
  else if (req.method === 'GET' && url === '/oauth/userinfo') handler = userinfo
  else if (req.method === 'GET' && url === '/oauth/userinfo-recorded') handler = userinfoRecorded
  else if (req.method === 'POST' && url === '/oauth/introspect') handler = introspect
  else if (req.method === 'GET' && url === '/healthz')
    handler = async () => send(res, 200, {ok: ping.get() !== undefined})
  else return send(res, 404, {error: 'not_found'})
  handler(req, res).catch((error) => {
    if (!res.headersSent) send(res, 500, {error: 'server_error', error_description: error.message})
  })
})
server.keepAliveTimeout = 10_000
server.listen(Number(opts.port), '127.0.0.1', () => {
  const {port} = server.address()
  issuer ??= `http://127.0.0.1:${port}`
  process.stdout.write(`${JSON.stringify({issuer, port})}\n`)
})
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close()
    server.closeAllConnections?.()
    db.close()
    process.exit(0)
  })
}
