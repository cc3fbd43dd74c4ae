import {GRANT_AUTHORIZATION_CODE} from '../clients.js'
import {knownScopes, type PassportConfig} from '../config.js'
import {checkDpopJkt} from '../dpop.js'
import {OAuthError, UserError} from '../../errors.js'
import {resourceScopeProblem, validateResources} from '../resources.js'
import {parseScope, scopeProblem} from '../scopes.js'
import {REDIRECT_URI_MATCHING, redirectUriMatches} from '../uris.js'
import type {ClientRow} from '../../store/clients.js'
import type {Store} from '../../store/index.js'

/**
 * Where authorization request parameters come from: the query string or a POSTed form.
 * `get` returns undefined for an absent or empty value and throws an {@link OAuthError}
 * (`invalid_request`) for a repeated one (RFC 6749 §3.1).
 */
export interface ParameterSource {
  get(name: string): string | undefined
  /** Every value of a repeatable parameter (RFC 8707 `resource`). */
  all(name: string): string[]
}

/** A validated authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3). */
export interface AuthorizationRequest {
  client: ClientRow
  /** Where the response goes: the redirect_uri sent, or the client's only registered one. */
  redirectUri: string
  /** The redirect_uri parameter exactly as sent; null when it was omitted (stored on the code). */
  redirectUriParam: string | null
  /** Echoed byte for byte; undefined when none was sent (then none is returned). */
  state: string | undefined
  scopes: string[]
  codeChallenge: string | null
  codeChallengeMethod: 'S256' | null
  /** OpenID Connect and RFC 8707 parameters, carried to the code. */
  nonce: string | null
  /** RFC 8707 resources (registered, without duplicates); empty for none. */
  resources: string[]
  /** RFC 9449 §10: the DPoP key the code will be bound to. */
  dpopJkt: string | null
  loginHint: string | undefined
  prompt: string[]
  maxAge: number | undefined
}

/**
 * An authorization error that must not be redirected (RFC 6749 §4.1.2.1): the client or the
 * redirect URI could not be verified. Shown to the person as a page that says what to fix.
 */
export class AuthorizationPageError extends UserError {
  override readonly code = 'ERR_AUTHORIZATION_REQUEST'

  constructor(
    /** The OAuth error code for JSON callers: `invalid_request`, `invalid_client`, or `invalid_request_uri` (a pushed request not usable). */
    readonly error: 'invalid_request' | 'invalid_client' | 'invalid_request_uri',
    message: string,
    /** One sentence on how to fix it. */
    readonly fix: string,
    /** The page's heading: what could not be verified (by default, from `error`). */
    readonly title: string = PAGE_ERROR_TITLES[error],
  ) {
    super(message)
  }
}

const PAGE_ERROR_TITLES: Record<AuthorizationPageError['error'], string> = {
  invalid_request: 'Invalid authorization request',
  invalid_client: 'Unknown client',
  invalid_request_uri: 'Pushed authorization request not usable',
}
const REDIRECT_URI_REFUSED = 'Redirect URI not accepted'

/**
 * An authorization error with a verified client and redirect URI: sent back to the client as
 * `error`, `error_description`, `state` and `iss` on the redirect URI (RFC 6749 §4.1.2.1, RFC 9207).
 */
export class AuthorizationRedirectError extends OAuthError {
  constructor(
    error: string,
    description: string,
    readonly redirectUri: string,
    readonly state: string | undefined,
  ) {
    super(error, description)
  }
}

/** RFC 7636 §4.2: code_challenge is 43–128 characters of the unreserved set. */
const CODE_CHALLENGE = /^[A-Za-z0-9\-._~]{43,128}$/
const PROMPT_VALUES = new Set(['none', 'login', 'consent', 'select_account'])

/** Where the parameters of an authorization request arrived, and the server's PAR policy. */
export interface AuthorizationRequestOrigin {
  /**
   * `authorize`: the query (or form) of the authorization endpoint; `par`: the body of a pushed
   * authorization request (RFC 9126 §2.1); `pushed`: a pushed request redeemed by its request_uri.
   */
  via: 'authorize' | 'par' | 'pushed'
  /** `serve --require-par`: every client must push its authorization requests. */
  requirePar?: boolean
}

/**
 * Validates an authorization request in the order RFC 6749 §4.1.2.1 requires: first the client
 * and the redirect URI (failures throw {@link AuthorizationPageError}), then everything else
 * (failures throw {@link AuthorizationRedirectError}). The same rules apply to the body of a
 * pushed authorization request (RFC 9126 §2.1) and to the request a request_uri stands for.
 */
export function validateAuthorizationRequest(
  store: Store,
  config: PassportConfig,
  params: ParameterSource,
  origin: AuthorizationRequestOrigin = {via: 'authorize'},
): AuthorizationRequest {
  const client = verifyClient(store, params)
  const {redirectUri, redirectUriParam} = verifyRedirectUri(client, params)

  let state: string | undefined
  try {
    state = params.get('state')
  } catch (error) {
    throw new AuthorizationRedirectError('invalid_request', describe(error), redirectUri, undefined)
  }
  const fail = (error: string, description: string): never => {
    throw new AuthorizationRedirectError(error, description, redirectUri, state)
  }
  const read = (name: string): string | undefined => {
    try {
      return params.get(name)
    } catch (error) {
      return fail('invalid_request', describe(error))
    }
  }

  checkOrigin(config, client, origin, read, fail)

  const responseType = read('response_type')
  const scope = read('scope')
  const codeChallenge = read('code_challenge')
  const codeChallengeMethod = read('code_challenge_method')
  const nonce = read('nonce')
  let requestedResources: string[] = []
  try {
    requestedResources = params.all('resource')
  } catch (error) {
    fail('invalid_request', describe(error))
  }
  const dpopJkt = read('dpop_jkt')
  const loginHint = read('login_hint')
  const prompt = read('prompt')
  const maxAge = read('max_age')

  if (responseType === undefined)
    fail('invalid_request', 'The "response_type" parameter is missing; send response_type=code.')
  if (responseType !== 'code')
    fail(
      'unsupported_response_type',
      `response_type "${responseType}" is not supported; only "code" is (the authorization code flow).`,
    )
  if (!client.grantTypes.includes(GRANT_AUTHORIZATION_CODE)) {
    fail(
      'unauthorized_client',
      `Client ${client.id} may not use the authorization code grant; its grants are: ${client.grantTypes.join(', ') || '(none)'}.`,
    )
  }

  if (codeChallenge === undefined) {
    if (codeChallengeMethod !== undefined)
      fail('invalid_request', 'code_challenge_method was sent without code_challenge.')
    if (client.type === 'public')
      fail(
        'invalid_request',
        `Client ${client.id} is public and must use PKCE: send code_challenge with code_challenge_method=S256.`,
      )
  } else {
    if (codeChallengeMethod === undefined)
      fail(
        'invalid_request',
        'code_challenge_method is missing; send code_challenge_method=S256 (plain is not supported).',
      )
    if (codeChallengeMethod !== 'S256')
      fail('invalid_request', `code_challenge_method "${codeChallengeMethod}" is not supported; use S256.`)
    if (!CODE_CHALLENGE.test(codeChallenge)) {
      fail(
        'invalid_request',
        `code_challenge must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (got ${codeChallenge.length} characters${/^[A-Za-z0-9\-._~]*$/.test(codeChallenge) ? '' : ' including others'}).`,
      )
    }
  }

  const scopes = parseScope(scope)
  const problem = scopeProblem(scopes, client, knownScopes(config))
  if (problem) fail('invalid_scope', problem)

  const prompts = prompt === undefined ? [] : parseScope(prompt)
  for (const value of prompts)
    if (!PROMPT_VALUES.has(value))
      fail('invalid_request', `prompt "${value}" is not one of none, login, consent, select_account.`)
  if (prompts.includes('none') && prompts.length > 1)
    fail('invalid_request', 'prompt=none cannot be combined with other prompt values.')

  let maxAgeSeconds: number | undefined
  if (maxAge !== undefined) {
    if (!/^\d{1,10}$/.test(maxAge)) fail('invalid_request', 'max_age must be a non-negative whole number of seconds.')
    maxAgeSeconds = Number(maxAge)
  }

  let resources: string[] = []
  try {
    resources = validateResources(config.resources, requestedResources)
  } catch (error) {
    fail('invalid_target', describe(error))
  }
  const resourceProblem = resourceScopeProblem(config.resources, resources, scopes)
  if (resourceProblem) fail('invalid_scope', resourceProblem)

  if (dpopJkt !== undefined) {
    try {
      checkDpopJkt(dpopJkt)
    } catch (error) {
      fail('invalid_request', describe(error))
    }
  }

  return {
    client,
    redirectUri,
    redirectUriParam,
    state,
    scopes,
    codeChallenge: codeChallenge ?? null,
    codeChallengeMethod: codeChallenge === undefined ? null : 'S256',
    nonce: nonce ?? null,
    resources,
    dpopJkt: dpopJkt ?? null,
    loginHint,
    prompt: prompts,
    maxAge: maxAgeSeconds,
  }
}

/**
 * RFC 9126: a pushed request must not itself point to a request_uri (§2.1), and request objects
 * are not supported; a plain request is refused when the server or the client requires PAR (§5, §6).
 */
function checkOrigin(
  config: PassportConfig,
  client: ClientRow,
  origin: AuthorizationRequestOrigin,
  read: (name: string) => string | undefined,
  fail: (error: string, description: string) => never,
): void {
  if (origin.via === 'par') {
    if (read('request_uri') !== undefined)
      fail(
        'invalid_request',
        'request_uri must not be sent to the pushed authorization request endpoint (RFC 9126 section 2.1); push the authorization parameters themselves.',
      )
    if (read('request') !== undefined)
      fail(
        'request_not_supported',
        'Request objects (the "request" parameter) are not supported; push the authorization parameters as form fields.',
      )
    return
  }
  if (origin.via !== 'authorize') return
  // Issue 18 finding 13: a request object was silently ignored; refuse it (OIDC Core section 6.1).
  if (read('request') !== undefined)
    fail(
      'request_not_supported',
      'Request objects (the "request" parameter) are not supported; send the authorization parameters as query parameters.',
    )
  const how =
    'POST the authorization parameters to the pushed authorization request endpoint (RFC 9126), then send only client_id and the request_uri it returns to /authorize.'
  if (origin.requirePar)
    fail('invalid_request', `This server requires pushed authorization requests (serve --require-par): ${how}`)
  if (clientRequiresPar(config, client.id))
    fail(
      'invalid_request',
      `Client ${client.id} requires pushed authorization requests ("requirePar" in the configuration): ${how}`,
    )
}

/** Does the configuration say this client may only use pushed authorization requests? */
export function clientRequiresPar(config: Pick<PassportConfig, 'clients'>, clientId: string): boolean {
  return config.clients.some((client) => client.id === clientId && client.requirePar === true)
}

function verifyClient(store: Store, params: ParameterSource): ClientRow {
  let clientId: string | undefined
  try {
    clientId = params.get('client_id')
  } catch {
    throw new AuthorizationPageError(
      'invalid_request',
      'The client_id parameter is repeated.',
      'Send client_id exactly once.',
    )
  }
  if (clientId === undefined) {
    throw new AuthorizationPageError(
      'invalid_request',
      'The authorization request has no client_id.',
      'Add client_id=<your client id> to the authorization URL; "passport client:list" shows the registered clients.',
    )
  }
  const client = store.clients.find(clientId)
  if (!client) {
    throw new AuthorizationPageError(
      'invalid_client',
      `No client with id ${clientId}.`,
      '"passport client:list" shows the registered clients; create one with "passport client".',
    )
  }
  return client
}

function verifyRedirectUri(
  client: ClientRow,
  params: ParameterSource,
): {redirectUri: string; redirectUriParam: string | null} {
  let sent: string | undefined
  try {
    sent = params.get('redirect_uri')
  } catch {
    throw new AuthorizationPageError(
      'invalid_request',
      'The redirect_uri parameter is repeated.',
      'Send redirect_uri exactly once.',
      REDIRECT_URI_REFUSED,
    )
  }
  const registered = client.redirectUris
  const list = registered.length ? registered.join(', ') : '(none)'
  if (sent === undefined) {
    if (registered.length === 1) return {redirectUri: registered[0]!, redirectUriParam: null}
    if (registered.length === 0) {
      throw new AuthorizationPageError(
        'invalid_request',
        `Client ${client.id} has no registered redirect URI.`,
        registerHint(client, 'http://localhost:3000/callback'),
        REDIRECT_URI_REFUSED,
      )
    }
    throw new AuthorizationPageError(
      'invalid_request',
      `The request has no redirect_uri, and client ${client.id} registers ${registered.length} (${list}), so the server cannot choose.`,
      'Add redirect_uri with one of the registered URIs to the authorization URL.',
      REDIRECT_URI_REFUSED,
    )
  }
  if (registered.some((uri) => redirectUriMatches(uri, sent))) return {redirectUri: sent, redirectUriParam: sent}
  throw new AuthorizationPageError(
    'invalid_request',
    `redirect_uri ${sent} is not registered for client ${client.id}; registered: ${list}.`,
    `${REDIRECT_URI_MATCHING} ${registerHint(client, sent)}`,
    REDIRECT_URI_REFUSED,
  )
}

function registerHint(client: ClientRow, uri: string): string {
  if (client.source === 'config')
    return `Add ${uri} to "redirectUris" of client "${client.id}" in the configuration file and restart passport serve.`
  return `Use a registered URI, or add it with passport client "${client.name}" --redirect-uri ${uri} (a new client).`
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : 'A parameter is malformed.'
}
