import {csrfMatches, presentedCsrf} from './browser.js'
import type {RequestContext} from './context.js'
import {readParams, type Params} from './http.js'
import {respondCsrfFailure} from './respond.js'
import type {Session} from './session.js'

/**
 * The fields of a browser POST (sign-in, sign-out, consent, device approval) and the session they
 * act for, once the CSRF token they carry (the `csrf` field, or `X-CSRF-Token` for JSON callers)
 * matches the session's. Otherwise answers 403 and returns undefined: nothing was changed.
 */
export async function readCheckedPost(ctx: RequestContext): Promise<{params: Params; session: Session} | undefined> {
  const params = await readParams(ctx.req)
  const session = ctx.sessions.fromCookie(ctx.req)
  if (
    !csrfMatches(
      session,
      presentedCsrf(ctx, () => params.get('csrf')),
    )
  ) {
    respondCsrfFailure(ctx, session)
    return undefined
  }
  return {params, session}
}
