import {noteRequest} from '../../control/index.js'
import {GRANTS} from '../../core/grants/index.js'
import {type Grant} from '../../core/grants/types.js'
import {unauthorizedClient, unsupportedGrantType} from '../../errors.js'
import type {ClientRow} from '../../store/clients.js'
import {authenticateClient} from '../client-auth.js'
import type {RequestContext} from '../context.js'
import {assertDpopIfRequired, dpopNonceHeader, endpointDpopProof} from '../dpop.js'
import {NO_STORE, readParams, rfcText, sendJson, type Params} from '../http.js'

/** `POST {prefix}/token` (RFC 6749 §3.2, §5): one short list of named steps. */
export async function handleToken(ctx: RequestContext): Promise<void> {
  const params = await readParams(ctx.req)
  const {grantType, grant} = selectGrant(params)
  const {client} = await authenticateClient(ctx, params)
  noteRequest(ctx.req, {client: client.id, grant: grantType})
  assertGrantAllowed(client, grantType)
  const dpop = await endpointDpopProof(ctx, '/token', client)
  assertDpopIfRequired(ctx.authority.config, client, dpop)
  const response = await grant({authority: ctx.authority, client, params, ...(dpop ? {dpop} : {})})
  sendJson(ctx.res, 200, response, {...NO_STORE, ...dpopNonceHeader(ctx)})
}

/** `grant_type` missing → `invalid_request`; not one we serve → `unsupported_grant_type`. */
function selectGrant(params: Params): {grantType: string; grant: Grant} {
  const grantType = params.require('grant_type')
  const grant = GRANTS.get(grantType)
  if (!grant)
    throw unsupportedGrantType(
      `The grant_type "${rfcText(grantType, 80)}" is not supported; use one of: ${[...GRANTS.keys()].join(', ')}.`,
    )
  return {grantType, grant}
}

/** A grant the client was not registered for → `unauthorized_client`. */
function assertGrantAllowed(client: ClientRow, grantType: string): void {
  if (!client.grantTypes.includes(grantType)) {
    throw unauthorizedClient(
      `Client ${client.id} may not use the ${grantType} grant (allowed: ${client.grantTypes.join(', ') || 'none'}).`,
    )
  }
}
