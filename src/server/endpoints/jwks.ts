import {publicJwks} from '../../core/keys.js'
import type {RequestContext} from '../context.js'
import {sendJson} from '../http.js'

export async function handleJwks(ctx: RequestContext): Promise<void> {
  sendJson(ctx.res, 200, await publicJwks(await ctx.authority.signingKeys()), {'Cache-Control': 'public, max-age=60'})
}
