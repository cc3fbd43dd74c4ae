import type {RequestContext} from '../context.js'
import {sendJson} from '../http.js'

/** 200 when the database answers a query, 503 otherwise. */
export function handleHealth(ctx: RequestContext): void {
  try {
    ctx.authority.store.db.prepare('SELECT 1').get()
    sendJson(ctx.res, 200, {status: 'ok'}, {'Cache-Control': 'no-store'})
  } catch {
    sendJson(ctx.res, 503, {status: 'unavailable'}, {'Cache-Control': 'no-store'})
  }
}
