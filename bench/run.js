#!/usr/bin/env node
// `npm run bench`: every performance figure of SPEC §9 in one run on one machine, side by side,
// as a table on stdout and as JSON in bench/results/latest.json. Only same-run ratios count.
//
//   npm run bench [-- --quick] [-- --only token,bearer,cold,scale,mcp,control] [-- --rows N]
//   BENCH_DURATION=seconds per load run (default 20, 3 with --quick); BENCH_RUNS=cold-start runs.
//
// Everything listens on 127.0.0.1 port 0, every loop is bounded, every child is killed on exit.
import {generateKeyPairSync} from 'node:crypto'
import {copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {availableParallelism, tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'
import {parseArgs} from 'node:util'

import autocannon from 'autocannon'
import {SignJWT, decodeJwt, decodeProtectedHeader} from 'jose'

import {cleanEnv, cpuMs, firstLine, run, runAsync, sampleRss, startServer, stop} from './lib/proc.js'
import {proofSource} from './lib/dpop.js'
import {countTokens, ensureClient, seedTokens} from './lib/seed.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const NODE = process.execPath
const BIN = join(ROOT, 'bin', 'run.js')

const {values: flags} = parseArgs({
  options: {
    quick: {type: 'boolean', default: false},
    only: {type: 'string'},
    rows: {type: 'string'},
    keep: {type: 'boolean', default: false},
  },
})
const DURATION = Number(process.env.BENCH_DURATION ?? (flags.quick ? 3 : 20))
const RUNS = Number(process.env.BENCH_RUNS ?? (flags.quick ? 3 : 7))
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (flags.quick ? 2 : 4))
const ROWS = Number(flags.rows ?? process.env.BENCH_ROWS ?? 1_000_000)
const CONNECTIONS = [10, 50]
const SECTIONS = new Set((flags.only ?? 'token,bearer,cold,scale,mcp,control').split(',').map((s) => s.trim()))
if (!(DURATION > 0 && DURATION <= 600)) throw new Error('BENCH_DURATION must be 1–600 seconds')
if (!(RUNS >= 1 && RUNS <= 50)) throw new Error('BENCH_RUNS must be 1–50')
if (!(ROUNDS >= 1 && ROUNDS <= 10)) throw new Error('BENCH_ROUNDS must be 1–10')

const CLIENT = {id: 'bench', name: 'Bench', secret: 'bench-secret-123', scopes: ['read']}
const BASIC = `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`
const TOKEN_BODY = 'grant_type=client_credentials&scope=read'
const FORM = 'application/x-www-form-urlencoded'
// Not a loopback URL: serve refuses a loopback issuer naming another port than the one it listens on (--port 0).
const ISSUER = 'http://passport.bench.test'
const NA = 'passport: not available'

const results = {
  started_at: new Date().toISOString(),
  machine: {node: process.version, cpus: (await import('node:os')).cpus().length, platform: process.platform},
  settings: {duration_s: DURATION, rounds: ROUNDS, cold_runs: RUNS, rows: ROWS, connections: CONNECTIONS},
  load_average: {start: (await import('node:os')).loadavg()},
  token: [],
  bearer: [],
  cold: [],
  scale: {},
  mcp: {},
  control: [],
  targets: [],
}

// ---- setup --------------------------------------------------------------------------------

const work = mkdtempSync(join(tmpdir(), 'passport-bench-'))
const keyDir = join(work, 'keys')
// ES256 (EC P-256) and EdDSA (Ed25519) signing keys, for the SPEC §9 "ES256 ≥ 4× RS256" rows.
const keyDirs = {RS256: keyDir, ES256: join(work, 'keys-es256'), EdDSA: join(work, 'keys-eddsa')}
const configFile = join(work, 'passport.config.json')
// A registered resource (RFC 8707): the "with resource" token row asks for it (issue 15).
const RESOURCE = 'https://api.bench.test/v1'

function log(message) {
  process.stderr.write(`[bench] ${message}\n`)
}

function setup() {
  if (!existsSync(join(ROOT, 'dist', 'store', 'database.js'))) {
    log('dist/ missing: running npm run build')
    const built = run('npm', ['run', 'build'], {cwd: ROOT, timeoutMs: 300_000})
    if (built.code !== 0) log(`build failed: ${firstLine(built.stderr || built.stdout)}`)
  }
  mkdirSync(keyDir, {recursive: true, mode: 0o700})
  const pair = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: {type: 'spki', format: 'pem'},
    privateKeyEncoding: {type: 'pkcs8', format: 'pem'},
  })
  writeFileSync(join(keyDir, 'oauth-private.key'), pair.privateKey, {mode: 0o600})
  writeFileSync(join(keyDir, 'oauth-public.key'), pair.publicKey, {mode: 0o644})
  for (const [dir, type, options] of [
    [keyDirs.ES256, 'ec', {namedCurve: 'P-256'}],
    [keyDirs.EdDSA, 'ed25519', {}],
  ]) {
    const other = generateKeyPairSync(type, {
      ...options,
      publicKeyEncoding: {type: 'spki', format: 'pem'},
      privateKeyEncoding: {type: 'pkcs8', format: 'pem'},
    })
    mkdirSync(dir, {recursive: true, mode: 0o700})
    writeFileSync(join(dir, 'oauth-private.key'), other.privateKey, {mode: 0o600})
    writeFileSync(join(dir, 'oauth-public.key'), other.publicKey, {mode: 0o644})
  }
  writeFileSync(
    configFile,
    `${JSON.stringify(
      {
        issuer: ISSUER,
        scopes: {read: 'Read access'},
        users: {alice: {name: 'Alice Example', email: 'alice@example.test'}, a: {name: 'A'}},
        clients: [
          {
            id: CLIENT.id,
            name: CLIENT.name,
            secret: CLIENT.secret,
            grants: ['client_credentials'],
            scopes: CLIENT.scopes,
          },
        ],
        resources: {[RESOURCE]: {name: 'Bench API'}},
      },
      null,
      2,
    )}\n`,
  )
  return pair.privateKey
}

/** Global flags pointing passport at the bench's config, database and keys. */
const passportFlags = (database, keys = keyDir) => ['--config', configFile, '--database', database, '--key-path', keys]

/** A database file with passport's schema (via the built dist/) and the bench client. */
async function passportDatabase(name) {
  const path = join(work, name)
  const {openDatabase} = await import(pathToFileURL(join(ROOT, 'dist', 'store', 'database.js')).href)
  const db = openDatabase(path)
  ensureClient(db, CLIENT)
  db.close()
  return path
}

// ---- servers ------------------------------------------------------------------------------

const servers = {
  passport: (database, {alg = 'RS256', label = 'passport serve'} = {}) => ({
    label,
    tokenPath: '/oauth/token',
    start: () =>
      startServer(NODE, [BIN, 'serve', '--port', '0', '--json', '--quiet', ...passportFlags(database, keyDirs[alg])], {
        cwd: work,
      }),
  }),
  // passport with the test-control API on (serve --control) and no fault armed (docs/testing.md).
  passportControl: (database) => ({
    label: 'passport serve --control',
    tokenPath: '/oauth/token',
    start: () =>
      startServer(NODE, [BIN, 'serve', '--port', '0', '--json', '--quiet', '--control', ...passportFlags(database)], {
        cwd: work,
      }),
  }),
  baseline: (database) => ({
    label: 'baseline (node:http+jose+SQLite)',
    tokenPath: '/oauth/token',
    start: () =>
      startServer(
        NODE,
        [join(ROOT, 'bench', 'baseline-server.js'), '--key-dir', keyDir, '--database', database, '--issuer', ISSUER],
        {cwd: work},
      ),
  }),
  // The baseline again with libuv's thread pool sized as bin/run.js sizes passport's (one thread
  // per core, at least 2): not a target, it shows what passport's pool sizing alone is worth.
  baselinePool: (database) => ({
    label: 'baseline, pool sized like passport',
    tokenPath: '/oauth/token',
    start: () =>
      startServer(
        NODE,
        [join(ROOT, 'bench', 'baseline-server.js'), '--key-dir', keyDir, '--database', database, '--issuer', ISSUER],
        {
          cwd: work,
          env: cleanEnv({UV_THREADPOOL_SIZE: String(Math.max(2, availableParallelism()))}),
        },
      ),
  }),
  mock: () => ({
    label: 'oauth2-mock-server',
    tokenPath: '/token',
    start: () =>
      startServer(NODE, [join(ROOT, 'bench', 'peers', 'oauth2-mock-server.js'), '--key-dir', keyDir], {cwd: work}),
  }),
  oidc: () => ({
    label: 'oidc-provider',
    tokenPath: '/token',
    start: () =>
      startServer(NODE, [join(ROOT, 'bench', 'peers', 'oidc-provider.js'), '--key-dir', keyDir], {cwd: work}),
  }),
}

/** One request with a bounded timeout; never throws. */
async function probe(url, init = {}) {
  try {
    const response = await fetch(url, {...init, signal: AbortSignal.timeout(10_000)})
    const text = await response.text()
    let json
    try {
      json = JSON.parse(text)
    } catch {
      // not JSON
    }
    return {status: response.status, text, json}
  } catch (error) {
    return {status: 0, text: error.message}
  }
}

/** Says what an access token is: JWT (alg, typ) or opaque. */
function tokenFormat(token) {
  if (typeof token !== 'string') return 'none'
  try {
    const header = decodeProtectedHeader(token)
    decodeJwt(token)
    return `JWT ${header.alg}${header.typ ? ` typ=${header.typ}` : ''}`
  } catch {
    return `opaque (${token.length} chars)`
  }
}

/** One autocannon run against a server, with the server's peak RSS sampled meanwhile. */
async function load(
  server,
  {path, method = 'GET', headers = {}, body, connections, duration = DURATION, setupRequest},
) {
  const rss = sampleRss(server.pid)
  const cpuBefore = cpuMs(server.pid)
  let result
  let peak
  try {
    result = await autocannon({
      url: `http://127.0.0.1:${server.info.port}${path}`,
      method,
      headers,
      body,
      connections,
      duration,
      timeout: 10,
      // A per-request hook (a fresh DPoP proof): autocannon rebuilds each request through it.
      ...(setupRequest ? {requests: [{setupRequest}]} : {}),
    })
  } finally {
    peak = rss.stop()
  }
  const ok = result['2xx'] ?? 0
  const cpu = cpuMs(server.pid) - cpuBefore
  return {
    connections,
    cpu_ms: cpu,
    cpu_ms_per_req: ok > 0 ? Math.round((cpu / ok) * 1000) / 1000 : null,
    duration_s: result.duration,
    req_per_s: Math.round(ok / result.duration),
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    rss_peak_mb: peak,
    ok,
    non_2xx: result.non2xx ?? 0,
    errors: result.errors ?? 0,
    timeouts: result.timeouts ?? 0,
  }
}

/**
 * One token-endpoint load run. `variant` changes the request: `body` (e.g. with `resource`) and
 * `proofs` (a DPoP proof source: a fresh proof per request, made before the run).
 */
async function tokenLoad(server, path, connections, duration, variant = {}) {
  const proofs = variant.proofs
  // Enough proofs for the run: 1.5× the fastest rate this variant has shown, at least 8,000/s
  // before it has shown one. More than that are signed during the run and counted.
  if (proofs) proofs.fill(Math.ceil(Math.max(variant.best_req_per_s ?? 8000, 1000) * 1.5 * duration) + 1000)
  const before = proofs?.madeInRun ?? 0
  const result = await load(server, {
    path,
    method: 'POST',
    headers: {authorization: BASIC, 'content-type': FORM},
    body: variant.body ?? TOKEN_BODY,
    connections,
    duration,
    ...(proofs ? {setupRequest: proofs.setupRequest} : {}),
  })
  if (proofs) {
    result.proofs_made_in_run = proofs.madeInRun - before
    proofs.fill(0)
  }
  variant.best_req_per_s = Math.max(variant.best_req_per_s ?? 0, result.req_per_s)
  return result
}

/** Starts a server or returns the reason it is not available. */
async function tryStart(def) {
  try {
    return {server: await def.start()}
  } catch (error) {
    return {error: error.message}
  }
}

// ---- 1. token endpoint --------------------------------------------------------------------

/** Sums interleaved rounds of one server at one connection count into one row. */
function combine(rounds) {
  const total = rounds.reduce((sum, r) => sum + r.duration_s, 0)
  const ok = rounds.reduce((sum, r) => sum + r.ok, 0)
  const sum = (key) => rounds.reduce((acc, r) => acc + r[key], 0)
  return {
    connections: rounds[0].connections,
    duration_s: total,
    req_per_s: Math.round(ok / total),
    p50_ms: Math.round((sum('p50_ms') / rounds.length) * 10) / 10,
    p99_ms: Math.max(...rounds.map((r) => r.p99_ms)),
    cpu_ms_per_req: ok > 0 ? Math.round((sum('cpu_ms') / ok) * 1000) / 1000 : null,
    rss_peak_mb: Math.max(...rounds.map((r) => r.rss_peak_mb)),
    ok,
    non_2xx: sum('non_2xx'),
    errors: sum('errors'),
    timeouts: sum('timeouts'),
    rounds_req_per_s: rounds.map((r) => r.req_per_s),
    ...(rounds.some((r) => r.proofs_made_in_run !== undefined) ? {proofs_made_in_run: sum('proofs_made_in_run')} : {}),
  }
}

async function benchTokenEndpoint() {
  const tokenUrl = `${ISSUER}/oauth/token`
  const defs = [
    ['passport', servers.passport(await passportDatabase('token-passport.sqlite'))],
    // Variants on the same server (same process, database and key): only the request differs.
    [
      'passport-resource',
      {
        same: 'passport',
        label: 'passport, with resource',
        body: `${TOKEN_BODY}&resource=${encodeURIComponent(RESOURCE)}`,
      },
    ],
    [
      'passport-dpop',
      {same: 'passport', label: 'passport, DPoP proof', proofs: proofSource({method: 'POST', url: tokenUrl})},
    ],
    [
      'passport-es256',
      servers.passport(await passportDatabase('token-passport-es256.sqlite'), {
        alg: 'ES256',
        label: 'passport, ES256 key',
      }),
    ],
    [
      'passport-es256-dpop',
      {
        same: 'passport-es256',
        label: 'passport, ES256 key, DPoP proof',
        proofs: proofSource({method: 'POST', url: tokenUrl}),
      },
    ],
    [
      'passport-eddsa',
      servers.passport(await passportDatabase('token-passport-eddsa.sqlite'), {
        alg: 'EdDSA',
        label: 'passport, EdDSA key',
      }),
    ],
    ['baseline', servers.baseline(await passportDatabase('token-baseline.sqlite'))],
    ['baseline-pool', servers.baselinePool(await passportDatabase('token-baseline-pool.sqlite'))],
    ['oauth2-mock-server', servers.mock()],
    ['oidc-provider', servers.oidc()],
  ]
  await tokenRows(defs, results.token)
}

/**
 * `--only control`: passport with and without `--control` (no fault armed), interleaved as the
 * token section measures, for the SPEC §11 target (within 5%).
 */
async function benchControl() {
  const defs = [
    ['passport', servers.passport(await passportDatabase('control-passport.sqlite'))],
    ['passport-control', servers.passportControl(await passportDatabase('control-passport-control.sqlite'))],
  ]
  // Twice the rounds (same total time): the target is a median of per-round ratios.
  await tokenRows(defs, results.control, {rounds: Math.min(10, ROUNDS * 2)})
}

/**
 * Starts every server of `defs` and measures their token endpoints in interleaved rounds, into
 * `into`. A def with `same: NAME` is a request variant (`body`, `proofs`) on NAME's server.
 */
async function tokenRows(defs, into, {rounds: roundCount = ROUNDS} = {}) {
  // All servers run at once (idle ones cost nothing) and are measured in interleaved rounds,
  // A B C D then D C B A, so drift and other load on a shared machine hit every server alike.
  const live = []
  const started = []
  try {
    for (const [name, def] of defs) {
      const row = {name, label: def.label, runs: []}
      into.push(row)
      let server
      let tokenPath = def.tokenPath
      if (def.same !== undefined) {
        const host = live.find((l) => l.row.name === def.same)
        if (!host) {
          row.unavailable = into.find((r) => r.name === def.same)?.unavailable ?? `${def.same} is not running`
          continue
        }
        server = host.server
        tokenPath = host.tokenPath
      } else {
        log(`token endpoint: starting ${def.label}`)
        const {server: s, error} = await tryStart(def)
        if (!s) {
          row.unavailable = name.startsWith('passport') ? `${NA} (${error})` : error
          continue
        }
        server = s
        started.push(s)
      }
      const variant = {body: def.body, proofs: def.proofs}
      live.push({row, def, server, tokenPath, variant})
      const headers = {authorization: BASIC, 'content-type': FORM}
      if (def.proofs) {
        def.proofs.fill(1)
        headers.dpop = def.proofs.take()
      }
      const first = await probe(`http://127.0.0.1:${server.info.port}${tokenPath}`, {
        method: 'POST',
        headers,
        body: variant.body ?? TOKEN_BODY,
      })
      row.first_status = first.status
      row.token_format = tokenFormat(first.json?.access_token)
      if (first.json?.token_type !== undefined && first.json.token_type !== 'Bearer')
        row.token_format += ` ${first.json.token_type}`
      if (def.body !== undefined && first.json?.access_token)
        row.token_format += ` aud=${decodeJwt(first.json.access_token).aud}`
      if (first.status !== 200) row.note = `first request: ${first.status} ${first.text.slice(0, 160)}`
    }
    for (const l of live) await tokenLoad(l.server, l.tokenPath, 10, Math.min(2, DURATION), l.variant) // warm-up, not recorded
    const roundSeconds = Math.max(1, Math.round(DURATION / roundCount))
    for (const connections of CONNECTIONS) {
      const rounds = new Map(live.map((l) => [l, []]))
      for (let round = 0; round < roundCount; round++) {
        const order = round % 2 === 0 ? live : [...live].reverse()
        for (const l of order) {
          log(`token endpoint: ${l.row.label}, ${connections} connections, round ${round + 1}/${roundCount}`)
          try {
            rounds.get(l).push(await tokenLoad(l.server, l.tokenPath, connections, roundSeconds, l.variant))
          } catch (error) {
            l.row.unavailable = `error: ${error.message}`
          }
        }
      }
      for (const l of live) if (rounds.get(l).length) l.row.runs.push(combine(rounds.get(l)))
    }
  } finally {
    for (const server of started) await stop(server.child)
  }
}

// ---- 2. bearer verification and introspection ----------------------------------------------

/**
 * Bearer verification (SPEC §9: `verifyAccessToken`, `requireBearer` and `/userinfo` at least
 * 0.9× a bare `jose.jwtVerify` against a local key set, DPoP proof checks included when present).
 * Over HTTP, at 50 connections, in interleaved rounds: passport's `/userinfo` against the
 * baseline server's bare `jwtVerify` `/oauth/userinfo`; `requireBearer` in a `node:http` server
 * against the same server calling bare `jwtVerify` (bench/bearer-server.js); each with a Bearer
 * token and with a DPoP-bound token and a fresh proof per request (the bare side then makes the
 * DPoP checks a jose user would: bench/lib/dpop.js). In process: `verifyAccessToken` against bare
 * `jwtVerify` (bench/bearer-inproc.js). Introspection is measured too (no target).
 */
async function benchBearer(privateKeyPem) {
  const connections = 50
  const {createPrivateKey, createPublicKey} = await import('node:crypto')
  const {calculateJwkThumbprint} = await import('jose')
  const privateKey = createPrivateKey(privateKeyPem)
  const resource = 'http://resource.bench.test/api'
  const jwk = {...createPublicKey(privateKey).export({format: 'jwk'}), alg: 'RS256', use: 'sig'}
  jwk.kid = await calculateJwkThumbprint(jwk)
  const jwksFile = join(work, 'bearer-jwks.json')
  writeFileSync(jwksFile, JSON.stringify({keys: [jwk]}))
  const sign = (claims, {kid, audience, subject = 'alice'}) => {
    const now = Math.floor(Date.now() / 1000)
    return new SignJWT(claims)
      .setProtectedHeader({alg: 'RS256', typ: 'at+jwt', kid})
      .setIssuer(ISSUER)
      .setSubject(subject)
      .setAudience(audience)
      .setJti(crypto.randomUUID())
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(privateKey)
  }
  const userClaims = {client_id: CLIENT.id, scope: 'openid read', scopes: ['openid', 'read']}
  const proof = (url) => proofSource({method: 'GET', url})

  const passportDb = await passportDatabase('bearer-passport.sqlite')
  const defs = {
    passport: servers.passport(passportDb),
    baseline: servers.baseline(await passportDatabase('bearer-baseline.sqlite')),
    guard: {
      label: 'requireBearer server',
      start: () =>
        startServer(
          NODE,
          [
            join(ROOT, 'bench', 'bearer-server.js'),
            '--mode',
            'guard',
            '--jwks',
            jwksFile,
            '--issuer',
            ISSUER,
            '--resource',
            resource,
          ],
          {cwd: work},
        ),
    },
    bare: {
      label: 'bare jwtVerify server',
      start: () =>
        startServer(
          NODE,
          [
            join(ROOT, 'bench', 'bearer-server.js'),
            '--mode',
            'bare',
            '--jwks',
            jwksFile,
            '--issuer',
            ISSUER,
            '--resource',
            resource,
          ],
          {cwd: work},
        ),
    },
  }
  const mintPassport = (extra) => {
    const minted = run(NODE, [BIN, 'token', '--user', 'alice', '--json', ...extra, ...passportFlags(passportDb)], {
      cwd: work,
      timeoutMs: 30_000,
    })
    let token
    try {
      token = JSON.parse(minted.stdout).access_token
    } catch {
      // reported below
    }
    if (typeof token !== 'string')
      throw new Error(`passport token: ${firstLine(minted.stderr || minted.stdout) || `exit ${minted.code}`}`)
    return token
  }
  const userinfoUrl = `${ISSUER}/oauth/userinfo`
  /** A token the baseline issued (so its row is recorded there). */
  const baselineToken = async (server) => {
    const issued = await probe(`http://127.0.0.1:${server.info.port}/oauth/token`, {
      method: 'POST',
      headers: {authorization: BASIC, 'content-type': FORM},
      body: TOKEN_BODY,
    })
    if (!issued.json?.access_token) throw new Error(`baseline token: ${issued.status}`)
    return issued.json.access_token
  }
  // name, server, what it is, request (path, headers, proofs); `pair` names the row it is compared with.
  const entries = [
    {
      name: 'userinfo',
      server: 'passport',
      label: 'passport /userinfo',
      token: () => mintPassport(['--scope', 'openid']),
    },
    {
      name: 'userinfo-bare',
      server: 'baseline',
      label: 'bare jwtVerify /userinfo',
      token: () => sign(userClaims, {kid: 'baseline', audience: CLIENT.id}),
    },
    // Not a target: the bare server plus the revocation lookup /userinfo makes (the token's row by jti).
    {
      name: 'userinfo-recorded-bare',
      server: 'baseline',
      label: 'bare jwtVerify + SQLite lookup',
      path: '/oauth/userinfo-recorded',
      token: (p, server) => baselineToken(server),
    },
    {
      name: 'userinfo-dpop',
      server: 'passport',
      label: 'passport /userinfo, DPoP',
      proofs: proof(userinfoUrl),
      token: (p) => mintPassport(['--scope', 'openid', '--dpop-jkt', p.jkt]),
    },
    {
      name: 'userinfo-dpop-bare',
      server: 'baseline',
      label: 'bare jwtVerify /userinfo, DPoP',
      proofs: proof(userinfoUrl),
      token: (p) => sign({...userClaims, cnf: {jkt: p.jkt}}, {kid: 'baseline', audience: CLIENT.id}),
    },
    {
      name: 'requireBearer',
      server: 'guard',
      label: 'requireBearer',
      token: () => sign(userClaims, {kid: jwk.kid, audience: resource}),
    },
    {
      name: 'requireBearer-bare',
      server: 'bare',
      label: 'bare jwtVerify (same server)',
      token: () => sign(userClaims, {kid: jwk.kid, audience: resource}),
    },
    {
      name: 'requireBearer-dpop',
      server: 'guard',
      label: 'requireBearer, DPoP',
      proofs: proof(resource),
      token: (p) => sign({...userClaims, cnf: {jkt: p.jkt}}, {kid: jwk.kid, audience: resource}),
    },
    {
      name: 'requireBearer-dpop-bare',
      server: 'bare',
      label: 'bare jwtVerify + DPoP checks',
      proofs: proof(resource),
      token: (p) => sign({...userClaims, cnf: {jkt: p.jkt}}, {kid: jwk.kid, audience: resource}),
    },
    {
      name: 'introspect',
      server: 'passport',
      label: 'passport /introspect',
      introspect: true,
      token: () => mintPassport(['--client', CLIENT.id, '--scope', 'read']),
    },
    {
      name: 'introspect-bare',
      server: 'baseline',
      label: 'bare jwtVerify /introspect',
      introspect: true,
      token: () => sign(userClaims, {kid: 'baseline', audience: CLIENT.id}),
    },
  ]
  const started = new Map()
  const live = []
  try {
    for (const [key, def] of Object.entries(defs)) {
      log(`bearer: starting ${def.label}`)
      const {server, error} = await tryStart(def)
      started.set(key, server ?? {error})
    }
    for (const entry of entries) {
      const row = {name: entry.name, label: entry.label, runs: []}
      results.bearer.push(row)
      const server = started.get(entry.server)
      if (server.error) {
        row.unavailable = entry.server === 'passport' ? `${NA} (${server.error})` : server.error
        continue
      }
      let token
      try {
        token = await entry.token(entry.proofs, server)
      } catch (error) {
        row.unavailable = `${NA} (${error.message})`
        continue
      }
      const dpop = entry.proofs !== undefined
      if (dpop) entry.proofs.accessToken = token
      const request = entry.introspect
        ? {
            path: '/oauth/introspect',
            method: 'POST',
            headers: {authorization: BASIC, 'content-type': FORM},
            body: `token=${encodeURIComponent(token)}`,
          }
        : {
            path:
              entry.path ??
              (entry.server === 'guard' || entry.server === 'bare' ? new URL(resource).pathname : '/oauth/userinfo'),
            method: 'GET',
            headers: {authorization: `${dpop ? 'DPoP' : 'Bearer'} ${token}`},
          }
      const headers = {...request.headers}
      if (dpop) {
        entry.proofs.fill(1)
        headers.dpop = entry.proofs.take()
      }
      const first = await probe(`http://127.0.0.1:${server.info.port}${request.path}`, {
        method: request.method,
        headers,
        body: request.body,
      })
      row.first = `${first.status} ${first.text.slice(0, 120)}`
      if (first.status !== 200 || (entry.introspect && first.json?.active !== true)) {
        row.unavailable = `first request: ${row.first}`
        continue
      }
      live.push({entry, row, server, request, variant: {}})
    }
    const bearerLoad = (l, duration) => {
      const {entry, server, request, variant} = l
      if (entry.proofs) entry.proofs.fill(Math.ceil(Math.max(variant.best ?? 8000, 1000) * 1.3 * duration) + 1000)
      const before = entry.proofs?.madeInRun ?? 0
      return load(server, {
        ...request,
        connections,
        duration,
        ...(entry.proofs ? {setupRequest: entry.proofs.setupRequest} : {}),
      }).then((r) => {
        variant.best = Math.max(variant.best ?? 0, r.req_per_s)
        if (entry.proofs) {
          r.proofs_made_in_run = entry.proofs.madeInRun - before
          entry.proofs.fill(0)
        }
        return r
      })
    }
    for (const l of live) await bearerLoad(l, Math.min(2, DURATION)) // warm-up, not recorded
    const roundSeconds = Math.max(1, Math.round(DURATION / ROUNDS))
    const rounds = new Map(live.map((l) => [l, []]))
    for (let round = 0; round < ROUNDS; round++) {
      for (const l of round % 2 === 0 ? live : [...live].reverse()) {
        log(`bearer: ${l.row.label}, round ${round + 1}/${ROUNDS}`)
        try {
          rounds.get(l).push(await bearerLoad(l, roundSeconds))
        } catch (error) {
          l.row.unavailable = `error: ${error.message}`
        }
      }
    }
    for (const l of live) if (rounds.get(l).length) l.row.runs.push(combine(rounds.get(l)))
  } finally {
    for (const server of started.values()) if (server.child) await stop(server.child)
  }

  // In process: verifyAccessToken against bare jwtVerify (a child process, so nothing else runs there).
  log('bearer: verifyAccessToken in process')
  const inproc = run(
    NODE,
    [
      join(ROOT, 'bench', 'bearer-inproc.js'),
      '--key',
      join(keyDir, 'oauth-private.key'),
      '--issuer',
      ISSUER,
      '--resource',
      resource,
      '--seconds',
      String(Math.max(2, Math.round(DURATION / ROUNDS / 2))),
      '--rounds',
      String(Math.max(2, ROUNDS)),
    ],
    {cwd: work, timeoutMs: 600_000},
  )
  try {
    results.bearer_inproc = JSON.parse(inproc.stdout).rows
  } catch {
    results.bearer_inproc = {
      unavailable: `${NA} (bearer-inproc.js: ${firstLine(inproc.stderr || inproc.stdout) || `exit ${inproc.code}`})`,
    }
  }
}

// ---- 5. the MCP flow (SPEC §9, §10) -------------------------------------------------------

/**
 * What an MCP client does against passport once its resource server has pointed it there
 * (401 → RFC 9728 happen at the resource): RFC 8414 metadata → RFC 7591 registration →
 * authorize (PKCE, resource; headless: --login-as --auto-approve) → token → one refresh. Each
 * flow is a new client. Sequential flows give the server time per flow (sum of the five
 * request latencies on loopback, median); parallel flows give flows per second and the server's
 * CPU per flow.
 */
async function benchMcp() {
  const resource = 'http://127.0.0.1:3000/mcp'
  const config = join(work, 'mcp.config.json')
  writeFileSync(
    config,
    `${JSON.stringify({scopes: {mcp: 'Use the MCP server'}, users: {alice: {name: 'Alice'}}, resources: {[resource]: {name: 'Bench MCP server'}}}, null, 2)}\n`,
  )
  const database = join(work, 'mcp.sqlite')
  const row = {}
  results.mcp = row
  let server
  try {
    server = await startServer(
      NODE,
      [
        BIN,
        'serve',
        '--port',
        '0',
        '--json',
        '--quiet',
        '--login-as',
        'alice',
        '--auto-approve',
        '--config',
        config,
        '--database',
        database,
        '--key-path',
        keyDir,
      ],
      {cwd: work},
    )
  } catch (error) {
    row.unavailable = `${NA} (${error.message})`
    return
  }
  const base = `http://127.0.0.1:${server.info.port}`
  const issuer = server.info.issuer
  const {createHash, randomBytes} = await import('node:crypto')
  const b64 = (buffer) => buffer.toString('base64url')

  /** One whole flow; returns the milliseconds each request took. */
  async function flow() {
    const times = []
    const timed = async (url, init) => {
      const started = performance.now()
      const response = await fetch(url, init)
      const text = await response.text()
      times.push(performance.now() - started)
      return {response, text}
    }
    const meta = await timed(`${base}/.well-known/oauth-authorization-server`, {
      headers: {'mcp-protocol-version': '2025-06-18'},
    })
    if (meta.response.status !== 200) throw new Error(`metadata ${meta.response.status}`)
    const endpoints = JSON.parse(meta.text)
    if (!endpoints.registration_endpoint) throw new Error('the metadata has no registration_endpoint')
    const redirect = 'http://127.0.0.1:33418/callback'
    const registered = await timed(endpoints.registration_endpoint, {
      method: 'POST',
      headers: {'content-type': 'application/json'},
      body: JSON.stringify({
        redirect_uris: [redirect],
        client_name: 'bench',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
        scope: 'mcp',
      }),
    })
    if (registered.response.status !== 201)
      throw new Error(`register ${registered.response.status}: ${registered.text.slice(0, 200)}`)
    const clientId = JSON.parse(registered.text).client_id
    const verifier = b64(randomBytes(32))
    const challenge = b64(createHash('sha256').update(verifier).digest())
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: redirect,
      scope: 'mcp',
      state: 's',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      resource,
    })
    const authorized = await timed(`${endpoints.authorization_endpoint}?${query}`, {redirect: 'manual'})
    const code = new URL(authorized.response.headers.get('location') ?? 'http://x/').searchParams.get('code')
    if (!code) throw new Error(`authorize ${authorized.response.status}: ${authorized.text.slice(0, 200)}`)
    const form = {'content-type': FORM}
    const token = await timed(endpoints.token_endpoint, {
      method: 'POST',
      headers: form,
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: redirect,
        client_id: clientId,
        resource,
      }),
    })
    if (token.response.status !== 200) throw new Error(`token ${token.response.status}: ${token.text.slice(0, 200)}`)
    const tokens = JSON.parse(token.text)
    if (decodeJwt(tokens.access_token).aud !== resource) throw new Error('the access token is not for the resource')
    const refreshed = await timed(endpoints.token_endpoint, {
      method: 'POST',
      headers: form,
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token,
        client_id: clientId,
        resource,
      }),
    })
    if (refreshed.response.status !== 200)
      throw new Error(`refresh ${refreshed.response.status}: ${refreshed.text.slice(0, 200)}`)
    return times
  }

  try {
    row.issuer = issuer
    for (let i = 0; i < 20; i++) await flow() // warm-up
    const sequential = []
    const until = performance.now() + Math.min(DURATION, 10) * 1000
    while (performance.now() < until && sequential.length < 2000)
      sequential.push((await flow()).reduce((a, b) => a + b, 0))
    row.sequential_flows = sequential.length
    row.server_ms_per_flow_p50 = Math.round(median(sequential) * 10) / 10
    row.server_ms_per_flow_p99 =
      Math.round([...sequential].sort((a, b) => a - b)[Math.floor(sequential.length * 0.99)] * 10) / 10
    const workers = 8
    let done = 0
    let failures = 0
    const cpuBefore = cpuMs(server.pid)
    const started = performance.now()
    const end = started + DURATION * 1000
    await Promise.all(
      Array.from({length: workers}, async () => {
        while (performance.now() < end) {
          try {
            await flow()
            done++
          } catch {
            failures++
          }
        }
      }),
    )
    const seconds = (performance.now() - started) / 1000
    row.parallel = {
      workers,
      flows: done,
      failures,
      flows_per_s: Math.round((done / seconds) * 10) / 10,
      cpu_ms_per_flow: done ? Math.round(((cpuMs(server.pid) - cpuBefore) / done) * 10) / 10 : null,
    }
  } catch (error) {
    row.unavailable = `${NA} (${error.message})`
  } finally {
    await stop(server.child)
  }
}

// ---- 3. CLI cold start --------------------------------------------------------------------

function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

async function benchColdStart() {
  const database = await passportDatabase('cold.sqlite')
  const env = cleanEnv()
  const cases = [
    ['node -e 0', [NODE, ['-e', '0']]],
    ['bare jose sign script', [NODE, [join(ROOT, 'bench', 'cold', 'jose-sign.js'), join(keyDir, 'oauth-private.key')]]],
    ['passport --help', [NODE, [BIN, '--help']]],
    ['passport token --user a', [NODE, [BIN, 'token', '--user', 'a', ...passportFlags(database)]]],
    ['passport client:list', [NODE, [BIN, 'client:list', ...passportFlags(database)]]],
  ]
  for (const [name, [command, args]] of cases) {
    log(`cold start: ${name}`)
    const row = {name, runs_ms: []}
    results.cold.push(row)
    const first = run(command, args, {cwd: work, env, timeoutMs: 30_000}) // warms the page cache; detects absence
    if (first.code !== 0) {
      row.unavailable = `${name.startsWith('passport') ? NA : 'not available'} (exit ${first.code ?? first.signal}: ${firstLine(first.stderr || first.stdout)})`
      continue
    }
    for (let i = 0; i < RUNS; i++) {
      const r = run(command, args, {cwd: work, env, timeoutMs: 30_000})
      if (r.code === 0) row.runs_ms.push(Math.round(r.ms * 10) / 10)
    }
    row.median_ms = row.runs_ms.length ? Math.round(median(row.runs_ms) * 10) / 10 : null
  }
}

// ---- 4. scale -----------------------------------------------------------------------------

/** Sequential request loop: one request every `everyMs`, until `until()` or limits; max latency. */
/** Only requests started while `window.open` count (warm-up requests open connections first). */
async function stream(url, init, everyMs, until, window, {maxCount = 50_000, maxMs = 300_000} = {}) {
  const started = Date.now()
  let worst = 0
  let count = 0
  let failures = 0
  while (!until() && count < maxCount && Date.now() - started < maxMs) {
    const counted = window.open
    const t0 = performance.now()
    const r = await probe(url, init)
    const ms = performance.now() - t0
    if (counted) {
      worst = Math.max(worst, ms)
      count++
      if (r.status < 200 || r.status >= 300) failures++
    }
    const wait = everyMs - ms
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
  }
  return {requests: count, failures, max_ms: Math.round(worst * 10) / 10}
}

/** Runs a purge command while a server answers a /healthz stream (10 ms) and a token stream (50 ms). */
async function purgeUnderLoad(server, command, args) {
  let done = false
  const window = {open: false}
  const base = `http://127.0.0.1:${server.info.port}`
  const health = stream(`${base}/healthz`, {}, 10, () => done, window)
  const tokens = stream(
    `${base}${server.tokenPath}`,
    {method: 'POST', headers: {authorization: BASIC, 'content-type': FORM}, body: TOKEN_BODY},
    50,
    () => done,
    window,
  )
  await new Promise((resolve) => setTimeout(resolve, 500)) // streams warm before the purge starts
  window.open = true
  const purge = await runAsync(command, args, {cwd: work, timeoutMs: 300_000})
  window.open = false
  done = true
  const [h, t] = await Promise.all([health, tokens])
  return {purge, healthz: h, token: t, longest_stall_ms: Math.max(h.max_ms, t.max_ms)}
}

async function benchScale() {
  const connections = 50
  const scale = results.scale
  const empty = await passportDatabase('scale-empty.sqlite')
  const big = await passportDatabase('scale-big.sqlite')
  log(`scale: seeding ${ROWS.toLocaleString('en')} expired token rows`)
  scale.seed = seedTokens(big, {rows: ROWS, clientId: CLIENT.id})
  scale.seed.seconds = Math.round(scale.seed.seconds * 10) / 10
  const bigCopy = join(work, 'scale-big-copy.sqlite')
  copyFileSync(big, bigCopy) // for the reference purge; seeded once, copied (checkpointed: no -wal)
  const emptyBaseline = await passportDatabase('scale-empty-baseline.sqlite')

  // Throughput with 0 and with ROWS rows, passport and (for reference) the baseline.
  for (const [name, make, dbs] of [
    ['passport', servers.passport, [empty, big]],
    ['baseline', servers.baseline, [emptyBaseline, bigCopy]],
  ]) {
    const entry = (scale[name] = {})
    for (const [key, db] of [
      ['empty', dbs[0]],
      ['rows', dbs[1]],
    ]) {
      log(`scale: ${name} token endpoint, ${key}`)
      const def = make(db)
      const {server, error} = await tryStart(def)
      if (!server) {
        entry[key] = {unavailable: name === 'passport' ? `${NA} (${error})` : error}
        continue
      }
      try {
        await tokenLoad(server, def.tokenPath, 10, Math.min(2, DURATION))
        entry[key] = await tokenLoad(server, def.tokenPath, connections)
      } catch (error_) {
        entry[key] = {unavailable: `error: ${error_.message}`}
      } finally {
        await stop(server.child)
      }
    }
  }

  // passport purge of ROWS expired rows, with request streams against passport serve.
  log('scale: passport purge')
  scale.purge = {}
  const before = countTokens(big)
  const check = run(NODE, [BIN, 'purge', '--help'], {cwd: work, timeoutMs: 30_000})
  if (check.code !== 0) {
    scale.purge.unavailable = `${NA} (purge: ${firstLine(check.stderr || check.stdout)})`
  } else {
    const def = servers.passport(big)
    const {server, error} = await tryStart(def)
    if (!server) scale.purge.unavailable = `${NA} (serve: ${error}; purge needs a server for the stall measurement)`
    else {
      try {
        server.tokenPath = def.tokenPath
        const r = await purgeUnderLoad(server, NODE, [BIN, 'purge', '--json', ...passportFlags(big)])
        const after = countTokens(big)
        Object.assign(scale.purge, {
          exit: r.purge.code,
          seconds: Math.round(r.purge.ms / 100) / 10,
          rows_before: before,
          rows_after: after,
          longest_stall_ms: r.longest_stall_ms,
          healthz: r.healthz,
          token: r.token,
          output: firstLine(r.purge.stdout || r.purge.stderr),
        })
      } finally {
        await stop(server.child)
      }
    }
  }

  // Reference: plain batched DELETEs (bench/baseline-purge.js) with streams against the baseline.
  log('scale: reference purge (plain SQL) against the baseline server')
  const def = servers.baseline(bigCopy)
  const {server, error} = await tryStart(def)
  if (!server) scale.reference_purge = {unavailable: error}
  else {
    try {
      server.tokenPath = def.tokenPath
      const before2 = countTokens(bigCopy)
      const r = await purgeUnderLoad(server, NODE, [join(ROOT, 'bench', 'baseline-purge.js'), bigCopy])
      scale.reference_purge = {
        exit: r.purge.code,
        seconds: Math.round(r.purge.ms / 100) / 10,
        rows_before: before2,
        rows_after: countTokens(bigCopy),
        longest_stall_ms: r.longest_stall_ms,
        healthz: r.healthz,
        token: r.token,
      }
    } finally {
      await stop(server.child)
    }
  }
}

// ---- report -------------------------------------------------------------------------------

function target(name, value, ok, detail) {
  const status = value === null || value === undefined || Number.isNaN(value) ? 'unavailable' : ok ? 'pass' : 'short'
  results.targets.push({name, value: value ?? null, status, detail})
}

/** One row's run at `connections` in the token section. */
const tokenRun = (name, connections) =>
  results.token.find((r) => r.name === name)?.runs.find((x) => x.connections === connections)

const ratio = (a, b) =>
  typeof a === 'number' && typeof b === 'number' && b > 0 ? Math.round((a / b) * 100) / 100 : null

function computeTargets() {
  for (const c of SECTIONS.has('token') ? CONNECTIONS : []) {
    // SPEC §9 token targets, for plain client_credentials and with RFC 8707 `resource` (issue 15).
    for (const [name, what] of [
      ['passport', 'passport'],
      ['passport-resource', 'passport with resource'],
    ]) {
      const p = tokenRun(name, c)?.req_per_s
      const b = ratio(p, tokenRun('baseline', c)?.req_per_s)
      target(`token ${c} conn: ${what} ÷ baseline ≥ 0.9`, b, b >= 0.9)
      for (const peer of ['oauth2-mock-server', 'oidc-provider']) {
        const r = ratio(p, tokenRun(peer, c)?.req_per_s)
        target(`token ${c} conn: ${what} ÷ ${peer} ≥ 1.5`, r, r >= 1.5)
      }
    }
    // SPEC §9 / issue 16: ES256 (and EdDSA) at least 4× passport's own RS256 figure.
    const rs256 = tokenRun('passport', c)?.req_per_s
    for (const [name, alg] of [
      ['passport-es256', 'ES256'],
      ['passport-eddsa', 'EdDSA'],
    ]) {
      const run = tokenRun(name, c)
      const r = ratio(run?.req_per_s, rs256)
      const cpu = ratio(tokenRun('passport', c)?.cpu_ms_per_req, run?.cpu_ms_per_req)
      target(
        `token ${c} conn: ${alg} key ÷ RS256 key ≥ 4`,
        r,
        r >= 4,
        run ? `${run.req_per_s} vs ${rs256} req/s; server CPU per token RS256 ÷ ${alg} ${cpu}×` : undefined,
      )
    }
    // Issue 16: a DPoP proof per request costs at most 20 % (same signing key).
    for (const [name, plain, what] of [
      ['passport-dpop', 'passport', 'RS256'],
      ['passport-es256-dpop', 'passport-es256', 'ES256'],
    ]) {
      const run = tokenRun(name, c)
      const r = ratio(run?.req_per_s, tokenRun(plain, c)?.req_per_s)
      target(
        `token ${c} conn: DPoP ÷ without (${what} key) ≥ 0.8`,
        r,
        r >= 0.8,
        run
          ? `${run.req_per_s} vs ${tokenRun(plain, c)?.req_per_s} req/s; ${run.proofs_made_in_run ?? 0} proofs signed during the runs`
          : undefined,
      )
    }
  }
  if (SECTIONS.has('bearer')) {
    const bearer = (name) => results.bearer.find((r) => r.name === name)?.runs[0]
    for (const [name, what] of [
      ['userinfo', '/userinfo'],
      ['userinfo-dpop', '/userinfo with DPoP'],
      ['requireBearer', 'requireBearer'],
      ['requireBearer-dpop', 'requireBearer with DPoP'],
    ]) {
      const p = bearer(name)
      const b = bearer(`${name}-bare`)
      const r = ratio(p?.req_per_s, b?.req_per_s)
      target(
        `bearer: ${what} ÷ bare jwtVerify ≥ 0.9`,
        r,
        r >= 0.9,
        p && b
          ? `${p.req_per_s} vs ${b.req_per_s} req/s; server CPU per request bare ÷ passport ${ratio(b.cpu_ms_per_req, p.cpu_ms_per_req)}×`
          : undefined,
      )
    }
    const inproc = Array.isArray(results.bearer_inproc) ? results.bearer_inproc : []
    for (const [pair, what] of [
      ['bearer', 'verifyAccessToken'],
      ['dpop', 'verifyAccessToken with DPoP'],
    ]) {
      const [p, b] = inproc.filter((row) => row.pair === pair)
      const r = ratio(p?.ops_per_s, b?.ops_per_s)
      target(
        `bearer: ${what} ÷ bare jwtVerify ≥ 0.9 (in process)`,
        r,
        r >= 0.9,
        p && b
          ? `${p.ops_per_s} vs ${b.ops_per_s} verifications/s; CPU per verification ${p.cpu_us_per_op} vs ${b.cpu_us_per_op} µs`
          : results.bearer_inproc?.unavailable,
      )
    }
    results.bearer_ratios = {
      introspect: ratio(bearer('introspect')?.req_per_s, bearer('introspect-bare')?.req_per_s),
      userinfo_vs_bare_with_lookup: ratio(bearer('userinfo')?.req_per_s, bearer('userinfo-recorded-bare')?.req_per_s),
    }
  }
  const cold = (name) => results.cold.find((r) => r.name === name)?.median_ms
  const tokenMs = cold('passport token --user a')
  const jose = cold('bare jose sign script')
  const help = cold('passport --help')
  const node = cold('node -e 0')
  const tr = ratio(tokenMs, jose)
  if (SECTIONS.has('cold'))
    target(
      'cold: passport token ≤ 2× bare jose script',
      tr,
      tr <= 2,
      tokenMs && jose ? `${tokenMs} ms vs ${jose} ms` : undefined,
    )
  // SPEC §9, second round: the same at most 1.5×.
  if (SECTIONS.has('cold'))
    target(
      'cold: passport token ≤ 1.5× bare jose script',
      tr,
      tr <= 1.5,
      tokenMs && jose ? `${tokenMs} ms vs ${jose} ms` : undefined,
    )
  const helpLimit = typeof node === 'number' ? 2 * node + 100 : null
  if (SECTIONS.has('cold'))
    target(
      'cold: passport --help ≤ 2× node -e 0 + 100 ms',
      help ?? null,
      help !== undefined && helpLimit !== null && help <= helpLimit,
      helpLimit ? `${help ?? '—'} ms vs limit ${Math.round(helpLimit)} ms` : undefined,
    )
  if (SECTIONS.has('mcp')) {
    const m = results.mcp
    target(
      'mcp: server time per flow (register → authorize → token → refresh) < 150 ms',
      m.server_ms_per_flow_p50 ?? null,
      typeof m.server_ms_per_flow_p50 === 'number' && m.server_ms_per_flow_p50 < 150,
      m.unavailable ??
        (m.parallel
          ? `${m.parallel.flows_per_s} flows/s with ${m.parallel.workers} parallel clients, ${m.parallel.cpu_ms_per_flow} ms server CPU per flow`
          : undefined),
    )
  }
  for (const c of SECTIONS.has('control') ? CONNECTIONS : []) {
    // Median of the per-round ratios: each round measures both servers back to back (A B, B A, …),
    // so a round's ratio is less disturbed by the shared machine than the totals.
    const run = (name) => results.control.find((r) => r.name === name)?.runs.find((x) => x.connections === c)
    const on = run('passport-control')
    const off = run('passport')
    const perRound =
      on && off ? on.rounds_req_per_s.map((v, i) => ratio(v, off.rounds_req_per_s[i])).filter((v) => v !== null) : []
    const r = perRound.length ? Math.round(median(perRound) * 100) / 100 : null
    const cpu = ratio(on?.cpu_ms_per_req, off?.cpu_ms_per_req)
    target(
      `control ${c} conn: passport --control ÷ passport ≥ 0.95`,
      r,
      r >= 0.95,
      r === null
        ? undefined
        : `median of ${perRound.length} rounds (${perRound.join(', ')}); totals ${on.req_per_s} vs ${off.req_per_s} req/s; server CPU per token ${cpu}×`,
    )
  }
  const s = results.scale
  if (s.passport) {
    const r = ratio(s.passport.rows?.req_per_s, s.passport.empty?.req_per_s)
    target(`scale: ${ROWS.toLocaleString('en')} rows ≥ 0.9× empty (passport)`, r, r >= 0.9)
  }
  if (s.purge) {
    target('scale: passport purge ≤ 5 s', s.purge.seconds ?? null, s.purge.seconds <= 5 && s.purge.exit === 0)
    target(
      'scale: no request stalled > 100 ms during purge',
      s.purge.longest_stall_ms ?? null,
      s.purge.longest_stall_ms <= 100,
    )
  }
  const passportRss = [
    ...results.token
      .filter((r) => r.name.startsWith('passport') && !r.unavailable)
      .flatMap((r) => r.runs.map((x) => x.rss_peak_mb)),
    s.passport?.empty?.rss_peak_mb,
    s.passport?.rows?.rss_peak_mb,
  ].filter((v) => typeof v === 'number')
  const rss = passportRss.length ? Math.max(...passportRss) : null
  if (SECTIONS.has('token') || SECTIONS.has('scale')) target('passport RSS under load ≤ 120 MB', rss, rss <= 120)
}

const pad = (value, width, right = false) => {
  const text = value === null || value === undefined ? '—' : String(value)
  return right ? text.padStart(width) : text.padEnd(width)
}

/** Section 1 of the table: the token endpoint (and the control A/B). */
function printTokens(line) {
  line(
    `1. Token endpoint, client_credentials, RS256-2048 unless the row says otherwise, loopback (autocannon, ${ROUNDS} interleaved rounds per row)`,
  )
  line(
    `   ${pad('server', 34)} ${pad('conn', 4, true)} ${pad('req/s', 7, true)} ${pad('p50 ms', 7, true)} ${pad('p99 ms', 7, true)} ${pad('CPU ms/req', 10, true)} ${pad('RSS MB', 7, true)} ${pad('non-2xx', 8, true)}  token`,
  )
  const controlStart = results.token.length
  for (const [index, row] of [...results.token, ...results.control].entries()) {
    if (index === controlStart)
      line(
        `   passport with and without --control (SPEC §11, issue 17), ${Math.min(10, ROUNDS * 2)} interleaved rounds:`,
      )
    if (row.unavailable) {
      line(`   ${pad(row.label, 34)} ${row.unavailable}`)
      continue
    }
    for (const r of row.runs) {
      line(
        `   ${pad(row.label, 34)} ${pad(r.connections, 4, true)} ${pad(r.req_per_s, 7, true)} ${pad(r.p50_ms, 7, true)} ${pad(r.p99_ms, 7, true)} ${pad(r.cpu_ms_per_req, 10, true)} ${pad(r.rss_peak_mb, 7, true)} ${pad(r.non_2xx + r.errors + r.timeouts, 8, true)}  ${row.token_format ?? ''}`,
      )
    }
    if (row.note) line(`   ${pad('', 34)} note: ${row.note}`)
  }
  const cpu50 = (name) => tokenRun(name, 50)?.cpu_ms_per_req
  if (typeof cpu50('passport') === 'number') {
    const others = ['baseline', 'baseline-pool', 'oauth2-mock-server', 'oidc-provider'].filter(
      (n) => typeof cpu50(n) === 'number',
    )
    line(
      `   server CPU per token at 50 connections (less disturbed by other work than req/s): passport ${cpu50('passport')} ms; ${others.map((n) => `${n} ${cpu50(n)} ms (${ratio(cpu50(n), cpu50('passport'))}×)`).join(', ')}`,
    )
  }
  const req = (name, c) => tokenRun(name, c)?.req_per_s
  if (typeof req('baseline-pool', 10) === 'number') {
    line(
      `   passport ÷ baseline with the same thread pool (not a target: passport's own overhead without its pool sizing): ${CONNECTIONS.map((c) => `${ratio(req('passport', c), req('baseline-pool', c))} at ${c} conn`).join(', ')}`,
    )
  }
  line()
}

/** Section 2 of the table: bearer verification. */
function printBearer(line) {
  line(
    `2. Bearer verification, 50 connections, ${ROUNDS} interleaved rounds (each passport row is followed by what it is compared with)`,
  )
  line(
    `   ${pad('row', 34)} ${pad('req/s', 7, true)} ${pad('p50 ms', 7, true)} ${pad('p99 ms', 7, true)} ${pad('CPU ms/req', 10, true)} ${pad('RSS MB', 7, true)} ${pad('non-2xx', 8, true)}`,
  )
  for (const row of results.bearer) {
    if (row.unavailable) {
      line(`   ${pad(row.label, 34)} ${row.unavailable}`)
      continue
    }
    for (const r of row.runs) {
      line(
        `   ${pad(row.label, 34)} ${pad(r.req_per_s, 7, true)} ${pad(r.p50_ms, 7, true)} ${pad(r.p99_ms, 7, true)} ${pad(r.cpu_ms_per_req, 10, true)} ${pad(r.rss_peak_mb, 7, true)} ${pad(r.non_2xx + r.errors + r.timeouts, 8, true)}`,
      )
    }
  }
  if (results.bearer_ratios) {
    line(
      `   not targets: passport /userinfo ÷ bare jwtVerify + SQLite lookup ${results.bearer_ratios.userinfo_vs_bare_with_lookup ?? '—'}; passport /introspect ÷ bare jwtVerify /introspect ${results.bearer_ratios.introspect ?? '—'}`,
    )
  }
  const inproc = results.bearer_inproc
  if (Array.isArray(inproc)) {
    line(
      `   in process, 10 verifications in flight: ${inproc.map((r) => `${r.name} ${r.ops_per_s}/s (${r.cpu_us_per_op} µs CPU)`).join('; ')}`,
    )
  } else if (inproc?.unavailable) line(`   in process: ${inproc.unavailable}`)
  line()
}

function printTable() {
  const out = []
  const line = (s = '') => out.push(s)
  line(
    `passport bench — ${results.machine.cpus} CPUs, Node ${results.machine.node}, ${DURATION} s per load run (only same-run ratios count)`,
  )
  const [l1] = results.load_average.start
  if (Math.max(l1, results.load_average.end?.[0] ?? 0) > results.machine.cpus * 0.75) {
    line(
      `   WARNING: load average ${l1.toFixed(1)} → ${results.load_average.end?.[0]?.toFixed(1)} on ${results.machine.cpus} CPUs: other work shared the machine; figures are noisy`,
    )
  }
  line()
  if (SECTIONS.has('token') || SECTIONS.has('control')) printTokens(line)
  if (SECTIONS.has('bearer')) printBearer(line)
  if (SECTIONS.has('cold')) {
    line(`3. CLI cold start (whole process, median of ${RUNS}, NODE_EXTRA_CA_CERTS cleared)`)
    for (const row of results.cold) {
      line(
        `   ${pad(row.name, 34)} ${row.unavailable ?? `${pad(row.median_ms, 7, true)} ms   (runs: ${row.runs_ms.join(', ')})`}`,
      )
    }
    line()
  }
  const s = results.scale
  if (s.seed || s.passport) {
    line(
      `4. Scale (${ROWS.toLocaleString('en')} expired rows seeded in ${s.seed?.seconds ?? '—'} s: ${s.seed?.access ?? '—'} access + ${s.seed?.refresh ?? '—'} refresh)`,
    )
    for (const name of ['passport', 'baseline']) {
      const e = s[name]
      if (!e) continue
      const fmt = (r) =>
        r?.unavailable
          ? r.unavailable
          : r
            ? `${r.req_per_s} req/s (p99 ${r.p99_ms} ms, CPU ${r.cpu_ms_per_req} ms/req, RSS ${r.rss_peak_mb} MB, non-2xx ${r.non_2xx + r.errors + r.timeouts})`
            : '—'
      line(`   ${pad(`${name} token, empty`, 34)} ${fmt(e.empty)}`)
      line(`   ${pad(`${name} token, ${ROWS.toLocaleString('en')} rows`, 34)} ${fmt(e.rows)}`)
    }
    const purge = (label, p) => {
      if (!p) return
      if (p.unavailable) return line(`   ${pad(label, 34)} ${p.unavailable}`)
      const deleted = p.rows_before && p.rows_after ? p.rows_before.expired - p.rows_after.expired : '—'
      line(
        `   ${pad(label, 34)} ${p.seconds} s, exit ${p.exit}, ${deleted} expired rows gone (${p.rows_after?.expired ?? '—'} left); longest stall ${p.longest_stall_ms} ms (healthz ${p.healthz.max_ms} ms over ${p.healthz.requests} req, token ${p.token.max_ms} ms over ${p.token.requests} req)`,
      )
    }
    purge('passport purge', s.purge)
    purge('reference purge (batched SQL)', s.reference_purge)
    line()
  }
  if (results.mcp && (results.mcp.unavailable || results.mcp.server_ms_per_flow_p50 !== undefined)) {
    const m = results.mcp
    line('5. MCP flow: metadata → registration → authorize (PKCE, resource) → token → refresh, headless')
    if (m.unavailable) line(`   ${m.unavailable}`)
    else {
      line(
        `   sequential: ${m.server_ms_per_flow_p50} ms per flow (p50), ${m.server_ms_per_flow_p99} ms (p99), over ${m.sequential_flows} flows`,
      )
      if (m.parallel)
        line(
          `   ${m.parallel.workers} parallel clients: ${m.parallel.flows_per_s} flows/s, ${m.parallel.cpu_ms_per_flow} ms server CPU per flow, ${m.parallel.failures} failures`,
        )
    }
    line()
  }
  line('Targets')
  for (const t of results.targets) {
    line(
      `   ${pad(t.status.toUpperCase(), 11)} ${pad(t.name, 52)} ${pad(t.value, 8, true)}${t.detail ? `   ${t.detail}` : ''}`,
    )
  }
  process.stdout.write(`${out.join('\n')}\n`)
}

// ---- main ---------------------------------------------------------------------------------

let exitCode = 0
try {
  const privateKeyPem = setup()
  const sections = [
    ['token', () => benchTokenEndpoint()],
    ['bearer', () => benchBearer(privateKeyPem)],
    ['cold', () => benchColdStart()],
    ['scale', () => benchScale()],
    ['mcp', () => benchMcp()],
    ['control', () => benchControl()],
  ]
  for (const [name, fn] of sections) {
    if (!SECTIONS.has(name)) continue
    try {
      await fn()
    } catch (error) {
      log(`section ${name} failed: ${error.stack ?? error.message}`)
      results[`${name}_error`] = error.message
    }
  }
  computeTargets()
  results.load_average.end = (await import('node:os')).loadavg()
  results.finished_at = new Date().toISOString()
  mkdirSync(join(ROOT, 'bench', 'results'), {recursive: true})
  writeFileSync(join(ROOT, 'bench', 'results', 'latest.json'), `${JSON.stringify(results, null, 2)}\n`)
  printTable()
  log('wrote bench/results/latest.json')
} catch (error) {
  log(`failed: ${error.stack ?? error.message}`)
  exitCode = 1
} finally {
  if (flags.keep) log(`kept ${work}`)
  else rmSync(work, {recursive: true, force: true})
}
process.exit(exitCode)
