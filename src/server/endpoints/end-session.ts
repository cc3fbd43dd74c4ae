import {authorizationResponseUri} from '../../core/uris.js'
import {decideLogout, resolveLogout} from '../../core/logout.js'
import {csrfMatches} from '../browser.js'
import type {RequestContext} from '../context.js'
import {Params, readParams, redirect, sendHtml} from '../http.js'
import {respondCsrfFailure, respondError} from '../respond.js'
import {confirmLogoutPage, signedOutPage} from '../views/logout.js'

/**
 * `GET|POST {prefix}/end_session`: OpenID Connect RP-Initiated Logout 1.0. Ends the sign-in
 * session and sends the person to `post_logout_redirect_uri` (with `state`) when the request
 * names its client (`client_id`, or an `id_token_hint` signed by this authority) and the URI is
 * registered for it (see src/core/logout.ts). A `post_logout_redirect_uri` that cannot be
 * followed is a 400 `invalid_request` error page saying why, and nobody is signed out (§3: no
 * redirect, an error instead); without one the signed-out page shows.
 *
 * When someone is signed in and no valid `id_token_hint` for that user comes with the request,
 * the person confirms first (§2: a cross-site link alone must not sign anyone out), unless the
 * server runs with `--auto-approve`.
 */
export async function handleEndSession(ctx: RequestContext): Promise<void> {
  const post = ctx.req.method === 'POST'
  const params = post ? await readParams(ctx.req) : Params.fromSearch(ctx.url.searchParams)
  let fields: {
    id_token_hint?: string
    client_id?: string
    post_logout_redirect_uri?: string
    state?: string
    confirm?: string
    csrf?: string
  }
  try {
    fields = {}
    for (const name of [
      'id_token_hint',
      'client_id',
      'post_logout_redirect_uri',
      'state',
      'confirm',
      'csrf',
    ] as const) {
      const value = params.get(name)
      if (value !== undefined) fields[name] = value
    }
  } catch (error) {
    respondError(ctx, 400, {
      error: 'invalid_request',
      title: 'Invalid sign-out request',
      message: (error as Error).message,
      fix: 'Send each parameter once.',
    })
    return
  }

  const authority = ctx.authority
  const resolved = await resolveLogout(authority.store, authority.issuer, await authority.signingKeys(), {
    ...(fields.id_token_hint === undefined ? {} : {idTokenHint: fields.id_token_hint}),
    ...(fields.client_id === undefined ? {} : {clientId: fields.client_id}),
    ...(fields.post_logout_redirect_uri === undefined ? {} : {postLogoutRedirectUri: fields.post_logout_redirect_uri}),
  })

  const session = ctx.sessions.find(ctx.req)
  const user = session?.userId
  const outcome = decideLogout(
    resolved,
    // Only the posted confirmation form confirms: a link (GET) with confirm=1 must not.
    {postLogoutRedirectUri: fields.post_logout_redirect_uri, confirmation: post && fields.confirm !== undefined},
    user,
    {autoApprove: ctx.options.autoApprove},
  )
  if (outcome.kind === 'refused') {
    respondError(ctx, 400, {error: 'invalid_request', ...outcome, user})
    return
  }
  if (outcome.kind === 'confirm') {
    const page = confirmLogoutPage({
      action: `${ctx.options.prefix}/end_session`,
      csrf: session!.csrf,
      user: outcome.user,
      ...(resolved.client ? {client: {id: resolved.client.id, name: resolved.client.name}} : {}),
      fields: {
        id_token_hint: fields.id_token_hint,
        client_id: fields.client_id,
        post_logout_redirect_uri: fields.post_logout_redirect_uri,
        state: fields.state,
      },
    })
    sendHtml(ctx.res, 200, page)
    return
  }
  if (outcome.confirmed && !csrfMatches(session, fields.csrf)) {
    respondCsrfFailure(ctx, session)
    return
  }

  const headers: Record<string, string> = {}
  if (session) {
    ctx.sessions.destroy(session)
    headers['Set-Cookie'] = ctx.sessions.clearCookie(ctx.authority.issuer.startsWith('https:'))
  }
  if (outcome.redirectUri !== undefined) {
    redirect(ctx.res, authorizationResponseUri(outcome.redirectUri, {state: fields.state}), post ? 303 : 302, headers)
    return
  }
  sendHtml(
    ctx.res,
    200,
    signedOutPage({
      ...(user === undefined ? {} : {user}),
      ...(resolved.problem === undefined ? {} : {problem: resolved.problem}),
    }),
    headers,
  )
}
