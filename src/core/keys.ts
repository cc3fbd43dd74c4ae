import {createPrivateKey, createPublicKey, generateKeyPair, type KeyObject} from 'node:crypto'
import {existsSync, readFileSync, statSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {promisify} from 'node:util'

import {calculateJwkThumbprint, type JWK} from 'jose'

import {ConflictError, InvalidInputError, KeyError} from './errors.js'
import {errorCode, makeDirectory, ownershipProblem, writeFileSafely} from './files.js'

export const PRIVATE_KEY_FILE = 'oauth-private.key'
export const PUBLIC_KEY_FILE = 'oauth-public.key'
/** Earlier public keys that still verify tokens they signed. */
export const RETIRED_KEYS_FILE = 'oauth-retired-keys.json'
export const DEFAULT_KEY_PATH = 'storage'
export const KEY_SIZES = [2048, 3072, 4096] as const

export interface PublicKeyEntry {
  kid: string
  key: KeyObject
  /** Unix ms after which a retired key is no longer published; undefined for the active key. */
  publishUntil?: number
}

export interface SigningKeys {
  kid: string
  privateKey: KeyObject
  /** The active public key first, then retired ones still published. */
  publicKeys: PublicKeyEntry[]
  /** Where the keys came from, for messages. */
  source: 'env' | 'files'
  directory?: string
  /** Set when the private key file is readable by group or others. */
  permissionWarning?: string
}

interface RetiredKeyFile {
  keys: Array<{kid: string; publicKey: string; retiredAt: number; publishUntil: number}>
}

export interface KeyLocation {
  /** PEM text from PASSPORT_PRIVATE_KEY / PASSPORT_PUBLIC_KEY; wins over files (the seed's order). */
  privateKeyPem?: string
  publicKeyPem?: string
  /** The key directory: flag, PASSPORT_KEY_PATH or `keyPath` in config, else `storage/`. */
  directory: string
}

/** The key location from the environment and the resolved directory, in the seed's precedence. */
export function keyLocation(directory: string | undefined, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): KeyLocation {
  const location: KeyLocation = {directory: resolve(cwd, directory ?? DEFAULT_KEY_PATH)}
  if (env.PASSPORT_PRIVATE_KEY) location.privateKeyPem = unescapeNewlines(env.PASSPORT_PRIVATE_KEY)
  if (env.PASSPORT_PUBLIC_KEY) location.publicKeyPem = unescapeNewlines(env.PASSPORT_PUBLIC_KEY)
  return location
}

/** RFC 7638 thumbprint of the public key (jose's calculateJwkThumbprint): the `kid`. */
export async function keyId(publicKey: KeyObject): Promise<string> {
  return calculateJwkThumbprint(publicKey.export({format: 'jwk'}) as JWK, 'sha256')
}

export function keysExist(directory: string): boolean {
  return existsSync(join(directory, PRIVATE_KEY_FILE)) || existsSync(join(directory, PUBLIC_KEY_FILE))
}

export interface GeneratedKeys {
  kid: string
  privateKeyPath: string
  publicKeyPath: string
  bits: number
}

/**
 * Generates an RSA key pair into `directory` (PKCS#8 / SPKI PEM; private key 0600, directory 0700).
 * Refuses to overwrite existing keys unless `force`.
 */
export async function generateKeys(directory: string, options: {bits?: number; force?: boolean} = {}): Promise<GeneratedKeys> {
  const bits = options.bits ?? 2048
  if (!(KEY_SIZES as readonly number[]).includes(bits)) throw new InvalidInputError(`Key size must be one of ${KEY_SIZES.join(', ')} bits; got ${bits}.`)
  if (!options.force && keysExist(directory)) {
    throw new ConflictError(`Keys already exist in ${directory}; pass --force to overwrite them (tokens they signed will stop verifying).`)
  }
  const pair = await newKeyPair(bits)
  writeKeyPair(directory, pair.privatePem, pair.publicPem)
  return {kid: await keyId(createPublicKey(pair.publicPem)), privateKeyPath: join(directory, PRIVATE_KEY_FILE), publicKeyPath: join(directory, PUBLIC_KEY_FILE), bits}
}

/**
 * Makes a new active key. The previous public key stays published until `publishUntil` (the
 * latest expiry of any token it may have signed), so those tokens keep verifying.
 */
export async function rotateKeys(directory: string, publishUntil: number, options: {bits?: number; now?: number} = {}): Promise<{kid: string; retiredKid: string}> {
  const current = await loadKeysFromDirectory(directory)
  const pair = await newKeyPair(options.bits ?? (current.privateKey.asymmetricKeyDetails?.modulusLength ?? 2048))
  const now = options.now ?? Date.now()
  const retired = readRetired(directory)
  retired.keys = retired.keys.filter((k) => k.kid !== current.kid && k.publishUntil > now)
  retired.keys.unshift({
    kid: current.kid,
    publicKey: current.publicKeys[0]!.key.export({type: 'spki', format: 'pem'}).toString(),
    retiredAt: now,
    publishUntil,
  })
  writeFileAtomic(join(directory, RETIRED_KEYS_FILE), `${JSON.stringify(retired, null, 2)}\n`, 0o644)
  writeKeyPair(directory, pair.privatePem, pair.publicPem)
  return {kid: await keyId(createPublicKey(pair.publicPem)), retiredKid: current.kid}
}

/** Drops retired keys whose tokens have all expired (or every retired key with `all`). */
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
      throw new KeyError('Set both PASSPORT_PRIVATE_KEY and PASSPORT_PUBLIC_KEY (PEM text), or neither to read keys from files.')
    }
    const privateKey = parsePrivate(location.privateKeyPem, 'PASSPORT_PRIVATE_KEY')
    const publicKey = parsePublic(location.publicKeyPem, 'PASSPORT_PUBLIC_KEY')
    assertPair(privateKey, publicKey, 'PASSPORT_PRIVATE_KEY and PASSPORT_PUBLIC_KEY')
    const kid = await keyId(publicKey)
    return {kid, privateKey, publicKeys: [{kid, key: publicKey}], source: 'env'}
  }
  const loaded = await loadKeysFromDirectory(location.directory)
  const kid = loaded.kid
  for (const entry of readRetired(location.directory).keys) {
    if (entry.publishUntil <= now || entry.kid === kid) continue
    loaded.publicKeys.push({kid: entry.kid, key: parsePublic(entry.publicKey, join(location.directory, RETIRED_KEYS_FILE)), publishUntil: entry.publishUntil})
  }
  return loaded
}

/** The public JWK Set (RFC 7517): only `kty n e kid use alg`, never private members. */
export async function publicJwks(keys: SigningKeys): Promise<{keys: JWK[]}> {
  return {
    keys: await Promise.all(
      keys.publicKeys.map(async ({kid, key}) => {
        const {kty, n, e} = key.export({format: 'jwk'})
        return {kty: kty!, n, e, kid, use: 'sig', alg: 'RS256'}
      }),
    ),
  }
}

/** The active key pair of a key directory, with its kid (earlier keys are added by {@link loadKeys}). */
async function loadKeysFromDirectory(directory: string): Promise<SigningKeys> {
  if (existsSync(directory)) assertSafeKeyDirectory(directory)
  const privatePath = join(directory, PRIVATE_KEY_FILE)
  const publicPath = join(directory, PUBLIC_KEY_FILE)
  const privatePem = readKeyFile(privatePath)
  const publicPem = readKeyFile(publicPath)
  const privateKey = parsePrivate(privatePem, privatePath)
  const publicKey = parsePublic(publicPem, publicPath)
  assertPair(privateKey, publicKey, `${privatePath} and ${publicPath}`)
  const kid = await keyId(publicKey)
  const keys: SigningKeys = {kid, privateKey, publicKeys: [{kid, key: publicKey}], source: 'files', directory}
  const mode = statSync(privatePath).mode & 0o777
  if (mode & 0o077) {
    keys.permissionWarning = `Private key ${privatePath} is readable by other users (mode ${mode.toString(8).padStart(4, '0')}); run chmod 600 on it.`
  }
  return keys
}

function readKeyFile(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new KeyError(`No signing key at ${path}; run "passport keys" to create one, or set PASSPORT_PRIVATE_KEY and PASSPORT_PUBLIC_KEY.`)
    throw new KeyError(`Cannot read key file ${path} (${code ?? 'unknown error'}); check its permissions.`)
  }
}

function parsePrivate(pem: string, where: string): KeyObject {
  let key: KeyObject
  try {
    key = createPrivateKey(pem)
  } catch {
    throw new KeyError(`${where} is not a PEM private key; run "passport keys --force" to make a new pair.`)
  }
  if (key.asymmetricKeyType !== 'rsa') throw new KeyError(`${where} is not an RSA key; passport signs with RS256 and needs an RSA key pair.`)
  return key
}

function parsePublic(pem: string, where: string): KeyObject {
  let key: KeyObject
  try {
    key = createPublicKey(pem)
  } catch {
    throw new KeyError(`${where} is not a PEM public key; run "passport keys --force" to make a new pair.`)
  }
  if (key.asymmetricKeyType !== 'rsa') throw new KeyError(`${where} is not an RSA key; passport signs with RS256 and needs an RSA key pair.`)
  // A private PEM given as "public" would publish private members: keep only the public part.
  return key.type === 'private' ? createPublicKey(key) : key
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
    throw new KeyError(`${path} is not a valid retired-key list; delete it (earlier keys then stop verifying) or restore it.`)
  }
}

async function newKeyPair(bits: number): Promise<{privatePem: string; publicPem: string}> {
  const {privateKey, publicKey} = await promisify(generateKeyPair)('rsa', {
    modulusLength: bits,
    publicKeyEncoding: {type: 'spki', format: 'pem'},
    privateKeyEncoding: {type: 'pkcs8', format: 'pem'},
  })
  return {privatePem: privateKey, publicPem: publicKey}
}

function writeKeyPair(directory: string, privatePem: string, publicPem: string): void {
  let created: string[]
  try {
    created = makeDirectory(directory, 0o700)
  } catch (error) {
    throw new KeyError(`Cannot create key directory ${directory} (${errorCode(error)}).`)
  }
  // A directory that was already there keeps its mode (a shared one keeps its sticky bit); one
  // that others could write to, or that is not the user's, is refused instead.
  if (created.length === 0) assertSafeKeyDirectory(directory)
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
  if (problem) throw new KeyError(`Key directory ${directory} ${problem}; use a directory of your own that only you can write (e.g. --key-path storage).`)
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
