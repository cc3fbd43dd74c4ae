import {
  type AuthorizationRequest,
  AuthorizationPageError,
  AuthorizationRedirectError,
  type ParameterSource,
  validateAuthorizationRequest,
} from './authorization/request.js'
import {randomToken, sha256} from './crypto.js'
import type {PassportConfig} from './config.js'
import {OAuthError, invalidRequest} from '../errors.js'
import {uuidv7} from './ids.js'
import type {ClientRow} from '../store/clients.js'
import type {Store} from '../store/index.js'

/**
 * Pushed authorization requests (RFC 9126): a client POSTs its authorization parameters to
 * `{prefix}/par` (authenticated as at the token endpoint), they are validated exactly as
 * `/authorize` validates them, and it gets back a `request_uri` that `/authorize` accepts once,
 * for 60 seconds, in place of the parameters.
 */

/** How long a request_uri stays usable (RFC 9126 §2.2 `expires_in`). */
export const PUSHED_REQUEST_TTL_SECONDS = 60
/** RFC 9126 §2.2: the request_uri is a URN of this form with a random part (256 bits here). */
export const REQUEST_URI_PREFIX = 'urn:ietf:params:oauth:request_uri:'
/** Live pushed requests kept per client; pushing more drops that client's oldest ones. */
export const MAX_PUSHED_REQUESTS_PER_CLIENT = 100

/** Never stored with a pushed request: the client's credentials (RFC 6749 §2.3, RFC 7523 §2.2). */
const CREDENTIALS = new Set(['client_secret', 'client_assertion', 'client_assertion_type'])

/** The RFC 9126 §2.2 answer (sent with 201 Created). */
export interface PushedRequestResponse {
  request_uri: string
  expires_in: number
}

/**
 * Validates a pushed authorization request of an authenticated client and stores it. `params`
 * reads the body; `entries` are all of its string parameters in order. A body without
 * `client_id` (HTTP Basic or assertion authentication) is read as naming the authenticated
 * client. `proofJkt`, the key thumbprint of a DPoP proof sent with the push, binds the code to
 * that key as `dpop_jkt` does; a `dpop_jkt` that differs from it is refused (RFC 9449 §10.1).
 * Invalid requests throw an {@link OAuthError} (400) with the error `/authorize` would
 * give; nothing is stored then.
 */
export function pushAuthorizationRequest(
  store: Store,
  config: PassportConfig,
  client: ClientRow,
  params: ParameterSource,
  entries: Iterable<[string, string]>,
  now = Date.now(),
  proofJkt?: string,
): PushedRequestResponse {
  if (proofJkt !== undefined) {
    const sent = params.get('dpop_jkt')
    if (sent !== undefined && sent !== proofJkt) {
      throw new OAuthError(
        'invalid_request',
        `dpop_jkt ${sent} is not the thumbprint of the DPoP proof's key (${proofJkt}); send one of them, or both for the same key (RFC 9449 section 10.1).`,
      )
    }
  }
  const fixed = (name: string): string | undefined =>
    name === 'client_id' ? client.id : name === 'dpop_jkt' ? proofJkt : undefined
  const source: ParameterSource = {get: (name) => params.get(name) ?? fixed(name), all: (name) => params.all(name)}
  try {
    validateAuthorizationRequest(store, config, source, {via: 'par'})
  } catch (error) {
    if (error instanceof AuthorizationPageError) throw new OAuthError(error.error, `${error.message} ${error.fix}`)
    if (error instanceof AuthorizationRedirectError) throw new OAuthError(error.error, error.description)
    throw error
  }

  const parameters: [string, string][] = []
  for (const [name, value] of entries)
    if (!CREDENTIALS.has(name) && name !== 'client_id' && !(name === 'dpop_jkt' && proofJkt !== undefined))
      parameters.push([name, value])
  parameters.unshift(['client_id', client.id])
  if (proofJkt !== undefined) parameters.push(['dpop_jkt', proofJkt])
  const requestUri = `${REQUEST_URI_PREFIX}${randomToken()}`
  store.transaction(() => {
    store.pushedRequests.sweep(now)
    store.pushedRequests.insert({
      id: uuidv7(now),
      requestUriHash: sha256(requestUri),
      clientId: client.id,
      parameters,
      createdAt: now,
      expiresAt: now + PUSHED_REQUEST_TTL_SECONDS * 1000,
    })
    store.pushedRequests.trim(client.id, MAX_PUSHED_REQUESTS_PER_CLIENT)
  })
  return {request_uri: requestUri, expires_in: PUSHED_REQUEST_TTL_SECONDS}
}

/** A validated authorization request, and the pushed request it came from (to be used once). */
export interface ReadAuthorizationRequest {
  request: AuthorizationRequest
  /** Id of the pushed request behind a request_uri: pass it to {@link usePushedRequest} before answering. */
  pushedId?: string
}

/**
 * The authorization request `/authorize` was sent: its own parameters, or, with `request_uri`,
 * the pushed request it names (RFC 9126 §4; every other parameter but client_id is then
 * ignored). A request_uri that is unknown, expired, used, or pushed by another client is an
 * {@link AuthorizationPageError} with the error `invalid_request_uri`. Plain requests are refused
 * when the server (`requirePar`) or the client requires pushed requests.
 */
export function readAuthorizationRequest(
  store: Store,
  config: PassportConfig,
  params: ParameterSource,
  options: {requirePar?: boolean; now?: number} = {},
): ReadAuthorizationRequest {
  const requestUri = pageParam(params, 'request_uri')
  if (requestUri === undefined) {
    return {
      request: validateAuthorizationRequest(store, config, params, {
        via: 'authorize',
        ...(options.requirePar ? {requirePar: true} : {}),
      }),
    }
  }
  const now = options.now ?? Date.now()
  const clientId = pageParam(params, 'client_id')
  if (clientId === undefined) {
    throw new AuthorizationPageError(
      'invalid_request',
      'The authorization request has a request_uri but no client_id.',
      'Send client_id together with the request_uri (RFC 9126 section 4).',
    )
  }
  const restart = 'Push the authorization request again and use the new request_uri within 60 seconds, once.'
  const refuse = (message: string, fix = restart): never => {
    throw new AuthorizationPageError('invalid_request_uri', message, fix)
  }
  if (!requestUri.startsWith(REQUEST_URI_PREFIX)) {
    refuse(
      `The request_uri was not issued by this server (it does not start with ${REQUEST_URI_PREFIX}); request objects by reference are not supported.`,
      'Use the request_uri the pushed authorization request endpoint returned.',
    )
  }
  const row = store.pushedRequests.findByHash(sha256(requestUri))
  if (!row) return refuse('The request_uri is unknown: it was never issued here, or it expired and was removed.')
  if (row.clientId !== clientId)
    return refuse(
      `The request_uri was pushed by another client, not by ${clientId}.`,
      `Send the client_id of the client that pushed the request.`,
    )
  if (row.usedAt !== null)
    return refuse('The request_uri was already used; each one is good for one authorization request.')
  if (row.expiresAt <= now)
    return refuse(`The request_uri has expired (a pushed request is good for ${PUSHED_REQUEST_TTL_SECONDS} seconds).`)
  const request = validateAuthorizationRequest(store, config, new StoredParameters(row.parameters), {via: 'pushed'})
  return {request, pushedId: row.id}
}

/**
 * Marks a pushed request used. True for exactly one caller, while it is unexpired: the
 * authorization endpoint calls it before it answers with a code, an error or a consent page.
 */
export function usePushedRequest(store: Store, id: string, now = Date.now()): boolean {
  return store.pushedRequests.use(id, now)
}

/** A query parameter read for a page error: a repeat cannot be redirected to the client. */
function pageParam(params: ParameterSource, name: string): string | undefined {
  try {
    return params.get(name)
  } catch {
    throw new AuthorizationPageError(
      'invalid_request',
      `The ${name} parameter is repeated.`,
      `Send ${name} exactly once.`,
    )
  }
}

/** The stored parameters of a pushed request, read with the same rules as a query string. */
class StoredParameters implements ParameterSource {
  constructor(private readonly pairs: readonly [string, string][]) {}

  get(name: string): string | undefined {
    const values = this.all(name)
    if (values.length > 1) throw invalidRequest(`The "${name}" parameter is repeated; send it once.`)
    return values[0] === '' ? undefined : values[0]
  }

  all(name: string): string[] {
    return this.pairs.filter(([key]) => key === name).map(([, value]) => value)
  }
}
