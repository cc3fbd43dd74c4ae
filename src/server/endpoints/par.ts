import {pushAuthorizationRequest} from '../../core/par.js'
import {authenticateClient} from '../client-auth.js'
import type {RequestContext} from '../context.js'
import {dpopNonceHeader, endpointDpopProof} from '../dpop.js'
import {NO_STORE, readParams, sendJson} from '../http.js'

/**
 * `POST {prefix}/par` (RFC 9126 §2): authenticate the client as the token endpoint does, validate
 * the authorization parameters as `/authorize` does, store them, answer 201 with the request_uri.
 * A DPoP proof (RFC 9449 §10.1) binds the code to its key, as `dpop_jkt` would.
 */
export async function handlePushedAuthorizationRequest(ctx: RequestContext): Promise<void> {
  const params = await readParams(ctx.req)
  const {client} = await authenticateClient(ctx, params)
  const proof = await endpointDpopProof(ctx, '/par', client)
  const response = pushAuthorizationRequest(
    ctx.authority.store,
    ctx.authority.config,
    client,
    params,
    params.strings(),
    ctx.authority.clock.now(),
    proof?.jkt,
  )
  sendJson(ctx.res, 201, response, {...NO_STORE, ...dpopNonceHeader(ctx)})
}
