import {createPrivateKey, createPublicKey, generateKeyPair, type KeyObject} from 'node:crypto'
import {existsSync, readFileSync, statSync} from 'node:fs'
import {join, resolve} from 'node:path'

import {calculateJwkThumbprint, errors as joseErrors, type JWK} from 'jose'

import {ConflictError, InvalidInputError, KeyError} from '../errors.js'
import {errorCode, makeDirectory, ownershipProblem, writeFileSafely} from '../files.js'

export const PRIVATE_KEY_FILE = 'oauth-private.key'
export const PUBLIC_KEY_FILE = 'oauth-public.key'
/** Earlier public keys that still verify tokens they signed. */
export const RETIRED_KEYS_FILE = 'oauth-retired-keys.json'
export const DEFAULT_KEY_PATH = 'storage'
export const KEY_SIZES = [2048, 3072, 4096] as const
/** Which algorithm the active key pair signs with, when its PEM alone cannot say (RS256 or PS256). */
export const KEY_META_FILE = 'oauth-key.json'

/** The JWS algorithms a signing key may use (SPEC §10.7): RSA (PKCS#1 v1.5 or PSS), EC P-256, Ed25519. */
export const SIGNING_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'] as const
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number]
export const DEFAULT_ALGORITHM: SigningAlgorithm = 'RS256'

export function isSigningAlgorithm(value: unknown): value is SigningAlgorithm {
  return typeof value === 'string' && (SIGNING_ALGORITHMS as readonly string[]).includes(value)
}

/** RS256 and PS256 sign with RSA keys; only those take a modulus size. */
export function isRsaAlgorithm(alg: SigningAlgorithm): boolean {
  return alg === 'RS256' || alg === 'PS256'
}

export interface PublicKeyEntry {
  kid: string
  key: KeyObject
  /** The algorithm the key signs with (published as the JWK's `alg`). */
  alg: SigningAlgorithm
  /** Unix ms after which a retired key is no longer published; undefined for the active key. */
  publishUntil?: number
}

export interface SigningKeys {
  kid: string
  /** The active key's algorithm: it signs access and id tokens. */
  alg: SigningAlgorithm
  privateKey: KeyObject
  /** The active public key first, then retired ones still published. */
  publicKeys: PublicKeyEntry[]
  /** Where the keys came from, for messages. */
  source: 'env' | 'files'
  directory?: string
  /** Set when the private key file is readable by group or others. */
  permissionWarning?: string
  /**
   * When each retired key of the key directory leaves (or left) the JWKS, Unix ms, published or
   * not: the instants at which the published set changes as the clock moves (see core/keys/rotation.ts).
   */
  retirements?: number[]
}

interface RetiredKeyFile {
  keys: Array<{kid: string; publicKey: string; alg?: string; retiredAt: number; publishUntil: number}>
}

export interface KeyLocation {
  /** PEM text from PASSPORT_PRIVATE_KEY / PASSPORT_PUBLIC_KEY; wins over files (the seed's order). */
  privateKeyPem?: string
  publicKeyPem?: string
  /** PASSPORT_KEY_ALG: the algorithm of the PEM keys from the environment (PS256 for an RSA key; others are implied). */
  algorithm?: string
  /** The key directory: flag, PASSPORT_KEY_PATH or `keyPath` in config, else `storage/`. */
  directory: string
}

/** The key location from the environment and the resolved directory, in the seed's precedence. */
export function keyLocation(
  directory: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): KeyLocation {
  const location: KeyLocation = {directory: resolve(cwd, directory ?? DEFAULT_KEY_PATH)}
  if (env.PASSPORT_PRIVATE_KEY) location.privateKeyPem = unescapeNewlines(env.PASSPORT_PRIVATE_KEY)
  if (env.PASSPORT_PUBLIC_KEY) location.publicKeyPem = unescapeNewlines(env.PASSPORT_PUBLIC_KEY)
  if (env.PASSPORT_KEY_ALG) location.algorithm = env.PASSPORT_KEY_ALG
  return location
}

/** RFC 7638 thumbprint of the public key (jose's calculateJwkThumbprint): the `kid`. */
export async function keyId(publicKey: KeyObject): Promise<string> {
  return calculateJwkThumbprint(publicKey.export({format: 'jwk'}), 'sha256')
}

export function keysExist(directory: string): boolean {
  return existsSync(join(directory, PRIVATE_KEY_FILE)) || existsSync(join(directory, PUBLIC_KEY_FILE))
}

export interface GeneratedKeys {
  kid: string
  privateKeyPath: string
  publicKeyPath: string
  alg: SigningAlgorithm
  /** The RSA modulus size; null for EC and Ed25519 keys. */
  bits: number | null
}

/**
 * Generates a key pair for `alg` (default RS256) into `directory` (PKCS#8 / SPKI PEM; private
 * key 0600, directory 0700). `bits` applies to RSA only. Refuses to overwrite existing keys
 * unless `force`.
 */
export async function generateKeys(
  directory: string,
  options: {alg?: string; bits?: number; force?: boolean} = {},
): Promise<GeneratedKeys> {
  const {alg, bits} = keySpec(options.alg ?? DEFAULT_ALGORITHM, options.bits, 2048)
  if (!options.force && keysExist(directory)) {
    throw new ConflictError(
      `Keys already exist in ${directory}; pass --force to overwrite them (tokens they signed will stop verifying).`,
    )
  }
  const pair = await newKeyPair(alg, bits)
  const kid = await keyId(createPublicKey(pair.publicPem))
  writeKeyPair(directory, pair.privatePem, pair.publicPem, {kid, alg})
  return {
    kid,
    privateKeyPath: join(directory, PRIVATE_KEY_FILE),
    publicKeyPath: join(directory, PUBLIC_KEY_FILE),
    alg,
    bits,
  }
}

/**
 * Makes a new active key, by default of the current key's algorithm (and RSA size). The previous
 * public key stays published, with its algorithm, until `publishUntil` (the latest expiry of any
 * token it may have signed), so those tokens keep verifying.
 */
export async function rotateKeys(
  directory: string,
  publishUntil: number,
  options: {alg?: string; bits?: number; now?: number} = {},
): Promise<{kid: string; alg: SigningAlgorithm; retiredKid: string; retiredAlg: SigningAlgorithm}> {
  const current = await loadKeysFromDirectory(directory)
  const currentBits = current.privateKey.asymmetricKeyDetails?.modulusLength ?? 2048
  const {alg, bits} = keySpec(
    options.alg ?? current.alg,
    options.bits,
    isRsaAlgorithm(current.alg) ? currentBits : 2048,
  )
  const pair = await newKeyPair(alg, bits)
  const kid = await keyId(createPublicKey(pair.publicPem))
  const now = options.now ?? Date.now()
  const retired = readRetired(directory)
  retired.keys = retired.keys.filter((k) => k.kid !== current.kid && k.publishUntil > now)
  retired.keys.unshift({
    kid: current.kid,
    publicKey: current.publicKeys[0]!.key.export({type: 'spki', format: 'pem'}).toString(),
    alg: current.alg,
    retiredAt: now,
    publishUntil,
  })
  writeFileAtomic(join(directory, RETIRED_KEYS_FILE), `${JSON.stringify(retired, null, 2)}\n`, 0o644)
  writeKeyPair(directory, pair.privatePem, pair.publicPem, {kid, alg})
  return {kid, alg, retiredKid: current.kid, retiredAlg: current.alg}
}

/** Checks an algorithm name and a modulus size together: `bits` only for RSA. */
function keySpec(
  algorithm: string,
  bits: number | undefined,
  defaultBits: number,
): {alg: SigningAlgorithm; bits: number | null} {
  if (!isSigningAlgorithm(algorithm))
    throw new InvalidInputError(
      `The key algorithm must be one of ${SIGNING_ALGORITHMS.join(', ')}; got "${algorithm}".`,
    )
  if (!isRsaAlgorithm(algorithm)) {
    if (bits !== undefined)
      throw new InvalidInputError(
        `--bits applies to RSA keys (RS256, PS256) only; ${algorithm} keys have a fixed size (${algorithm === 'ES256' ? 'P-256' : 'Ed25519'}).`,
      )
    return {alg: algorithm, bits: null}
  }
  const size = bits ?? defaultBits
  if (!(KEY_SIZES as readonly number[]).includes(size))
    throw new InvalidInputError(`Key size must be one of ${KEY_SIZES.join(', ')} bits; got ${size}.`)
  return {alg: algorithm, bits: size}
}

/** The retired keys of a key directory, newest first, with when each was retired and how long it stays published. */
export function retiredKeys(directory: string): Array<{kid: string; retiredAt: number; publishUntil: number}> {
  return readRetired(directory).keys.map(({kid, retiredAt, publishUntil}) => ({kid, retiredAt, publishUntil}))
}

/** Drops retired keys whose tokens have all expired at `now` (the caller's clock), or every retired key with `all`. */
export function pruneRetiredKeys(directory: string, options: {all?: boolean; now?: number} = {}): string[] {
  const now = options.now ?? Date.now()
  const retired = readRetired(directory)
  const removed = retired.keys.filter((k) => options.all || k.publishUntil <= now).map((k) => k.kid)
  if (removed.length === 0) return []
  retired.keys = retired.keys.filter((k) => !removed.includes(k.kid))
  writeFileAtomic(join(directory, RETIRED_KEYS_FILE), `${JSON.stringify(retired, null, 2)}\n`, 0o644)
  return removed
}

/** Loads the signing keys: PEM text from the environment first, then the key directory. */
export async function loadKeys(location: KeyLocation, now = Date.now()): Promise<SigningKeys> {
  if (location.privateKeyPem || location.publicKeyPem) {
    if (!location.privateKeyPem || !location.publicKeyPem) {
      throw new KeyError(
        'Set both PASSPORT_PRIVATE_KEY and PASSPORT_PUBLIC_KEY (PEM text), or neither to read keys from files.',
      )
    }
    const privateKey = parsePrivate(location.privateKeyPem, 'PASSPORT_PRIVATE_KEY')
    const publicKey = parsePublic(location.publicKeyPem, 'PASSPORT_PUBLIC_KEY')
    assertPair(privateKey, publicKey, 'PASSPORT_PRIVATE_KEY and PASSPORT_PUBLIC_KEY')
    const kid = await keyId(publicKey)
    const alg = keyAlgorithm(publicKey, location.algorithm, 'PASSPORT_KEY_ALG')
    return {kid, alg, privateKey, publicKeys: [{kid, key: publicKey, alg}], source: 'env'}
  }
  const retired = readRetired(location.directory).keys
  const loaded = await loadKeysFromDirectory(location.directory, retired)
  loaded.publicKeys.push(...publishedRetiredKeys(location.directory, retired, loaded.kid, now))
  loaded.retirements = retired.map((k) => k.publishUntil)
  return loaded
}

/** The retired keys still published at `now` (the clock's), as verification and the JWKS see them. */
function publishedRetiredKeys(
  directory: string,
  retired: RetiredKeyFile['keys'],
  activeKid: string,
  now: number,
): PublicKeyEntry[] {
  const where = join(directory, RETIRED_KEYS_FILE)
  const published: PublicKeyEntry[] = []
  for (const entry of retired) {
    if (entry.publishUntil <= now || entry.kid === activeKid) continue
    const key = parsePublic(entry.publicKey, where)
    published.push({kid: entry.kid, key, alg: keyAlgorithm(key, entry.alg, where), publishUntil: entry.publishUntil})
  }
  return published
}

/**
 * The published public keys only (what verification and the JWKS need): `PASSPORT_PUBLIC_KEY`
 * alone, or the key directory's public key and retired keys. The private key is not read, so a
 * directory holding only `oauth-public.key` (a copy for a resource server) is enough.
 */
export async function loadPublicKeys(
  location: KeyLocation,
  now = Date.now(),
): Promise<Pick<SigningKeys, 'kid' | 'publicKeys' | 'source'>> {
  if (location.publicKeyPem) {
    const publicKey = parsePublic(location.publicKeyPem, 'PASSPORT_PUBLIC_KEY')
    const kid = await keyId(publicKey)
    return {
      kid,
      publicKeys: [{kid, key: publicKey, alg: keyAlgorithm(publicKey, location.algorithm, 'PASSPORT_KEY_ALG')}],
      source: 'env',
    }
  }
  if (location.privateKeyPem) return loadKeys(location, now)
  const directory = location.directory
  if (existsSync(directory)) assertSafeKeyDirectory(directory)
  const publicPath = join(directory, PUBLIC_KEY_FILE)
  let publicPem: string
  try {
    publicPem = readFileSync(publicPath, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT')
      throw new KeyError(
        `No public key at ${publicPath}; run "passport keys" to create a key pair, copy the authority's oauth-public.key there, or set PASSPORT_PUBLIC_KEY.`,
      )
    throw new KeyError(`Cannot read key file ${publicPath} (${code ?? 'unknown error'}); check its permissions.`)
  }
  const publicKey = parsePublic(publicPem, publicPath)
  const kid = await keyId(publicKey)
  const retired = readRetired(directory).keys
  const publicKeys: PublicKeyEntry[] = [
    {kid, key: publicKey, alg: activeKeyAlgorithm(directory, publicKey, kid, retired, publicPath)},
  ]
  publicKeys.push(...publishedRetiredKeys(directory, retired, kid, now))
  return {kid, publicKeys, source: 'files'}
}

/**
 * The algorithm a key signs with: implied by an EC P-256 (ES256) or Ed25519 (EdDSA) key; for an
 * RSA key, `hint` (PS256 or RS256), default RS256. A hint that does not fit the key is a KeyError.
 */
export function keyAlgorithm(key: KeyObject, hint: string | undefined, where: string): SigningAlgorithm {
  const type = key.asymmetricKeyType
  let implied: SigningAlgorithm[]
  if (type === 'rsa') implied = ['RS256', 'PS256']
  else if (type === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') implied = ['ES256']
  else if (type === 'ed25519') implied = ['EdDSA']
  else
    throw new KeyError(
      `${where}: a ${type === 'ec' ? `${key.asymmetricKeyDetails?.namedCurve ?? 'unknown'} EC` : (type ?? 'unknown')} key cannot sign tokens; passport signs with RSA (RS256, PS256), EC P-256 (ES256) or Ed25519 (EdDSA) keys.`,
    )
  if (hint === undefined) return implied[0]!
  if (!isSigningAlgorithm(hint) || !implied.includes(hint))
    throw new KeyError(`${where}: "${hint}" is not an algorithm for this ${type} key (use ${implied.join(' or ')}).`)
  return hint
}

/**
 * The public JWK Set (RFC 7517): `kty n e` (RSA), `kty crv x y` (EC) or `kty crv x` (OKP), then
 * `kid use alg`; never private members.
 */
export async function publicJwks(keys: Pick<SigningKeys, 'publicKeys'>): Promise<{keys: JWK[]}> {
  return {keys: keys.publicKeys.map(publicJwk)}
}

export function publicJwk({kid, key, alg}: PublicKeyEntry): JWK {
  const jwk = key.export({format: 'jwk'})
  const members: JWK =
    jwk.kty === 'RSA'
      ? {kty: 'RSA', n: jwk.n!, e: jwk.e!}
      : jwk.kty === 'EC'
        ? {kty: 'EC', crv: jwk.crv!, x: jwk.x!, y: jwk.y!}
        : {kty: jwk.kty!, crv: jwk.crv!, x: jwk.x!}
  return {...members, kid, use: 'sig', alg}
}

/** Every algorithm the published keys sign with, the active key's first (discovery's `…_alg_values_supported`). */
export function publishedAlgorithms(keys: Pick<SigningKeys, 'publicKeys'>): SigningAlgorithm[] {
  return [...new Set(keys.publicKeys.map((k) => k.alg))]
}

/** The active key pair of a key directory, with its kid (earlier keys are added by {@link loadKeys}). */
async function loadKeysFromDirectory(directory: string, retired: RetiredKeyFile['keys'] = []): Promise<SigningKeys> {
  if (existsSync(directory)) assertSafeKeyDirectory(directory)
  const privatePath = join(directory, PRIVATE_KEY_FILE)
  const publicPath = join(directory, PUBLIC_KEY_FILE)
  const privatePem = readKeyFile(privatePath)
  const publicPem = readKeyFile(publicPath)
  const privateKey = parsePrivate(privatePem, privatePath)
  const publicKey = parsePublic(publicPem, publicPath)
  assertPair(privateKey, publicKey, `${privatePath} and ${publicPath}`)
  const kid = await keyId(publicKey)
  const alg = activeKeyAlgorithm(directory, publicKey, kid, retired, privatePath)
  const keys: SigningKeys = {kid, alg, privateKey, publicKeys: [{kid, key: publicKey, alg}], source: 'files', directory}
  const mode = statSync(privatePath).mode & 0o777
  if (mode & 0o077) {
    keys.permissionWarning = `Private key ${privatePath} is readable by other users (mode ${mode.toString(8).padStart(4, '0')}); run chmod 600 on it.`
  }
  return keys
}

/**
 * The algorithm of a key directory's active key `kid`: the one written with the key pair
 * (oauth-key.json); a rotation caught between writing the new algorithm and the new keys still
 * finds the old key's in the retired list. `keyPath` names the key file in messages otherwise.
 */
function activeKeyAlgorithm(
  directory: string,
  key: KeyObject,
  kid: string,
  retired: RetiredKeyFile['keys'],
  keyPath: string,
): SigningAlgorithm {
  const meta = readKeyMeta(directory)
  if (meta?.kid === kid) return keyAlgorithm(key, meta.alg, join(directory, KEY_META_FILE))
  return keyAlgorithm(key, retired.find((k) => k.kid === kid)?.alg, keyPath)
}

function readKeyFile(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT')
      throw new KeyError(
        `No signing key at ${path}; run "passport keys" to create one, or set PASSPORT_PRIVATE_KEY and PASSPORT_PUBLIC_KEY.`,
      )
    throw new KeyError(`Cannot read key file ${path} (${code ?? 'unknown error'}); check its permissions.`)
  }
}

/** A PEM key of a kind passport signs with, or a KeyError naming `where`. */
function parseKey(pem: string, where: string, kind: 'private' | 'public'): KeyObject {
  let key: KeyObject
  try {
    key = kind === 'private' ? createPrivateKey(pem) : createPublicKey(pem)
  } catch {
    throw new KeyError(`${where} is not a PEM ${kind} key; run "passport keys --force" to make a new pair.`)
  }
  keyAlgorithm(key, undefined, where)
  // A private PEM given as "public" would publish private members: keep only the public part.
  return kind === 'public' && key.type === 'private' ? createPublicKey(key) : key
}

function parsePrivate(pem: string, where: string): KeyObject {
  return parseKey(pem, where, 'private')
}

function parsePublic(pem: string, where: string): KeyObject {
  return parseKey(pem, where, 'public')
}

function assertPair(privateKey: KeyObject, publicKey: KeyObject, where: string): void {
  const derived = createPublicKey(privateKey).export({type: 'spki', format: 'der'})
  if (!derived.equals(publicKey.export({type: 'spki', format: 'der'}))) {
    throw new KeyError(`${where} do not belong together; run "passport keys --force" to make a matching pair.`)
  }
}

function readRetired(directory: string): RetiredKeyFile {
  const path = join(directory, RETIRED_KEYS_FILE)
  if (!existsSync(path)) return {keys: []}
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as RetiredKeyFile
    if (!Array.isArray(parsed.keys)) throw new Error('no keys array')
    return parsed
  } catch {
    throw new KeyError(
      `${path} is not a valid retired-key list; delete it (earlier keys then stop verifying) or restore it.`,
    )
  }
}

function readKeyMeta(directory: string): {kid: string; alg: string} | undefined {
  const path = join(directory, KEY_META_FILE)
  if (!existsSync(path)) return undefined
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as {kid?: unknown; alg?: unknown}
    if (typeof parsed.kid !== 'string' || typeof parsed.alg !== 'string') throw new Error('no kid or alg')
    return {kid: parsed.kid, alg: parsed.alg}
  } catch {
    throw new KeyError(
      `${path} is not a valid key description ({"kid", "alg"}); delete it (an RSA key then signs RS256) or restore it.`,
    )
  }
}

function newKeyPair(alg: SigningAlgorithm, bits: number | null): Promise<{privatePem: string; publicPem: string}> {
  const encoding = {
    publicKeyEncoding: {type: 'spki', format: 'pem'},
    privateKeyEncoding: {type: 'pkcs8', format: 'pem'},
  } as const
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, publicPem: string, privatePem: string) =>
      error ? reject(error) : resolve({privatePem, publicPem})
    if (alg === 'ES256') generateKeyPair('ec', {namedCurve: 'P-256', ...encoding}, done)
    else if (alg === 'EdDSA') generateKeyPair('ed25519', encoding, done)
    else generateKeyPair('rsa', {modulusLength: bits ?? 2048, ...encoding}, done)
  })
}

function writeKeyPair(
  directory: string,
  privatePem: string,
  publicPem: string,
  meta: {kid: string; alg: SigningAlgorithm},
): void {
  let created: string[]
  try {
    created = makeDirectory(directory, 0o700)
  } catch (error) {
    throw new KeyError(`Cannot create key directory ${directory} (${errorCode(error)}).`)
  }
  // A directory that was already there keeps its mode (a shared one keeps its sticky bit); one
  // that others could write to, or that is not the user's, is refused instead.
  if (created.length === 0) assertSafeKeyDirectory(directory)
  writeFileAtomic(join(directory, KEY_META_FILE), `${JSON.stringify(meta, null, 2)}\n`, 0o644)
  writeFileAtomic(join(directory, PRIVATE_KEY_FILE), privatePem, 0o600)
  writeFileAtomic(join(directory, PUBLIC_KEY_FILE), publicPem, 0o644)
}

/** Refuses a key directory owned by another user or writable by every user: its keys could be swapped. */
export function assertSafeKeyDirectory(directory: string): void {
  let stats
  try {
    stats = statSync(directory)
  } catch (error) {
    throw new KeyError(`Cannot read key directory ${directory} (${errorCode(error)}).`)
  }
  const problem = ownershipProblem(stats)
  if (problem)
    throw new KeyError(
      `Key directory ${directory} ${problem}; use a directory of your own that only you can write (e.g. --key-path storage).`,
    )
}

function writeFileAtomic(path: string, content: string, mode: number): void {
  try {
    writeFileSafely(path, content, mode)
  } catch (error) {
    throw new KeyError(`Cannot write ${path} (${errorCode(error)}).`)
  }
}

/** Environment variables often carry PEM with literal "\n" sequences. */
function unescapeNewlines(pem: string): string {
  return pem.includes('\\n') ? pem.replace(/\\n/g, '\n') : pem
}

/**
 * A jose key resolver over published keys: the key whose `kid` the JWS header names, used only
 * with the algorithm it is published for (an RS256 key never verifies a PS256 signature).
 */
export function publishedKeyResolver(
  publicKeys: readonly PublicKeyEntry[],
): (header: {kid?: string; alg?: string}) => KeyObject {
  return (header) => {
    const entry = publicKeys.find((k) => k.kid === header.kid)
    if (!entry) throw new joseErrors.JWKSNoMatchingKey(`no published key has kid ${header.kid ?? '(none)'}`)
    if (entry.alg !== header.alg)
      throw new joseErrors.JWKSNoMatchingKey(`the key ${entry.kid} signs ${entry.alg}, not ${header.alg ?? '(none)'}`)
    return entry.key
  }
}
