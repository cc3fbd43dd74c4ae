import type {RequestContext} from '../context.js'
import {sendJson} from '../http.js'

export function handleDashboard(ctx: RequestContext): void {
  sendJson(ctx.res, 501, {error: 'server_error', error_description: 'Not implemented yet.'})
}

