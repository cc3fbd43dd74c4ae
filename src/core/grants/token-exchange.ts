import type {Authority} from '../authority.js'
import {GRANT_TOKEN_EXCHANGE} from '../clients.js'
import {knownScopes} from '../config.js'
import {InvalidTokenError, OAuthError, invalidRequest, invalidScope, unauthorizedClient} from '../../errors.js'
import {audienceOf, resourceScopeProblem, validateResources} from '../resources.js'
import {parseScope, scopeProblem, tokenCan} from '../scopes.js'
import {type ActorClaim, issueTokens, type TokenResponse} from '../tokens.js'
import {type VerifiedAccessToken, verifyAccessToken} from '../verify.js'
import type {GrantInput, GrantParams} from './types.js'

/** Parameters this grant reads (RFC 8693 §2.1). */
export const parameters = [
  'subject_token',
  'subject_token_type',
  'actor_token',
  'actor_token_type',
  'requested_token_type',
  'resource',
  'audience',
  'scope',
] as const

/** RFC 8693 §3: the one token type passport exchanges and issues. */
export const TOKEN_TYPE_ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token'

/**
 * Token exchange (RFC 8693): a confidential client presents an access token this authority issued
 * (the subject token) and gets a new access token for the same subject, naming itself as
 * `client_id`, for the audiences it asks for (`resource`: registered resources; `audience`: client
 * ids or registered resources), with the subject's scopes or fewer, living no longer than the subject token. An actor token
 * adds `act: {sub}` (nested when the subject token already had an `act`). No refresh token.
 * An unusable subject or actor token is `invalid_request` (RFC 8693 §2.2.2) saying why.
 */
export async function tokenExchangeGrant({
  authority,
  client,
  params,
  now = authority.clock.now(),
}: GrantInput): Promise<TokenResponse> {
  if (client.type !== 'confidential')
    throw unauthorizedClient(`Client ${client.id} is public; token exchange needs a confidential client.`)

  const subjectToken = params.require('subject_token')
  checkTokenType(params.get('subject_token_type'), 'subject_token_type', 'subject_token')
  const actorToken = params.get('actor_token')
  const actorTokenType = params.get('actor_token_type')
  if (actorToken === undefined && actorTokenType !== undefined)
    throw invalidRequest('actor_token_type was sent without actor_token (RFC 8693 section 2.1).')
  if (actorToken !== undefined) checkTokenType(actorTokenType, 'actor_token_type', 'actor_token')
  const requested = params.get('requested_token_type')
  if (requested !== undefined && requested !== TOKEN_TYPE_ACCESS_TOKEN) {
    throw invalidRequest(
      `requested_token_type ${requested} cannot be issued; token exchange here issues ${TOKEN_TYPE_ACCESS_TOKEN}.`,
    )
  }

  const subject = await verifyPresented(authority, subjectToken, 'subject_token', now)
  const subjectUser = subject.record!.userId
  if (subjectUser === null && subject.clientId !== client.id) {
    throw invalidRequest(
      `The subject_token is a client-credentials token of client ${subject.clientId}: no user stands behind it, so only ${subject.clientId} itself may exchange it.`,
    )
  }
  if (subjectUser !== null && subjectUser === client.id) {
    throw invalidRequest(
      `The subject_token's user "${subjectUser}" has the id of client ${client.id}; the new token would read as that client's own (client-credentials) token.`,
    )
  }
  const actor = actorToken === undefined ? undefined : await verifyPresented(authority, actorToken, 'actor_token', now)

  const targets = readTargets(authority, params)
  const scopes = exchangedScopes(authority, client, subject, params, targets)
  const audience = audienceOf(targets)
  const act = actorClaim(actor, subject)

  // Whole seconds that fit before the subject token's exp: the new token never outlives it.
  const nowSecond = Math.floor(now / 1000) * 1000
  const left = Math.floor((subject.record!.expiresAt - nowSecond) / 1000) * 1000
  if (left <= 0) throw invalidRequest('The subject_token expires within the second; exchange a fresher token.')
  const {response} = await issueTokens(
    authority,
    {
      client,
      userId: subjectUser,
      scopes,
      ttl: Math.min(authority.config.tokensExpireIn, left),
      grantType: GRANT_TOKEN_EXCHANGE,
      // No family: revoking the new token (its client may) must never revoke the subject's grant,
      // which belongs to another client. It cannot outlive the subject token instead.
      ...(audience === undefined ? {} : {audience}),
      ...(act === undefined ? {} : {act}),
    },
    now,
  )
  return {...response, issued_token_type: TOKEN_TYPE_ACCESS_TOKEN}
}

/** `subject_token_type` / `actor_token_type`: required with their token, and only the access-token type. */
function checkTokenType(type: string | undefined, name: string, token: string): void {
  if (type === undefined)
    throw invalidRequest(`The ${name} parameter is missing; send ${name}=${TOKEN_TYPE_ACCESS_TOKEN} with the ${token}.`)
  if (type !== TOKEN_TYPE_ACCESS_TOKEN) {
    throw invalidRequest(
      `${name} ${type} is not supported: the ${token} must be an access token issued by this authority (${TOKEN_TYPE_ACCESS_TOKEN}).`,
    )
  }
}

/** An access token this authority issued, verified, unexpired and unrevoked; otherwise `invalid_request` saying why. */
async function verifyPresented(
  authority: Authority,
  token: string,
  name: string,
  now: number,
): Promise<VerifiedAccessToken> {
  try {
    // A DPoP-bound subject token is exchanged without its proof: the exchanging client authenticates itself.
    return await verifyAccessToken(token, {authority, now, ignoreDpopBinding: true})
  } catch (error) {
    if (error instanceof InvalidTokenError) throw invalidRequest(`The ${name} is not acceptable: ${error.message}`)
    throw error
  }
}

/**
 * `resource` (RFC 8707: registered resources) and `audience` (client ids of this authority or
 * registered resources), each repeatable (RFC 8693 §2.1): together the new token's `aud`; none →
 * the exchanging client's id. Anything else is `invalid_target`.
 */
function readTargets(authority: Authority, params: GrantParams): string[] {
  const registry = authority.config.resources
  const resources = validateResources(registry, params.all('resource'))
  const audiences = [...new Set(params.all('audience'))]
  for (const audience of audiences) {
    if (Object.hasOwn(registry, audience)) continue
    const target = authority.store.clients.find(audience)
    if (target && target.source !== 'internal') continue
    throw new OAuthError(
      'invalid_target',
      `audience ${audience} is neither a client id of this authority nor a registered resource.`,
    )
  }
  return [...new Set([...resources, ...audiences])]
}

/**
 * The new token's scopes: those asked for, each granted by the subject token, allowed to the
 * exchanging client and by each registered resource among the targets (`invalid_scope`
 * otherwise); without `scope`, the subject token's scopes that pass those checks.
 */
function exchangedScopes(
  authority: Authority,
  client: GrantInput['client'],
  subject: VerifiedAccessToken,
  params: GrantParams,
  targets: readonly string[],
): string[] {
  const known = knownScopes(authority.config)
  const registry = authority.config.resources
  const resources = targets.filter((target) => Object.hasOwn(registry, target))
  const asked = parseScope(params.get('scope'))
  if (asked.length === 0) {
    return subject.scopes.filter(
      (scope) =>
        scopeProblem([scope], client, known) === undefined &&
        resourceScopeProblem(registry, resources, [scope]) === undefined,
    )
  }
  const wider = asked.filter((scope) => !tokenCan(subject.scopes, scope))
  if (wider.length > 0) {
    throw invalidScope(
      `The subject_token was not granted ${wider.join(', ')}; an exchanged token may only keep or narrow its scope (granted: ${subject.scopes.join(' ') || 'none'}).`,
    )
  }
  const problem = scopeProblem(asked, client, known) ?? resourceScopeProblem(registry, resources, asked)
  if (problem) throw invalidScope(problem)
  return asked
}

/** RFC 8693 §4.1: the actor token's subject acts; an `act` already in the subject token nests under it. */
function actorClaim(actor: VerifiedAccessToken | undefined, subject: VerifiedAccessToken): ActorClaim | undefined {
  const previous = readActor(subject.claims.act)
  if (!actor) return previous
  return previous === undefined ? {sub: actor.claims.sub} : {sub: actor.claims.sub, act: previous}
}

function readActor(value: unknown): ActorClaim | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const {sub, act} = value as {sub?: unknown; act?: unknown}
  if (typeof sub !== 'string') return undefined
  const nested = readActor(act)
  return nested === undefined ? {sub} : {sub, act: nested}
}
