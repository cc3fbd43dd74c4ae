import {knownScopes} from '../../core/config.js'
import type {RequestContext} from '../context.js'
import {sendJson} from '../http.js'

/** The seed's `GET /oauth/scopes`: `[{id, description}]`. */
export function handleScopes(ctx: RequestContext): void {
  sendJson(
    ctx.res,
    200,
    Object.entries(knownScopes(ctx.authority.config)).map(([id, description]) => ({id, description})),
  )
}
