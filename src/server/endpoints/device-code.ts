import {noteRequest} from '../../control/index.js'
import {GRANT_DEVICE_CODE} from '../../core/clients.js'
import {createDeviceAuthorization} from '../../core/device.js'
import {deviceAuthorizationRefusal} from '../../core/device/lockout.js'
import {OAuthError, unauthorizedClient} from '../../errors.js'
import {checkScopes} from '../../core/grants/common.js'
import {assertResourceScopes, validateResources} from '../../core/resources.js'
import {parseScope} from '../../core/scopes.js'
import {authenticateClient} from '../client-auth.js'
import type {RequestContext} from '../context.js'
import {NO_STORE, readParams, sendJson} from '../http.js'

/** `POST {prefix}/device/code` (RFC 8628 §3.1–3.2): starts a device authorization. */
export async function handleDeviceCode(ctx: RequestContext): Promise<void> {
  const {authority} = ctx
  const params = await readParams(ctx.req)
  const {client} = await authenticateClient(ctx, params)
  noteRequest(ctx.req, {client: client.id})
  if (!client.grantTypes.includes(GRANT_DEVICE_CODE)) {
    throw unauthorizedClient(`Client ${client.id} may not use the device authorization grant.`)
  }
  const scopes = parseScope(params.get('scope'))
  checkScopes(authority, client, scopes)
  const resources = validateResources(authority.config.resources, params.all('resource'))
  assertResourceScopes(authority.config.resources, resources, scopes)
  // RFC 8628 §5.1–5.2: a bounded number of codes waiting, per client and in all.
  const now = authority.clock.now()
  const refusal = deviceAuthorizationRefusal(
    (clientId) => authority.store.deviceCodes.pending(now, clientId),
    client.id,
    now,
  )
  if (refusal)
    throw new OAuthError('temporarily_unavailable', refusal.message, 429, {'Retry-After': String(refusal.retryAfter)})
  const ttl = authority.config.deviceCodesExpireIn
  const {deviceCode, userCode, row} = createDeviceAuthorization(authority.store, client, scopes, ttl, now, resources)
  const verificationUri = ctx.endpoint('/device')
  sendJson(
    ctx.res,
    200,
    {
      device_code: deviceCode,
      user_code: userCode,
      verification_uri: verificationUri,
      verification_uri_complete: `${verificationUri}?user_code=${encodeURIComponent(userCode)}`,
      expires_in: Math.round(ttl / 1000),
      interval: row.interval,
    },
    {...NO_STORE},
  )
}
