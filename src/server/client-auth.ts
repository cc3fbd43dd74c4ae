import type {IncomingMessage} from 'node:http'

import {secretMatches} from '../core/clients.js'
import {OAuthError, invalidRequest} from '../core/errors.js'
import type {ClientRow} from '../store/clients.js'
import type {Store} from '../store/index.js'
import type {Params} from './http.js'

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none'

export interface AuthenticatedClient {
  client: ClientRow
  method: ClientAuthMethod
}

/** The challenge every `invalid_client` answer carries (RFC 6749 §5.2). */
export const BASIC_CHALLENGE = {'WWW-Authenticate': 'Basic realm="passport"'} as const

/** The one `invalid_client` for unknown clients and wrong secrets alike: nothing tells them apart. */
const FAILED = 'Client authentication failed: unknown client, wrong secret, or a secret the client does not have.'

export function invalidClient(description = FAILED): OAuthError {
  return new OAuthError('invalid_client', description, 401, {...BASIC_CHALLENGE})
}

/** A client row no one can authenticate as: compared against so unknown ids cost the same time. */
const NOBODY: ClientRow = {
  id: '',
  name: '',
  secretHash: null,
  type: 'confidential',
  grantTypes: [],
  redirectUris: [],
  scopes: null,
  autoApprove: false,
  source: 'internal',
  createdAt: 0,
  updatedAt: 0,
}

/**
 * Authenticates the calling client (RFC 6749 §2.3) for the token, device-code, revocation and
 * introspection endpoints: `client_secret_basic` (credentials form-decoded after base64, §2.3.1),
 * `client_secret_post`, or `none` (a public client naming itself with `client_id`). Credentials
 * in both places are `invalid_request`; everything else that fails is one `invalid_client` (401).
 */
export function authenticateClient(req: IncomingMessage, params: Params, store: Store): AuthenticatedClient {
  const basic = readBasicCredentials(req.headers.authorization)
  const bodyId = params.get('client_id')
  const bodySecret = params.get('client_secret')

  let clientId: string
  let secret: string | undefined
  let method: ClientAuthMethod
  if (basic) {
    if (bodySecret !== undefined) throw invalidRequest('Client credentials were sent both in the Authorization header and in the body; use one method.')
    if (bodyId !== undefined && bodyId !== basic.id) throw invalidRequest('The client_id in the body differs from the one in the Authorization header.')
    clientId = basic.id
    secret = basic.secret
    method = 'client_secret_basic'
  } else {
    if (bodyId === undefined) {
      throw invalidClient(bodySecret === undefined ? 'No client authentication: send client_id (and client_secret), or HTTP Basic credentials.' : 'client_secret was sent without client_id.')
    }
    clientId = bodyId
    secret = bodySecret
    method = secret === undefined ? 'none' : 'client_secret_post'
  }

  const client = store.clients.find(clientId)
  if (secret === undefined) {
    if (client?.type === 'public') return {client, method: 'none'}
    if (!client) throw invalidClient()
    throw invalidClient(`Client ${client.id} is confidential and must authenticate with its secret (client_secret_basic or client_secret_post).`)
  }
  // Always one constant-time comparison, whether or not the client exists or has a secret.
  const matches = secretMatches(client ?? NOBODY, secret)
  if (!client || !matches) throw invalidClient()
  return {client, method}
}

/**
 * The id and secret of an `Authorization: Basic` header, or undefined when there is no
 * Authorization header. Another scheme, bad base64, a missing `:` or bad form-encoding is
 * `invalid_client`.
 */
export function readBasicCredentials(header: string | undefined): {id: string; secret: string | undefined} | undefined {
  if (header === undefined || header.trim() === '') return undefined
  const match = /^basic +([A-Za-z0-9+/=_-]*) *$/i.exec(header)
  if (!match) throw invalidClient('The Authorization header must use the Basic scheme for client authentication.')
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon === -1) throw invalidClient('The Basic credentials are malformed (no ":" between client id and secret).')
  const id = formDecode(decoded.slice(0, colon))
  const secret = formDecode(decoded.slice(colon + 1))
  if (id === undefined || secret === undefined) throw invalidClient('The Basic credentials are not properly form-encoded (RFC 6749 §2.3.1).')
  if (id === '') throw invalidClient('The Basic credentials name no client id.')
  return {id, secret: secret === '' ? undefined : secret}
}

/** application/x-www-form-urlencoded decoding of one value; undefined for bad percent-escapes. */
function formDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '))
  } catch {
    return undefined
  }
}
