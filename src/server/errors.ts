import type {ServerResponse} from 'node:http'

import {OAuthError} from '../errors.js'
import {NO_STORE, rfcText, sendJson} from './http.js'

export {rfcText} from './http.js'

/**
 * The one funnel from a thrown error to a response: an {@link OAuthError} becomes its RFC status
 * and `{error, error_description}`; anything else is logged (message only, never request data)
 * and answered as a bare `server_error` — a storage failure as 503, the rest as 500.
 */
export function sendError(res: ServerResponse, error: unknown, log?: (line: string) => void): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  if (error instanceof OAuthError) {
    sendJson(res, error.status, {error: error.code, error_description: rfcText(error.message)}, {...NO_STORE, ...error.headers})
    return
  }
  const storage = isStorageError(error)
  log?.(`error: ${storage ? 'storage unavailable' : 'unexpected fault'}: ${describe(error)}`)
  const status = storage ? 503 : 500
  sendJson(res, status, {error: storage ? 'temporarily_unavailable' : 'server_error', error_description: storage ? 'The database is busy or unavailable; retry shortly.' : 'An unexpected error occurred.'}, {...NO_STORE})
}

function isStorageError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as {name?: string}).name === 'SqliteError'
}

/** The error's class and code only: messages may quote request data, which may hold secrets. */
function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}${(error as {code?: string}).code ? ` (${(error as {code?: string}).code})` : ''}`
  return typeof error
}
