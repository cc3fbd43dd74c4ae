import {noteRequest} from '../../control/index.js'
import {revokeToken} from '../../core/revocation.js'
import {authenticateClient} from '../client-auth.js'
import type {RequestContext} from '../context.js'
import {NO_STORE, readParams} from '../http.js'

/**
 * `POST {prefix}/revoke` (RFC 7009): revokes the calling client's access or refresh token (a
 * refresh token with its whole family). Unknown, garbage, already revoked or another client's
 * tokens are answered 200 as well, so nothing can be probed; `token_type_hint` is not needed to
 * find the token and is ignored. A storage failure reaches the error funnel (503), never 200.
 */
export async function handleRevoke(ctx: RequestContext): Promise<void> {
  const params = await readParams(ctx.req)
  const {client} = await authenticateClient(ctx, params)
  noteRequest(ctx.req, {client: client.id})
  const token = params.require('token')
  params.get('token_type_hint') // read only so that a repeated hint is refused; the lookup does not need it
  revokeToken(ctx.authority.store, token, {clientId: client.id, now: ctx.authority.clock.now()})
  ctx.res.writeHead(200, {...NO_STORE, 'Content-Length': 0})
  ctx.res.end()
}
