import {signRotatedSessionIn} from '../../core/authorization/interaction.js'
import {parseLoginClaimsText} from '../../core/login-claims.js'
import {subjectProblem} from '../../core/subjects.js'
import {cookieHeader, safeReturnTo} from '../browser.js'
import {readCheckedPost} from '../checked-post.js'
import type {RequestContext} from '../context.js'
import {redirect} from '../http.js'
import {sendSignInPage} from '../respond.js'

/**
 * The development sign-in: `POST {prefix}/login` with a subject (a configured user picked with
 * one click, or any typed subject) and the session's CSRF token; then back to where the person
 * came from. `POST {prefix}/logout` signs out.
 */

export async function handleLogin(ctx: RequestContext): Promise<void> {
  const post = await readCheckedPost(ctx)
  if (!post) return
  const {params, session} = post
  let returnTo: string | undefined
  let subject: string | undefined
  let claimsText: string | undefined
  let loginClaims: Record<string, unknown> | undefined
  try {
    returnTo = safeReturnTo(ctx, params.get('return_to'))
    subject = params.get('subject')
    claimsText = params.get('claims')
    loginClaims = parseLoginClaimsText(claimsText)
  } catch (error) {
    sendSignInPage(ctx, {
      status: 400,
      error: (error as Error).message,
      ...(returnTo === undefined ? {} : {returnTo}),
      ...(subject === undefined ? {} : {subject}),
      ...(claimsText === undefined ? {} : {claims: claimsText}),
    })
    return
  }
  const problem = subjectProblem(subject ?? '')
  if (problem || subject === undefined) {
    sendSignInPage(ctx, {
      status: 400,
      error: problem ?? 'Enter a subject.',
      returnTo: returnTo ?? `${ctx.options.prefix}/device`,
      ...(subject === undefined ? {} : {subject}),
    })
    return
  }
  const next = ctx.sessions.rotate(session)
  signRotatedSessionIn(session, next, subject, ctx.authority.clock.now())
  if (loginClaims !== undefined) next.loginClaims = loginClaims
  if (returnTo !== undefined) next.signedInFor = returnTo
  ctx.sessions.keep(next)
  redirect(ctx.res, returnTo ?? `${ctx.options.prefix}/device`, 303, cookieHeader(ctx, next))
}

/**
 * The claims added to a sign-in of `userId`: `--login-claim` for the `--login-as` subject, or
 * what the person entered on the sign-in page of this session.
 */
export function loginClaimsOf(ctx: RequestContext, userId: string): Record<string, unknown> | undefined {
  if (ctx.options.loginAs !== undefined && ctx.options.loginAs === userId && ctx.options.loginClaims !== undefined)
    return ctx.options.loginClaims
  const session = ctx.sessions.find(ctx.req)
  return session?.userId === userId ? session.loginClaims : undefined
}

export async function handleLogout(ctx: RequestContext): Promise<void> {
  const post = await readCheckedPost(ctx)
  if (!post) return
  const {params, session} = post
  let returnTo: string | undefined
  try {
    returnTo = safeReturnTo(ctx, params.get('return_to'))
  } catch {
    returnTo = undefined
  }
  const next = ctx.sessions.rotate(session)
  redirect(ctx.res, returnTo ?? `${ctx.options.prefix}/device`, 303, cookieHeader(ctx, next))
}
