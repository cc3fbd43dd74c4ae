import type {IncomingMessage, ServerResponse} from 'node:http'

import {InvalidInputError} from '../errors.js'
import {httpUrl, ISSUER_RULE, isIssuerUrl, resourceUriProblem} from '../core/uris.js'
import {protectedResourceMetadataUrl} from './bearer.js'

export interface ProtectedResourceMetadataOptions {
  /** The resource's identifier (RFC 8707 / RFC 9728): an absolute URL without fragment, e.g. http://127.0.0.1:3000/mcp. */
  resource: string
  /** The authorization server(s) issuing tokens for it: passport's issuer. */
  issuer: string | string[]
  /** Scopes a client may request for this resource (`scopes_supported`). */
  scopes?: string[]
  /** A human-readable name (`resource_name`). */
  name?: string
  /** Extra RFC 9728 members, e.g. `resource_documentation`; they cannot replace the ones above. */
  extra?: Record<string, unknown>
}

/**
 * The RFC 9728 protected resource metadata document of a resource protected by passport tokens:
 * `resource`, `authorization_servers`, `scopes_supported`, `bearer_methods_supported: ["header"]`
 * (tokens in the Authorization header only). Serve it with {@link protectedResourceMetadataHandler}.
 */
export function protectedResourceMetadata(options: ProtectedResourceMetadataOptions): Record<string, unknown> {
  if (typeof options !== 'object' || options === null)
    throw new InvalidInputError('protectedResourceMetadata needs {resource, issuer, scopes}.')
  // The RFC 8707 resource rule and the issuer rule of core/uris.ts, as the authority applies them.
  const resource = options.resource
  const notHttp = new InvalidInputError(
    `protectedResourceMetadata: resource must be an absolute http(s) URL, not ${JSON.stringify(resource)}.`,
  )
  if (typeof resource !== 'string' || !URL.canParse(resource)) throw notHttp
  const problem = resourceUriProblem(resource)
  if (problem !== undefined) throw new InvalidInputError(`protectedResourceMetadata: ${problem}`)
  if (httpUrl(resource) === undefined) throw notHttp
  const issuers = Array.isArray(options.issuer) ? options.issuer : [options.issuer]
  if (issuers.length === 0)
    throw new InvalidInputError('protectedResourceMetadata: issuer names no authorization server.')
  for (const issuer of issuers) {
    if (typeof issuer !== 'string' || !isIssuerUrl(issuer))
      throw new InvalidInputError(
        `protectedResourceMetadata: issuer must be ${ISSUER_RULE}, not ${JSON.stringify(issuer)}.`,
      )
  }
  const scopes = options.scopes ?? []
  if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string' && s !== '' && !/\s/.test(s)))
    throw new InvalidInputError('protectedResourceMetadata: scopes must be a list of scope names.')
  return {
    ...options.extra,
    resource,
    authorization_servers: issuers,
    ...(scopes.length > 0 ? {scopes_supported: scopes} : {}),
    bearer_methods_supported: ['header'],
    ...(options.name === undefined ? {} : {resource_name: options.name}),
  }
}

/** CORS for the metadata document: browser-based MCP clients (MCP Inspector) read it cross-origin. */
const CORS = {'Access-Control-Allow-Origin': '*'} as const

/**
 * A node:http handler for the metadata document at both RFC 9728 locations of the resource: the
 * path-suffixed well-known URL (`/.well-known/oauth-protected-resource/mcp`) and, for clients that
 * look at the root, `/.well-known/oauth-protected-resource`. It answers GET (and HEAD, OPTIONS) and
 * returns true for those paths; for every other request it returns false and touches nothing.
 */
export function protectedResourceMetadataHandler(
  options: ProtectedResourceMetadataOptions,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const document = protectedResourceMetadata(options)
  const body = JSON.stringify(document)
  const paths = new Set([
    new URL(protectedResourceMetadataUrl(document.resource as string)).pathname,
    '/.well-known/oauth-protected-resource',
  ])
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!
    if (!paths.has(path)) return false
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        ...CORS,
        'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
        'Access-Control-Allow-Headers': 'MCP-Protocol-Version',
        'Access-Control-Max-Age': '600',
      })
      res.end()
      return true
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const text = JSON.stringify({
        error: 'invalid_request',
        error_description: `${req.method} is not allowed on ${path}; use GET.`,
      })
      res.writeHead(405, {
        ...CORS,
        Allow: 'GET, HEAD, OPTIONS',
        'Content-Type': 'application/json; charset=utf-8',
        'Content-Length': Buffer.byteLength(text),
      })
      res.end(text)
      return true
    }
    res.writeHead(200, {
      ...CORS,
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'public, max-age=60',
    })
    res.end(req.method === 'HEAD' ? undefined : body)
    return true
  }
}
