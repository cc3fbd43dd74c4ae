import type {RequestContext} from '../context.js'
import {sendJson} from '../http.js'

export function handleAuthorize(ctx: RequestContext): void {
  sendJson(ctx.res, 501, {error: 'server_error', error_description: 'Not implemented yet.'})
}

export function handleAuthorizeDecision(ctx: RequestContext): void {
  sendJson(ctx.res, 501, {error: 'server_error', error_description: 'Not implemented yet.'})
}

export function handleLogin(ctx: RequestContext): void {
  sendJson(ctx.res, 501, {error: 'server_error', error_description: 'Not implemented yet.'})
}

