import {pushAuthorizationRequest} from '../../core/par.js'
import {authenticateClient} from '../client-auth.js'
import type {RequestContext} from '../context.js'
import {NO_STORE, readParams, sendJson} from '../http.js'

/**
 * `POST {prefix}/par` (RFC 9126 §2): authenticate the client as the token endpoint does, validate
 * the authorization parameters as `/authorize` does, store them, answer 201 with the request_uri.
 */
export async function handlePushedAuthorizationRequest(ctx: RequestContext): Promise<void> {
  const params = await readParams(ctx.req)
  const {client} = await authenticateClient(ctx, params)
  const response = pushAuthorizationRequest(ctx.authority.store, ctx.authority.config, client, params, params.strings(), ctx.authority.clock.now())
  sendJson(ctx.res, 201, response, {...NO_STORE})
}
