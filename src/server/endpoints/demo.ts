import {decodeJwt, decodeProtectedHeader} from 'jose'

import {DEMO_CLIENT_ID, internalClient} from '../../core/clients.js'
import {randomToken, s256} from '../../core/crypto.js'
import {OAuthError} from '../../errors.js'
import {authorizationCodeGrant} from '../../core/grants/authorization-code.js'
import {ensureSession} from '../browser.js'
import type {RequestContext} from '../context.js'
import {isLoopbackPeer} from '../peer.js'
import {Params, redirect, sendHtml} from '../http.js'
import {respondError} from '../respond.js'
import {type DecodedJwt, demoResultPage} from '../views/demo.js'

/**
 * The dashboard's "try it": a real authorization code + PKCE flow by the built-in public client
 * `__demo__` (redirect URI `{issuer}/demo/callback`, registered on first use).
 *
 * `GET /demo/start` keeps state, nonce and the PKCE verifier in the session and redirects to the
 * authorization endpoint. `GET /demo/callback` checks state and iss, redeems the code in-process
 * through the same grant function as `POST /token`, and shows the tokens decoded (never raw, and
 * the demo client gets no refresh token).
 */

const FLOW_TTL = 10 * 60_000
const DEMO_SCOPE = 'openid profile email'

/** Why the demo cannot run on this server, or undefined. */
export function demoUnavailable(ctx: Pick<RequestContext, 'options'>): string | undefined {
  const missing = (['authorize', 'token'] as const).filter((group) => ctx.options.except.includes(group))
  if (missing.length === 0) return undefined
  return `"Try it" needs the ${missing.join(' and ')} route${missing.length > 1 ? 's' : ''}, which this server drops (--except ${missing.join(',')}).`
}

export function demoRedirectUri(ctx: Pick<RequestContext, 'authority'>): string {
  return `${ctx.authority.issuer}/demo/callback`
}

export function handleDemoStart(ctx: RequestContext): void {
  if (!isLoopbackPeer(ctx.req)) {
    respondError(ctx, 403, {
      error: 'unauthorized_client',
      title: 'Demo is local only',
      message: `The dashboard's "Try it" (client ${DEMO_CLIENT_ID}) works only from this machine.`,
      fix: 'Open the dashboard on the machine passport runs on.',
    })
    return
  }
  const unavailable = demoUnavailable(ctx)
  if (unavailable) {
    respondError(ctx, 404, {
      error: 'invalid_request',
      title: 'Demo unavailable',
      message: unavailable,
      fix: 'Start passport serve without those --except groups to try the flow.',
    })
    return
  }
  const redirectUri = demoRedirectUri(ctx)
  internalClient(ctx.authority.store, DEMO_CLIENT_ID, ctx.authority.clock.now(), redirectUri)
  const {session, headers} = ensureSession(ctx)
  const flow = {
    state: randomToken(16),
    nonce: randomToken(16),
    verifier: randomToken(32),
    expiresAt: ctx.authority.clock.now() + FLOW_TTL,
  }
  session.demo = flow
  ctx.sessions.keep(session)
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: DEMO_CLIENT_ID,
    redirect_uri: redirectUri,
    scope: DEMO_SCOPE,
    state: flow.state,
    nonce: flow.nonce,
    code_challenge: s256(flow.verifier),
    code_challenge_method: 'S256',
  })
  redirect(ctx.res, `${ctx.options.prefix}/authorize?${query.toString()}`, 302, headers)
}

export async function handleDemoCallback(ctx: RequestContext): Promise<void> {
  const session = ctx.sessions.find(ctx.req)
  const flow = session?.demo
  const user = session?.userId
  const fail = (
    status: number,
    title: string,
    message: string,
    fix = 'Start again from the dashboard’s “Try it” button.',
  ) => respondError(ctx, status, {error: 'invalid_request', title, message, fix, ...(user ? {user} : {})})

  let params: Record<string, string | undefined>
  try {
    const search = Params.fromSearch(ctx.url.searchParams)
    params = Object.fromEntries(
      ['code', 'state', 'iss', 'error', 'error_description'].map((name) => [name, search.get(name)]),
    )
  } catch (error) {
    fail(400, 'Invalid demo callback', (error as Error).message)
    return
  }
  if (!session || !flow || flow.expiresAt <= ctx.authority.clock.now()) {
    fail(
      400,
      'No demo flow in progress',
      'This browser session has no “Try it” flow waiting for an answer: it was already completed, it expired, or the server restarted.',
    )
    return
  }
  if (params.state !== flow.state) {
    fail(
      400,
      'Demo state mismatch',
      'The state parameter does not match the one this session sent, so the answer is not for this flow (RFC 6749 §10.12).',
    )
    return
  }
  delete session.demo
  if (params.iss !== ctx.authority.issuer) {
    fail(
      400,
      'Demo issuer mismatch',
      `The iss parameter is ${params.iss ?? 'missing'}, not this server's issuer ${ctx.authority.issuer} (RFC 9207).`,
    )
    return
  }
  if (params.error !== undefined) {
    const denied = params.error === 'access_denied'
    fail(
      denied ? 403 : 400,
      denied ? 'You denied the demo client' : 'The demo authorization failed',
      `The authorization server answered ${params.error}${params.error_description ? `: ${params.error_description}` : '.'}`,
      denied ? 'That is the deny path working. Use “Try it” again and choose Approve to see the tokens.' : undefined,
    )
    return
  }
  if (params.code === undefined) {
    fail(400, 'Invalid demo callback', 'The callback has neither a code nor an error.')
    return
  }
  const client = ctx.authority.store.clients.find(DEMO_CLIENT_ID)
  if (!client) {
    fail(400, 'Demo client missing', `The internal client ${DEMO_CLIENT_ID} was deleted during the flow.`)
    return
  }
  let response
  try {
    response = await authorizationCodeGrant({
      authority: ctx.authority,
      client,
      params: Params.fromObject({code: params.code, redirect_uri: demoRedirectUri(ctx), code_verifier: flow.verifier}),
    })
  } catch (error) {
    if (error instanceof OAuthError) {
      fail(400, 'Code exchange failed', `The token request was refused: ${error.code} — ${error.message}`)
      return
    }
    throw error
  }
  const idToken = response.id_token === undefined ? undefined : decode(response.id_token)
  sendHtml(
    ctx.res,
    200,
    demoResultPage({
      user: String(decodeJwt(response.access_token).sub ?? user ?? ''),
      tokenType: response.token_type,
      expiresIn: response.expires_in,
      scope: response.scope,
      accessToken: decode(response.access_token),
      ...(idToken ? {idToken, nonceMatches: idToken.payload.nonce === flow.nonce} : {}),
    }),
  )
}

function decode(jwt: string): DecodedJwt {
  return {header: decodeProtectedHeader(jwt), payload: decodeJwt(jwt)}
}
