import type {PassportConfig} from '../core/config.js'
import {DpopNonces, invalidDpopProof, verifyDpopProof, type VerifiedDpopProof} from '../core/dpop.js'
import type {ClientRow} from '../store/clients.js'
import type {RequestContext, ServerOptions} from './context.js'
import {onePer} from '../core/memo.js'

/** Server nonces (`serve --dpop-nonce`), one source per running server. */
const nonceSourceOf = onePer((_options: ServerOptions) => new DpopNonces())

export function dpopNoncesOf(options: ServerOptions): DpopNonces | undefined {
  return options.dpopNonce ? nonceSourceOf(options) : undefined
}

/**
 * The DPoP proof of a request to an authorization-server endpoint (token, PAR), verified against
 * that endpoint's URL; undefined when the request has no `DPoP` header. Its jti counts against
 * the (authenticated) client's share of the replay cache. Throws `invalid_dpop_proof` or
 * `use_dpop_nonce`.
 */
export async function endpointDpopProof(
  ctx: RequestContext,
  path: string,
  client: Pick<ClientRow, 'id'>,
): Promise<VerifiedDpopProof | undefined> {
  const header = ctx.req.headers.dpop
  if (header === undefined) return undefined
  const nonces = dpopNoncesOf(ctx.options)
  return verifyDpopProof(header, {
    method: ctx.req.method ?? 'POST',
    url: ctx.endpoint(path),
    now: ctx.authority.clock.now(),
    replay: ctx.authority.dpopReplay,
    client: client.id,
    ...(nonces ? {nonces} : {}),
  })
}

/** The `DPoP-Nonce` header a response carries when the server demands nonces (RFC 9449 §8.2). */
export function dpopNonceHeader(ctx: RequestContext): Record<string, string> {
  const nonces = dpopNoncesOf(ctx.options)
  return nonces ? {'DPoP-Nonce': nonces.current(ctx.authority.clock.now())} : {}
}

/** The configured clients with `requireDpop`, per configuration. */
const requiringDpop = onePer(
  (config: PassportConfig) => new Set(config.clients.filter((c) => c.requireDpop).map((c) => c.id)),
)

/** A configured client with `requireDpop` gets no bearer tokens: its token requests need a proof. */
export function assertDpopIfRequired(
  config: PassportConfig,
  client: Pick<ClientRow, 'id'>,
  proof: VerifiedDpopProof | undefined,
): void {
  if (proof !== undefined) return
  if (requiringDpop(config).has(client.id))
    throw invalidDpopProof(
      `Client ${client.id} requires DPoP-bound tokens (requireDpop): send a DPoP proof with the token request.`,
    )
}
