import {authorizationResponseUri} from '../../core/uris.js'
import {resolveLogout} from '../../core/logout.js'
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
  if (fields.post_logout_redirect_uri !== undefined && resolved.redirectUri === undefined) {
    respondError(ctx, 400, {
      error: 'invalid_request',
      title: 'Sign-out refused',
      message: resolved.problem ?? 'The post_logout_redirect_uri cannot be followed.',
      fix: 'Nobody was signed out. Send a post_logout_redirect_uri registered for the client, with its client_id or an id_token_hint, or none to see the signed-out page; register one with passport client NAME --post-logout-redirect-uri URI, postLogoutRedirectUris in the configuration or post_logout_redirect_uris at registration.',
      user,
    })
    return
  }
  if (session && user !== undefined && resolved.hintSubject !== user && !ctx.options.autoApprove) {
    if (post && fields.confirm !== undefined) {
      if (!csrfMatches(session, fields.csrf)) {
        respondCsrfFailure(ctx, session)
        return
      }
    } else {
      const page = confirmLogoutPage({
        action: `${ctx.options.prefix}/end_session`,
        csrf: session.csrf,
        user,
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
  }

  const headers: Record<string, string> = {}
  if (session) {
    ctx.sessions.destroy(session)
    headers['Set-Cookie'] = ctx.sessions.clearCookie(ctx.authority.issuer.startsWith('https:'))
  }
  if (resolved.redirectUri !== undefined) {
    redirect(ctx.res, authorizationResponseUri(resolved.redirectUri, {state: fields.state}), post ? 303 : 302, headers)
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
