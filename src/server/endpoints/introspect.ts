import {noteRequest} from '../../control/index.js'
import type {Authority} from '../../core/authority.js'
import {sha256} from '../../core/crypto.js'
import {InvalidTokenError} from '../../errors.js'
import {formatScope} from '../../core/scopes.js'
import {type PreparedVerification, prepareVerification} from '../../core/verify.js'
import type {ClientRow} from '../../store/clients.js'
import {authenticateClient, invalidClient} from '../client-auth.js'
import type {RequestContext} from '../context.js'
import {NO_STORE, readParams, sendJson} from '../http.js'
import {onePer} from '../../core/memo.js'

const INACTIVE = {active: false} as const

/**
 * `POST {prefix}/introspect` (RFC 7662). Only confidential clients may introspect (a public
 * client cannot keep the credential that would protect the answer). A token is active only if
 * the database knows it, it is neither revoked nor expired, and it belongs to the caller (issued
 * to it, or an access token whose audience it is); anything else is exactly `{"active": false}`.
 * Refresh tokens are introspected too, with `token_type: "refresh_token"`.
 */
export async function handleIntrospect(ctx: RequestContext): Promise<void> {
  const params = await readParams(ctx.req)
  const {client} = await authenticateClient(ctx, params)
  noteRequest(ctx.req, {client: client.id})
  if (client.type !== 'confidential')
    throw invalidClient(`Client ${client.id} is public; only confidential clients may introspect tokens.`)
  const token = params.require('token')
  params.get('token_type_hint') // read only so that a repeated hint is refused; the lookup does not need it
  const answer =
    (await introspectRefreshToken(ctx.authority, client, token)) ??
    (await introspectAccessToken(ctx.authority, client, token)) ??
    INACTIVE
  sendJson(ctx.res, 200, answer, {...NO_STORE})
}

async function introspectRefreshToken(
  authority: Authority,
  client: ClientRow,
  token: string,
): Promise<Record<string, unknown> | undefined> {
  const row = authority.store.refreshTokens.findByHash(sha256(token))
  if (!row) return undefined
  if (row.clientId !== client.id || row.revokedAt !== null || row.expiresAt <= authority.clock.now()) return INACTIVE
  return {
    active: true,
    scope: formatScope(row.scopes),
    client_id: row.clientId,
    sub: row.userId,
    username: row.userId,
    exp: Math.floor(row.expiresAt / 1000),
    iat: Math.floor(row.createdAt / 1000),
    iss: authority.issuer,
    token_type: 'refresh_token',
  }
}

async function introspectAccessToken(
  authority: Authority,
  client: ClientRow,
  token: string,
): Promise<Record<string, unknown> | undefined> {
  let verified
  try {
    verified = await verificationOf(authority)(token)
  } catch (error) {
    if (error instanceof InvalidTokenError) return undefined
    throw error
  }
  const {claims, record} = verified
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud]
  if (record!.clientId !== client.id && !audiences.includes(client.id)) return undefined
  return {
    active: true,
    scope: formatScope(verified.scopes),
    client_id: verified.clientId,
    sub: claims.sub,
    ...(verified.userId === null ? {} : {username: verified.userId}),
    aud: claims.aud,
    // RFC 8693 §4.1: who acts for the subject (an exchanged token).
    ...(claims.act === undefined ? {} : {act: claims.act}),
    exp: claims.exp,
    iat: claims.iat,
    iss: claims.iss,
    jti: claims.jti,
    // RFC 9449 §6.2: a DPoP-bound token reports its key's thumbprint and its type.
    token_type: verified.jkt === undefined ? 'Bearer' : 'DPoP',
    ...(verified.jkt === undefined ? {} : {cnf: {jkt: verified.jkt}}),
  }
}

/**
 * One verification per authority, prepared once: its key lookup is built once per loaded key set
 * (core/verify.ts), so a rotation or a retirement on the authority's clock is seen on the next
 * request, and nothing is rebuilt per request. The proof of a DPoP-bound token is the resource
 * server's to check, not the introspecting client's.
 */
const verificationOf = onePer((authority: Authority): PreparedVerification =>
  prepareVerification({authority, ignoreDpopBinding: true}, 'introspect'),
)
