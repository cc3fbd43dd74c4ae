import type {RequestContext} from '../context.js'
import {LOGO_SVG} from '../views/layout.js'
import {PASSPORT_JS} from '../views/script.js'

/**
 * `GET /assets/passport.js`: the pages' only script (progressive enhancement; every page works
 * without it). Served from this origin so the pages' CSP can say `script-src 'self'`.
 */
export function handleScript(ctx: RequestContext): void {
  ctx.res.writeHead(200, {
    'Content-Type': 'text/javascript; charset=utf-8',
    'Content-Length': Buffer.byteLength(PASSPORT_JS),
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
    'Cross-Origin-Resource-Policy': 'same-origin',
  })
  ctx.res.end(PASSPORT_JS)
}

/** `GET /favicon.ico`: the logo (SVG), so browsers asking for it get no 404. */
export function handleFavicon(ctx: RequestContext): void {
  ctx.res.writeHead(200, {
    'Content-Type': 'image/svg+xml',
    'Content-Length': Buffer.byteLength(LOGO_SVG),
    'Cache-Control': 'public, max-age=86400',
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'",
  })
  ctx.res.end(LOGO_SVG)
}
