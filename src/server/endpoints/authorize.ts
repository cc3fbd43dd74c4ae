import {
  type AuthorizationRequest,
  AuthorizationPageError,
  AuthorizationRedirectError,
} from '../../core/authorization/request.js'
import {type ConsentAnswer, decideConsent, type InvalidAuthorizationRequest} from '../../core/authorization/consent.js'
import {decideAuthorization, rememberConsent, signSessionIn} from '../../core/authorization/interaction.js'
import {createAuthorizationCode} from '../../core/codes.js'
import {knownScopes} from '../../core/config.js'
import {
  looksLikeMetadataDocumentUrl,
  MetadataDocumentCache,
  MetadataDocumentError,
  resolveMetadataDocumentClient,
} from '../../core/metadata-documents.js'
import {readAuthorizationRequest, type ReadAuthorizationRequest, usePushedRequest} from '../../core/par.js'
import {cspAllowingRedirect, currentPath, ensureSession, formDecision} from '../browser.js'
import {readCheckedPost} from '../checked-post.js'
import type {RequestContext} from '../context.js'
import {isLoopbackPeer} from '../peer.js'
import {PAGE_HEADERS, Params} from '../http.js'
import {respond, respondError, respondSignIn, respondToClient} from '../respond.js'
import type {Session} from '../session.js'
import {consentPage} from '../views/consent.js'
import {loginClaimsOf} from './login.js'
import {onePer} from '../../core/memo.js'

/**
 * `GET {prefix}/authorize` (RFC 6749 §4.1.1) and `POST {prefix}/authorize` (the consent decision).
 *
 * Steps of a GET: parse and validate the request (client and redirect URI first: their errors are
 * a page, later errors go back to the client); decide (core/authorization/interaction.ts: sign-in,
 * consent, issue or an error); carry it out (issue the code, or keep the validated request
 * server-side under a random id for the consent page); respond (server/respond.ts).
 */

export async function handleAuthorize(ctx: RequestContext): Promise<void> {
  if (!(await resolveMetadataDocument(ctx))) return
  const read = validateOrAnswer(ctx, Params.fromSearch(ctx.url.searchParams), 302)
  if (!read) return
  const {request} = read
  const now = ctx.authority.clock.now()
  const session = ctx.sessions.find(ctx.req)
  // Back from the sign-in form at exactly this URL: that sign-in satisfies prompt=login and max_age, once.
  const justSignedIn = session?.signedInFor !== undefined && session.signedInFor === currentPath(ctx)
  if (justSignedIn) delete session.signedInFor
  const outcome = decideAuthorization(
    request,
    session && {...session, justSignedIn},
    {loginAs: ctx.options.loginAs, autoApprove: ctx.options.autoApprove, loopback: isLoopbackPeer(ctx.req)},
    now,
  )

  if (outcome.kind === 'page-error') {
    respondError(ctx, outcome.status, outcome)
    return
  }
  if (outcome.kind === 'sign-in') {
    respondSignIn(ctx, outcome)
    return
  }
  // --login-as signs in again without a page: a stored session of the same user records when.
  const signIn = outcome.signIn
  if (signIn !== undefined && session?.userId === signIn.user) signSessionIn(session, signIn.user, signIn.authTime)
  // A pushed request (request_uri) is used once, by the first answer that is not a sign-in page.
  if (!claimPushed(ctx, read)) return
  if (outcome.kind === 'redirect-error') {
    respondToClient(ctx, request, outcome, 302)
    return
  }
  const {user, authTime} = outcome.signIn
  if (outcome.kind === 'issue') {
    respondToClient(ctx, request, {code: issueCode(ctx, request, user, authTime)}, 302)
    return
  }

  // The waiting request is bound to this browser's session id; a session is stored only when it
  // already was (with --login-as nothing else needs remembering until the user approves).
  const {session: current, headers} = ensureSession(ctx)
  // --login-as (or its login_hint) signs this session in as `user`.
  if (ctx.sessions.isStored(current)) signSessionIn(current, user, authTime)
  const pending = ctx.sessions.addPending(current, request, user, now)
  const scopes = describeScopes(ctx, request.scopes)
  respond(ctx, {
    json: () => ({
      status: 200,
      body: {
        client: {id: request.client.id, name: request.client.name},
        scopes,
        redirect_uri: request.redirectUri,
        state: request.state ?? null,
        request_id: pending.id,
        csrf_token: current.csrf,
      },
      headers,
    }),
    html: () => ({
      status: 200,
      page: consentPage({
        action: `${ctx.options.prefix}/authorize`,
        csrf: current.csrf,
        requestId: pending.id,
        user,
        client: {
          id: request.client.id,
          name: request.client.name,
          ...(request.client.source === 'metadata' ? {host: new URL(request.client.id).host} : {}),
        },
        scopes,
        redirectUri: request.redirectUri,
        switchUser:
          ctx.options.loginAs === undefined
            ? {action: `${ctx.options.prefix}/logout`, returnTo: currentPath(ctx)}
            : undefined,
      }),
      headers: {
        ...headers,
        'Content-Security-Policy': cspAllowingRedirect(PAGE_HEADERS['Content-Security-Policy'], request.redirectUri),
      },
    }),
  })
}

/**
 * The consent decision. Form: `request_id`, `action=approve|deny`, `csrf`. JSON (the seed's API):
 * `{request_id, approved: true|false}` with the CSRF token as `csrf` or an `X-CSRF-Token` header;
 * instead of `request_id` the original authorization parameters may be sent again (they are
 * validated afresh). Always needs the session cookie of a signed-in user.
 *
 * Steps: read the answer and the request it names (nothing used up yet); decide
 * (core/authorization/consent.ts); carry it out (use up the waiting or pushed request, sign the
 * session in, remember the consent, issue the code); respond.
 */
export async function handleAuthorizeDecision(ctx: RequestContext): Promise<void> {
  const post = await readCheckedPost(ctx)
  if (!post) return
  const {params, session} = post
  const answer = readConsentAnswer(ctx, session, params)
  const now = ctx.authority.clock.now()
  const outcome = decideConsent(answer, session, {loginAs: ctx.options.loginAs}, now)

  if (outcome.kind === 'refused') {
    respondError(ctx, outcome.status, outcome)
    return
  }
  if (outcome.kind === 'invalid-request') {
    respondInvalidRequest(ctx, outcome.error, 303)
    return
  }
  // Any other outcome answers the request: it is used up, waiting or pushed.
  if (!('problem' in answer) && !useUpAnsweredRequest(ctx, session, answer.about)) return
  if (outcome.kind === 'request-gone') {
    respondError(ctx, outcome.status, outcome)
    return
  }
  if (outcome.kind === 'redirect-error') {
    respondToClient(ctx, outcome.request, outcome, 303)
    return
  }
  if (outcome.signIn !== undefined) {
    signSessionIn(session, outcome.signIn.user, outcome.signIn.authTime)
    ctx.sessions.keep(session)
  }
  rememberConsent(session, outcome.request.client.id, outcome.request.scopes)
  respondToClient(ctx, outcome.request, {code: issueCode(ctx, outcome.request, outcome.user, outcome.authTime)}, 303)
}

/**
 * The consent answer and the request it is about: the waiting request `request_id` names (left
 * waiting, with its client read again), or the authorization parameters sent again, validated.
 */
function readConsentAnswer(ctx: RequestContext, session: Session, params: Params): ConsentAnswer {
  let approve: boolean | undefined
  let requestId: string | undefined
  try {
    approve = formDecision(params)
    requestId = params.get('request_id')
  } catch (error) {
    return {problem: (error as Error).message}
  }
  if (requestId === undefined) return {approve, about: {sent: readOrInvalid(ctx, params)}}
  const pending = ctx.sessions.findPending(session, requestId)
  const waiting = pending && {...pending, client: ctx.authority.store.clients.find(pending.request.clientId)}
  return {approve, about: {requestId, waiting}}
}

/** Uses up the request an answer was about; false when the pushed one was already used (and said so). */
function useUpAnsweredRequest(
  ctx: RequestContext,
  session: Session,
  about: Exclude<ConsentAnswer, {problem: string}>['about'],
): boolean {
  if ('requestId' in about) {
    ctx.sessions.takePending(session, about.requestId)
    return true
  }
  return 'invalid' in about.sent || claimPushed(ctx, about.sent)
}

/**
 * Validates (the parameters, or the pushed request a request_uri names), or answers the error
 * itself (a page, or a redirect to the client) and returns undefined.
 */
function validateOrAnswer(
  ctx: RequestContext,
  params: Params,
  status: 302 | 303,
): ReadAuthorizationRequest | undefined {
  const read = readOrInvalid(ctx, params)
  if (!('invalid' in read)) return read
  respondInvalidRequest(ctx, read.invalid, status)
  return undefined
}

/** The validated request (the parameters, or the pushed request a request_uri names), or why it is not valid. */
function readOrInvalid(ctx: RequestContext, params: Params): ReadAuthorizationRequest | InvalidAuthorizationRequest {
  try {
    return readAuthorizationRequest(ctx.authority.store, ctx.authority.config, params, {
      requirePar: ctx.options.requirePar === true,
      now: ctx.authority.clock.now(),
    })
  } catch (error) {
    if (error instanceof AuthorizationPageError || error instanceof AuthorizationRedirectError) return {invalid: error}
    throw error
  }
}

/** An invalid authorization request: a page when the client or redirect URI is not verified, else a redirect to the client. */
function respondInvalidRequest(
  ctx: RequestContext,
  error: AuthorizationPageError | AuthorizationRedirectError,
  status: 302 | 303,
): void {
  if (error instanceof AuthorizationPageError) {
    respondError(ctx, 400, {error: error.error, title: error.title, message: error.message, fix: error.fix})
    return
  }
  respondToClient(ctx, error, {error: error.error, description: error.description}, status)
}

const documentCacheOf = onePer((_authority: object) => new MetadataDocumentCache())

/**
 * A client_id that is an http(s) URL names a client ID metadata document (SPEC §10.4): fetch and
 * check it (cached), and store the client it describes before the request is validated. Any
 * failure is an error page naming the check, never a redirect. False when the page was sent.
 */
async function resolveMetadataDocument(ctx: RequestContext): Promise<boolean> {
  const {store, config} = ctx.authority
  if (!config.clientIdMetadataDocuments.enabled) return true
  const search = ctx.url.searchParams
  const clientIds = search.getAll('client_id')
  const clientId = clientIds[0]
  if (
    clientIds.length !== 1 ||
    clientId === undefined ||
    !looksLikeMetadataDocumentUrl(clientId) ||
    search.has('request_uri')
  )
    return true
  const known = store.clients.find(clientId)
  if (known && known.source !== 'metadata') return true
  const redirects = search.getAll('redirect_uri')
  const cache = documentCacheOf(ctx.authority)
  try {
    await resolveMetadataDocumentClient(
      store,
      config,
      cache,
      clientId,
      redirects.length === 1 && redirects[0] !== '' ? redirects[0] : undefined,
      ctx.authority.clock.now(),
    )
    return true
  } catch (error) {
    if (!(error instanceof MetadataDocumentError)) throw error
    respondError(
      ctx,
      error.status,
      {
        error: error.error,
        title: `Client ID metadata document refused (${error.check})`,
        message: error.message,
        fix:
          error.check === 'busy'
            ? 'passport limits how many documents it fetches at once; nothing is wrong with this one. Try again shortly.'
            : 'The client publishes this document; its developer must fix it. passport fetches it without redirects, within 5 seconds, at most 5 KB of JSON whose client_id is its own URL.',
      },
      error.headers,
    )
    return false
  }
}

/** Uses the pushed request once (RFC 9126 §4); when another answer already used it, says so and returns false. */
function claimPushed(ctx: RequestContext, read: ReadAuthorizationRequest): boolean {
  if (read.pushedId === undefined || usePushedRequest(ctx.authority.store, read.pushedId, ctx.authority.clock.now()))
    return true
  respondError(ctx, 400, {
    error: 'invalid_request_uri',
    title: 'Pushed authorization request not usable',
    message: 'The request_uri was already used (or expired just now); each one is good for one authorization request.',
    fix: 'Push the authorization request again and use the new request_uri within 60 seconds, once.',
  })
  return false
}

/** Issues the code (RFC 6749 §4.1.2) for the authorization response. */
function issueCode(
  ctx: RequestContext,
  request: AuthorizationRequest,
  userId: string,
  authTime: number | null,
): string {
  const {code, row} = createAuthorizationCode(
    ctx.authority.store,
    {
      clientId: request.client.id,
      userId,
      scopes: request.scopes,
      redirectUri: request.redirectUriParam,
      codeChallenge: request.codeChallenge,
      codeChallengeMethod: request.codeChallengeMethod,
      nonce: request.nonce,
      resource: request.resources.length > 0 ? request.resources : null,
      dpopJkt: request.dpopJkt,
      authTime,
    },
    ctx.authority.config.authCodesExpireIn,
    ctx.authority.clock.now(),
  )
  ctx.authority.loginClaims.set(row.id, loginClaimsOf(ctx, userId))
  return code
}

function describeScopes(ctx: RequestContext, scopes: string[]): {id: string; description: string}[] {
  const known = knownScopes(ctx.authority.config)
  return scopes.map((id) => ({id, description: known[id] ?? id}))
}
