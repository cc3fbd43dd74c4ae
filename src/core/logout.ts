import {errors as joseErrors, jwtVerify} from 'jose'

import {publishedKeyResolver, SIGNING_ALGORITHMS, type SigningKeys} from './keys.js'
import type {ClientRow} from '../store/clients.js'
import type {Store} from '../store/index.js'

/**
 * OpenID Connect RP-Initiated Logout 1.0: who asks (`client_id`, or the audience of an
 * `id_token_hint` signed by this authority) and where the person may be sent afterwards.
 *
 * A `post_logout_redirect_uri` is followed only when it is, character for character, one of the
 * client's `postLogoutRedirectUris` or one of its redirect URIs (RP-Initiated Logout §3: "MUST
 * NOT perform post-logout redirection if the value does not exactly match"). No origin or
 * loopback-port leniency: that made `end_session` an open redirect (issue 18 finding 6).
 */

export interface LogoutRequestInput {
  idTokenHint?: string
  clientId?: string
  postLogoutRedirectUri?: string
}

export interface ResolvedLogout {
  /** The client the request is from, when it could be identified. */
  client?: ClientRow
  /** The subject of a valid `id_token_hint`. */
  hintSubject?: string
  /** Where to redirect after signing out; undefined → show the signed-out page. */
  redirectUri?: string
  /** Why a `post_logout_redirect_uri` or `id_token_hint` was not accepted (one sentence, for the error or signed-out page). */
  problem?: string
}

/**
 * What an `end_session` request leads to, once {@link resolveLogout} has read it:
 * - `refused`: a `post_logout_redirect_uri` that cannot be followed is an error page, and nobody
 *   is signed out (RP-Initiated Logout §3: no redirect, an error instead);
 * - `confirm`: `user` is signed in and no valid `id_token_hint` for that user came with the
 *   request, so the person confirms first (§2: a cross-site link alone must not sign anyone out);
 * - `sign-out`: end the session, then redirect to `redirectUri` or show the signed-out page.
 *   `confirmed`: it was the person's confirmation that allowed it (the confirmation form's CSRF
 *   token must then match the session's).
 */
export type LogoutOutcome =
  | {kind: 'refused'; title: string; message: string; fix: string}
  | {kind: 'confirm'; user: string}
  | {kind: 'sign-out'; redirectUri?: string; confirmed: boolean}

/**
 * Decides a logout request: `requested` is what it asked (`postLogoutRedirectUri`) and whether it
 * is the posted confirmation form; `signedIn` the user of the browser's session; `autoApprove`
 * (`serve --auto-approve`) signs out without asking.
 */
export function decideLogout(
  resolved: ResolvedLogout,
  requested: {postLogoutRedirectUri?: string | undefined; confirmation: boolean},
  signedIn: string | undefined,
  options: {autoApprove?: boolean | undefined},
): LogoutOutcome {
  if (requested.postLogoutRedirectUri !== undefined && resolved.redirectUri === undefined) {
    return {
      kind: 'refused',
      title: 'Sign-out refused',
      message: resolved.problem ?? 'The post_logout_redirect_uri cannot be followed.',
      fix: 'Nobody was signed out. Send a post_logout_redirect_uri registered for the client, with its client_id or an id_token_hint, or none to see the signed-out page; register one with passport client NAME --post-logout-redirect-uri URI, postLogoutRedirectUris in the configuration or post_logout_redirect_uris at registration.',
    }
  }
  const mustConfirm = signedIn !== undefined && resolved.hintSubject !== signedIn && !options.autoApprove
  if (mustConfirm && !requested.confirmation) return {kind: 'confirm', user: signedIn}
  return {
    kind: 'sign-out',
    ...(resolved.redirectUri === undefined ? {} : {redirectUri: resolved.redirectUri}),
    confirmed: mustConfirm,
  }
}

/** Decides the client and the post-logout redirect of a logout request. Never throws for bad input. */
export async function resolveLogout(
  store: Store,
  issuer: string,
  keys: SigningKeys,
  input: LogoutRequestInput,
): Promise<ResolvedLogout> {
  const result: ResolvedLogout = {}
  let hintClientIds: string[] | undefined
  if (input.idTokenHint !== undefined) {
    const verified = await verifyIdTokenHint(input.idTokenHint, issuer, keys)
    if ('problem' in verified) {
      result.problem = verified.problem
      return result
    }
    result.hintSubject = verified.sub
    hintClientIds = verified.audience
  }
  let clientId = input.clientId
  if (clientId !== undefined && hintClientIds !== undefined && !hintClientIds.includes(clientId)) {
    result.problem = `client_id ${clientId} is not the audience of the id_token_hint.`
    return result
  }
  clientId ??= hintClientIds?.length === 1 ? hintClientIds[0] : undefined
  if (clientId !== undefined) {
    const client = store.clients.find(clientId)
    if (client) result.client = client
    else {
      result.problem = `No client with id ${clientId}.`
      return result
    }
  }
  const uri = input.postLogoutRedirectUri
  if (uri === undefined) return result
  if (!result.client) {
    result.problem =
      'A post_logout_redirect_uri is only followed when the request names its client (client_id or id_token_hint).'
    return result
  }
  if (postLogoutRedirectUriAllowed(result.client, uri)) result.redirectUri = uri
  else {
    const registered = registeredPostLogoutUris(result.client)
    result.problem = `post_logout_redirect_uri ${uri} is not registered for client ${result.client.id}: it must be exactly one of its postLogoutRedirectUris or redirect URIs (${registered.join(', ') || 'none'}).`
  }
  return result
}

/** Is `uri` exactly a registered post-logout redirect URI of `client` (see the module comment)? */
export function postLogoutRedirectUriAllowed(
  client: Pick<ClientRow, 'redirectUris' | 'postLogoutRedirectUris'>,
  uri: string,
): boolean {
  return registeredPostLogoutUris(client).includes(uri)
}

function registeredPostLogoutUris(client: Pick<ClientRow, 'redirectUris' | 'postLogoutRedirectUris'>): string[] {
  return [...new Set([...(client.postLogoutRedirectUris ?? []), ...client.redirectUris])]
}

/**
 * An `id_token_hint`: an id token (`typ: JWT`) signed by one of this authority's published
 * keys, naming this issuer. It may have expired (RP-Initiated Logout §2: the OP should accept
 * hints whose `exp` has passed). Access tokens (`at+jwt`) are not id tokens.
 */
async function verifyIdTokenHint(
  token: string,
  issuer: string,
  keys: SigningKeys,
): Promise<{sub: string; audience: string[]} | {problem: string}> {
  try {
    const {payload} = await jwtVerify(token, publishedKeyResolver(keys.publicKeys), {
      issuer,
      algorithms: [...SIGNING_ALGORITHMS],
      typ: 'JWT',
      requiredClaims: ['sub', 'aud'],
      clockTolerance: Number.MAX_SAFE_INTEGER,
    })
    const audience = typeof payload.aud === 'string' ? [payload.aud] : payload.aud!
    // With several audiences the authorized party is the client (OIDC Core §2).
    const clients = audience.length > 1 && typeof payload.azp === 'string' ? [payload.azp] : audience
    return {sub: payload.sub!, audience: clients}
  } catch (error) {
    if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'typ')
      return {problem: 'The id_token_hint is not an id token (its typ is not JWT).'}
    if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'iss')
      return {problem: `The id_token_hint was not issued by ${issuer}.`}
    return {problem: 'The id_token_hint is not an id token signed by this authority.'}
  }
}
