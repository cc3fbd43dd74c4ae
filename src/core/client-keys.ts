import type {ClientRow, ClientSource} from '../store/clients.js'
import {isLoopbackHost} from './uris.js'

/**
 * The public keys a client authenticates with under `private_key_jwt` (RFC 7523, SPEC §10.6):
 * a JWK Set of public keys (`jwks`) or the URL it is published at (`jwks_uri`). Shared by the
 * configuration, `passport client --jwks / --jwks-uri` and the token endpoint.
 */
export interface JwkSet {
  keys: Record<string, unknown>[]
}

/** Members only a private (or symmetric) JWK has. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']

/** Why `value` is not a JWK Set of public RSA / EC / OKP keys (at most 20), or undefined. */
export function jwksProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return 'a JWK Set: an object with a "keys" array'
  const keys = (value as {keys?: unknown}).keys
  if (!Array.isArray(keys) || keys.length === 0) return 'a JWK Set with a non-empty "keys" array'
  if (keys.length > 20) return 'a JWK Set of at most 20 keys'
  for (const [index, key] of keys.entries()) {
    if (typeof key !== 'object' || key === null || Array.isArray(key))
      return `a JWK Set whose keys are objects (keys[${index}] is not)`
    const jwk = key as Record<string, unknown>
    if (jwk.kty !== 'RSA' && jwk.kty !== 'EC' && jwk.kty !== 'OKP')
      return `a JWK Set of public RSA, EC or OKP keys (keys[${index}].kty is ${JSON.stringify(jwk.kty)})`
    const secret = PRIVATE_MEMBERS.find((name) => Object.hasOwn(jwk, name))
    if (secret !== undefined)
      return `a JWK Set of public keys only (keys[${index}] holds the private member "${secret}")`
  }
  return undefined
}

/** Why `uri` is not a jwks_uri passport will fetch (https, or http on a loopback host), or undefined. */
export function jwksUriProblem(uri: string): string | undefined {
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    return 'it is not an absolute URL'
  }
  if (url.hash !== '') return 'it has a fragment'
  if (url.username !== '' || url.password !== '') return 'it carries credentials'
  if (url.protocol === 'https:') return undefined
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return undefined
  return url.protocol === 'http:'
    ? 'plain http is allowed only on loopback hosts (127.0.0.1, [::1], localhost); use https'
    : `the scheme ${url.protocol} is not https`
}

/**
 * Whether passport may fetch a client's `jwks_uri` from a private-network address (10/8,
 * 192.168/16, link-local, unique-local …). Operators are trusted: a `jwks_uri` from the
 * configuration or `passport client --jwks-uri` may point anywhere its scheme allows. One from an
 * anonymous registration (or a client ID metadata document) gets the fences of a metadata
 * document: loopback allowed (local development), private networks only with
 * `"clientIdMetadataDocuments": {"allowPrivateNetworks": true}`.
 */
export function jwksUriMayReachPrivateNetworks(
  client: Pick<ClientRow, 'source'>,
  allowPrivateNetworks: boolean,
): boolean {
  return allowPrivateNetworks || !ANONYMOUS_SOURCES.has(client.source)
}

/** Where clients come from that anyone may create. */
const ANONYMOUS_SOURCES = new Set<ClientSource>(['registered', 'metadata'])
