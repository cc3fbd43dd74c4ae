import {lookup as dnsLookup, type LookupAddress} from 'node:dns'
import {request as httpRequest, type IncomingMessage} from 'node:http'
import {request as httpsRequest} from 'node:https'
import {BlockList, isIP} from 'node:net'

import {isLoopbackAddress} from './uris.js'

/**
 * The one way passport GETs a document from a URL someone else chose: a client ID metadata
 * document (SPEC §10.4) or a client's `jwks_uri` (SPEC §10.6). The host is resolved once, every
 * address checked, and the connection made to a checked address (no second lookup to rebind);
 * private-network addresses are refused unless allowed, loopback always allowed (local
 * development); redirects are not followed; the time and the size are capped.
 */

/** Private, link-local, unique-local, shared, unspecified and multicast ranges (loopback is allowed: local development). */
const PRIVATE = new BlockList()
for (const [net, prefix] of [
  ['10.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['169.254.0.0', 16],
  ['100.64.0.0', 10],
  ['0.0.0.0', 8],
  ['192.0.0.0', 24],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv4')
}
for (const [net, prefix] of [
  ['fc00::', 7],
  ['fe80::', 10],
  ['::', 128],
  ['ff00::', 8],
] as const)
  PRIVATE.addSubnet(net, prefix, 'ipv6')

/** Why an address may not be fetched from, or undefined. */
export function addressProblem(address: string, allowPrivateNetworks: boolean): string | undefined {
  if (isLoopbackAddress(address)) return undefined
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1]
  const family = mapped ? 'ipv4' : isIP(address) === 6 ? 'ipv6' : 'ipv4'
  if (!allowPrivateNetworks && PRIVATE.check(mapped ?? address, family)) {
    return `it resolves to the private or link-local address ${address}; set "clientIdMetadataDocuments": {"allowPrivateNetworks": true} in the configuration to allow it`
  }
  return undefined
}

/** Why a URL's host, when it is an IP address literal, may not be fetched from (no lookup), or undefined. */
export function literalAddressProblem(url: URL, allowPrivateNetworks: boolean): string | undefined {
  const literal = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  return isIP(literal) ? addressProblem(literal, allowPrivateNetworks) : undefined
}

export interface FenceOptions {
  /** Private, link-local, unique-local and shared addresses allowed too. */
  allowPrivateNetworks: boolean
  timeoutMs: number
  maxBytes: number
  /** The `Accept` header. */
  accept: string
  /** What is fetched, for descriptions and the User-Agent: "The client ID metadata document", "The jwks_uri". */
  what: string
}

/**
 * At most this many fetches at once in a process. Anyone can make passport fetch (a metadata
 * document URL at /authorize, a registered jwks_uri at the token endpoint), and each fetch may
 * hold a socket for its whole timeout: without a cap, a burst of slow URLs would open sockets
 * without end. A fetch beyond the cap is refused at once (the caller answers 503, Retry-After).
 */
export const MAX_CONCURRENT_FETCHES = 32
let fetchesUnderWay = 0

/** How many fenced fetches are open now (for tests: every fetch, whatever its end, gives its place back). */
export function openFetches(): number {
  return fetchesUnderWay
}

/** A fence that held: `check` names it (as the metadata document error page does). */
export class FenceError extends Error {
  constructor(
    readonly check: 'network address' | 'fetch timeout' | 'fetch' | 'no redirects' | 'size' | 'busy',
    message: string,
  ) {
    super(message)
  }
}

export interface FetchedDocument {
  status: number
  contentType: string
  cacheControl: string | undefined
  body: Buffer
}

/** GETs `url` inside the fences (see above); rejects with a {@link FenceError} saying which one held. */
export function fencedGet(url: URL, options: FenceOptions): Promise<FetchedDocument> {
  const {what} = options
  // An IP literal is connected to without a lookup: check it here.
  const literalProblem = literalAddressProblem(url, options.allowPrivateNetworks)
  if (literalProblem)
    return Promise.reject(
      new FenceError('network address', `${what} at ${url.href} was not fetched: ${literalProblem}.`),
    )
  if (fetchesUnderWay >= MAX_CONCURRENT_FETCHES)
    return Promise.reject(
      new FenceError(
        'busy',
        `${what} at ${url.href} was not fetched: ${MAX_CONCURRENT_FETCHES} other fetches are under way; try again in a few seconds.`,
      ),
    )
  fetchesUnderWay++
  return fetchInsideFences(url, options).finally(() => fetchesUnderWay--)
}

function fetchInsideFences(url: URL, options: FenceOptions): Promise<FetchedDocument> {
  const {timeoutMs, maxBytes, what} = options
  return new Promise<FetchedDocument>((resolve, reject) => {
    let settled = false
    const fail = (check: FenceError['check'], description: string) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      req.destroy()
      reject(new FenceError(check, description))
    }
    const lookup = (
      hostname: string,
      lookupOptions: object,
      callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
    ) => {
      dnsLookup(hostname, {...lookupOptions, all: true}, (error, addresses) => {
        if (error) return callback(error, '')
        const list = addresses
        for (const entry of list) {
          const problem = addressProblem(entry.address, options.allowPrivateNetworks)
          if (problem) {
            const refusal: NodeJS.ErrnoException = new Error(problem)
            refusal.code = 'EPASSPORTPRIVATE'
            return callback(refusal, '')
          }
        }
        const wantsAll = (lookupOptions as {all?: boolean}).all === true
        return wantsAll ? callback(null, list) : callback(null, list[0]!.address, list[0]!.family)
      })
    }
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest
    const req = send(url, {
      method: 'GET',
      headers: {accept: options.accept, 'user-agent': `passport (${what.replace(/^The /, '')} fetch)`},
      lookup,
    })
    const timer = setTimeout(
      () => fail('fetch timeout', `Fetching ${url.href} took longer than ${timeoutMs / 1000} seconds.`),
      timeoutMs,
    )
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPASSPORTPRIVATE')
        fail('network address', `${what} at ${url.href} was not fetched: ${error.message}.`)
      else fail('fetch', `${what} at ${url.href} could not be fetched (${error.code ?? 'network error'}).`)
    })
    req.on('response', (res: IncomingMessage) => {
      const status = res.statusCode ?? 0
      if (status >= 300 && status < 400) {
        fail(
          'no redirects',
          `${what} at ${url.href} answered with a redirect (${status}); redirects are not followed, serve it at that URL itself.`,
        )
        return
      }
      const tooBig = () => fail('size', `${what} at ${url.href} is larger than ${maxBytes} bytes.`)
      if (Number(res.headers['content-length']) > maxBytes) {
        tooBig()
        return
      }
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > maxBytes) {
          tooBig()
          return
        }
        chunks.push(chunk)
      })
      res.on('error', () => fail('fetch', `${what} at ${url.href} could not be read completely.`))
      res.on('end', () => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        resolve({
          status,
          contentType: String(res.headers['content-type'] ?? ''),
          cacheControl: res.headers['cache-control'],
          body: Buffer.concat(chunks),
        })
      })
    })
    req.end()
  })
}
