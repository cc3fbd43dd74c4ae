import {isIP} from 'node:net'

import {InvalidInputError} from '../errors.js'

/**
 * The one home of passport's URI rules: redirect URIs (registration and matching), loopback
 * hosts, RFC 8707 resource indicators, issuer URLs and client ids. Config, the CLI, the
 * authorization endpoint, the token endpoint and logout all call these; none writes its own.
 */

/** `localhost`, 127.0.0.0/8 or `::1` (with or without brackets). */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || isLoopbackIp(hostname)
}

/**
 * A loopback IP literal, 127.0.0.0/8 or `::1` (with or without brackets), not the name
 * `localhost`: RFC 8252 §8.3 prefers literals because a name can be resolved elsewhere.
 */
export function isLoopbackIp(hostname: string): boolean {
  const host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname
  if (isIP(host) === 4) return host.startsWith('127.')
  return host === '::1'
}

/**
 * Is a socket's peer address (`req.socket.remoteAddress`) on this machine: 127.0.0.0/8, `::1`, or
 * an IPv4-mapped 127.x (`::ffff:127.0.0.1`, what a dual-stack socket reports)?
 */
export function isLoopbackAddress(address: string): boolean {
  const v4 = address.toLowerCase().startsWith('::ffff:') ? address.slice(7) : address
  return isLoopbackIp(v4)
}

/**
 * Validates a redirect URI for registration (RFC 6749 §3.1.2, RFC 9700 §2.6): absolute, no
 * fragment, no whitespace; plain http only for localhost and loopback addresses unless
 * explicitly allowed; never `javascript:`, `data:` or `file:`. Returns the URI unchanged: it is
 * matched later by {@link redirectUriMatches}. Post-logout redirect URIs (RP-Initiated Logout
 * §3.1) follow the same rules; `kind` names which one a message is about.
 */
export function validateRedirectUri(
  uri: string,
  allowInsecure = false,
  kind: 'Redirect URI' | 'Post-logout redirect URI' = 'Redirect URI',
): string {
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    throw new InvalidInputError(`${kind} "${uri}" is not an absolute URI (e.g. http://localhost:3000/callback).`)
  }
  if (uri.includes('#')) throw new InvalidInputError(`${kind} "${uri}" must not contain a fragment (#).`)
  if (/\s/.test(uri)) throw new InvalidInputError(`${kind} "${uri}" must not contain whitespace.`)
  if (url.protocol === 'http:' && !allowInsecure && !isLoopbackHost(url.hostname)) {
    throw new InvalidInputError(
      `${kind} "${uri}" uses plain http on a host that is not localhost or a loopback address; use https, or pass --allow-insecure-redirect.`,
    )
  }
  if ((url.protocol === 'https:' || url.protocol === 'http:') && url.hostname === '') {
    throw new InvalidInputError(`${kind} "${uri}" has no host.`)
  }
  if (url.protocol === 'javascript:' || url.protocol === 'data:' || url.protocol === 'file:') {
    throw new InvalidInputError(
      `${kind} "${uri}" uses the ${url.protocol} scheme, which cannot receive a redirect safely.`,
    )
  }
  return uri
}

/** How {@link redirectUriMatches} compares, in words for error pages. */
export const REDIRECT_URI_MATCHING =
  'The comparison is exact (case, trailing slash, query and port all count; only http redirect URIs on 127.0.0.1, [::1] or localhost match on any port).'

/**
 * RFC 3986 §6.2.1 simple string comparison, except that a registered loopback redirect URI
 * (`http://127.0.0.1/…`, `http://[::1]/…`, `http://localhost/…`) matches on any port (RFC 8252
 * §7.3, OAuth 2.1 §8.4.2, SPEC §10.3): native apps and MCP clients listen on an ephemeral port.
 * Scheme (`http` only), host, path and query must still match exactly; hosts are parsed, never
 * prefix-matched.
 */
export function redirectUriMatches(registered: string, requested: string): boolean {
  if (registered === requested) return true
  const a = loopbackParts(registered)
  const b = loopbackParts(requested)
  return a !== undefined && b !== undefined && a.host === b.host && a.rest === b.rest
}

/** Splits `http://<loopback IP literal or localhost>[:port]<rest>` into host and rest; undefined for anything else. */
function loopbackParts(uri: string): {host: string; rest: string} | undefined {
  const match = /^http:\/\/(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]|localhost)(?::(\d{1,5}))?([/?][^#]*)?$/.exec(uri)
  if (!match) return undefined
  const host = match[1]!
  if (!isLoopbackHost(host)) return undefined
  if (match[2] !== undefined && Number(match[2]) > 65535) return undefined
  return {host, rest: match[3] ?? ''}
}

/** An http(s) URL without a fragment or credentials, parsed; undefined for anything else. */
export function httpUrl(value: string): URL | undefined {
  if (value.includes('#')) return undefined
  try {
    const url = new URL(value)
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === ''
      ? url
      : undefined
  } catch {
    return undefined
  }
}

/** Why a value is not an RFC 8707 resource indicator (absolute URI, no fragment), or undefined. */
export function resourceUriProblem(value: string): string | undefined {
  if (value.includes('#')) return `resource ${value} must not contain a fragment (#) (RFC 8707 section 2).`
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f]/.test(value)) return 'A resource must not contain whitespace or control characters.'
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return `resource ${value} is not an absolute URI (e.g. http://localhost:3000/mcp) (RFC 8707 section 2).`
  }
  if ((url.protocol === 'http:' || url.protocol === 'https:') && url.hostname === '')
    return `resource ${value} has no host.`
  return undefined
}

/** What an issuer must be, for error messages. */
export const ISSUER_RULE = 'an absolute http(s) URL without query or fragment, such as http://localhost:9000'

/** Is `value` usable as an issuer (OIDC Discovery §3, RFC 8414 §2): http(s), no query, no fragment? */
export function isIssuerUrl(value: string): boolean {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return false
  }
  return (url.protocol === 'http:' || url.protocol === 'https:') && !value.includes('?') && !value.includes('#')
}

/**
 * Why `id` cannot be a client id, or undefined when it can: 1–128 printable ASCII characters
 * without spaces, and no `:` (HTTP Basic authentication splits the id from the secret there).
 */
export function clientIdProblem(id: string): string | undefined {
  if (!/^[\x21-\x7e]{1,128}$/.test(id)) return 'a client id of 1–128 printable ASCII characters without spaces'
  if (id.includes(':')) return 'a client id without ":" (it would break HTTP Basic authentication)'
  return undefined
}

/**
 * The authorization response URI: the redirect URI exactly as registered (its query kept) with the
 * response parameters appended. Undefined values are left out.
 */
export function authorizationResponseUri(redirectUri: string, params: Record<string, string | undefined>): string {
  const query = new URLSearchParams()
  for (const [key, value] of Object.entries(params)) if (value !== undefined) query.append(key, value)
  const text = query.toString()
  if (text === '') return redirectUri
  const separator = !redirectUri.includes('?') ? '?' : redirectUri.endsWith('?') || redirectUri.endsWith('&') ? '' : '&'
  return `${redirectUri}${separator}${text}`
}
