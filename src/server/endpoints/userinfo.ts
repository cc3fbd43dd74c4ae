import {userClaims} from '../../core/claims.js'
import type {Authority} from '../../core/authority.js'
import {type BearerGuard, bearerGuard, sendBearerError} from '../bearer.js'
import type {RequestContext} from '../context.js'
import {NO_STORE, sendJson} from '../http.js'
import {onePer} from '../../core/memo.js'

/**
 * `GET|POST {prefix}/userinfo` (OpenID Connect Core §5.3): the claims of the token's user that
 * its scopes release. Needs `openid` and a user: a client-credentials token has none (the
 * database row says so, whatever its `sub`), and is refused with `insufficient_scope`.
 */
export async function handleUserinfo(ctx: RequestContext): Promise<void> {
  const verified = await guardOf(ctx.authority)(ctx.req, ctx.res)
  if (!verified) return
  if (verified.userId === null) {
    sendBearerError(
      ctx.res,
      403,
      'passport',
      'insufficient_scope',
      'The token was issued to a client for itself (client credentials) and has no user.',
      ['openid'],
    )
    return
  }
  sendJson(
    ctx.res,
    200,
    {
      ...userClaims(
        ctx.authority.config,
        verified.userId,
        verified.scopes,
        ctx.authority.loginClaims.get(verified.record?.familyId),
      ),
      sub: verified.userId,
    },
    {...NO_STORE},
  )
}

/** One guard per authority: any audience (the authority's own tokens), and the body is this endpoint's to read. */
const guardOf = onePer((authority: Authority): BearerGuard =>
  bearerGuard(
    {
      authority,
      scopes: ['openid'],
      ownsBody: true,
      requestUrl: (req) => `${authority.issuer}${(req.url ?? '/').split(/[?#]/)[0]!}`,
    },
    'userinfo',
  ),
)
