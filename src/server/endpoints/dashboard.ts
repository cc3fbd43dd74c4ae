import {
  GRANT_AUTHORIZATION_CODE,
  GRANT_CLIENT_CREDENTIALS,
  GRANT_DEVICE_CODE,
  GRANT_PERSONAL_ACCESS,
  GRANT_REFRESH_TOKEN,
} from '../../core/clients.js'
import type {RequestContext} from '../context.js'
import {SCRIPT_PAGE_CSP, sendHtml} from '../http.js'
import {type DashboardView, dashboardPage} from '../views/dashboard.js'
import {demoUnavailable} from './demo.js'

/**
 * `GET /`: the dashboard. Read-only: issuer and endpoint URLs, the registered clients (never a
 * secret), the newest access tokens and the "try it" button (see demo.ts).
 */

const RECENT_TOKENS = 20

const GRANT_NAMES: Record<string, string> = {
  [GRANT_AUTHORIZATION_CODE]: 'authorization code',
  [GRANT_REFRESH_TOKEN]: 'refresh token',
  [GRANT_CLIENT_CREDENTIALS]: 'client credentials',
  [GRANT_DEVICE_CODE]: 'device code',
  [GRANT_PERSONAL_ACCESS]: 'personal access',
}

export function handleDashboard(ctx: RequestContext, now = ctx.authority.clock.now()): void {
  const {authority, options} = ctx
  const served = (group: string) => !options.except.includes(group as never)
  const issuer = authority.issuer

  const endpoints: DashboardView['endpoints'] = [
    {
      name: 'OpenID configuration',
      url: `${issuer}/.well-known/openid-configuration`,
      note: 'discovery: every URL below',
    },
    {name: 'OAuth metadata', url: `${issuer}/.well-known/oauth-authorization-server`, note: 'RFC 8414'},
    {name: 'JWKS', url: `${issuer}/.well-known/jwks.json`, note: 'public signing keys'},
  ]
  if (served('authorize')) endpoints.push({name: 'Authorization', url: ctx.endpoint('/authorize')})
  if (served('token')) endpoints.push({name: 'Token', url: ctx.endpoint('/token')})
  if (served('device')) {
    endpoints.push({name: 'Device authorization', url: ctx.endpoint('/device/code')})
    endpoints.push({name: 'Device verification', url: ctx.endpoint('/device'), note: 'where people enter the code'})
  }
  if (served('revoke')) endpoints.push({name: 'Revocation', url: ctx.endpoint('/revoke')})
  if (served('introspect')) endpoints.push({name: 'Introspection', url: ctx.endpoint('/introspect')})
  if (served('userinfo')) endpoints.push({name: 'UserInfo', url: ctx.endpoint('/userinfo')})
  if (served('scopes')) endpoints.push({name: 'Scopes', url: ctx.endpoint('/scopes')})

  const all = authority.store.clients.list()
  const names = new Map(all.map((c) => [c.id, c.name]))
  const clients = all
    .filter((c) => c.source !== 'internal')
    .map((c) => ({
      id: c.id,
      name: c.name,
      type: c.type,
      grants: c.grantTypes.map((g) => GRANT_NAMES[g] ?? g),
      redirectUris: c.redirectUris,
      scopes: c.scopes,
      autoApprove: c.autoApprove,
      source: c.source,
    }))

  const tokens = authority.store.accessTokens.list({limit: RECENT_TOKENS}).map((t) => ({
    subject: t.userId,
    client: names.get(t.clientId) ?? t.clientId,
    clientId: t.clientId,
    scopes: t.scopes,
    expires: new Date(t.expiresAt).toISOString(),
    expiresIn: relative(t.expiresAt, now),
    status:
      t.revokedAt !== null ? ('revoked' as const) : t.expiresAt <= now ? ('expired' as const) : ('active' as const),
  }))

  const users = Object.entries(authority.config.users).map(([id, u]) => ({
    id,
    ...(u.name === undefined ? {} : {name: u.name}),
  }))
  const user = ctx.sessions.find(ctx.req)?.userId
  const unavailable = demoUnavailable(ctx)
  const page = dashboardPage({
    issuer,
    endpoints,
    clients,
    tokens,
    users,
    ...(unavailable ? {demoUnavailable: unavailable} : {}),
    ...(user ? {user} : {}),
  })
  sendHtml(ctx.res, 200, page, {'Content-Security-Policy': SCRIPT_PAGE_CSP})
}

/** "in 59 min", "3 h ago", … */
export function relative(at: number, now: number): string {
  const seconds = Math.round((at - now) / 1000)
  const abs = Math.abs(seconds)
  const text =
    abs < 60
      ? `${abs} s`
      : abs < 3600
        ? `${Math.round(abs / 60)} min`
        : abs < 172_800
          ? `${Math.round(abs / 3600)} h`
          : `${Math.round(abs / 86_400)} days`
  return seconds >= 0 ? `in ${text}` : `${text} ago`
}
