import type Database from 'better-sqlite3'

import type {StartServerOptions} from '../../src/api.js'
import {MCP_CONFIG as CONFIG} from '../fixtures/config.js'
import {formBody} from '../fixtures/http.js'
import {challengeOf} from '../fixtures/oauth.js'
import {startFileServer} from '../fixtures/server.js'

export {API, MCP, MCP_CONFIG as CONFIG, REDIRECT} from '../fixtures/config.js'
export {basic, claims} from '../fixtures/oauth.js'
export {postForm, postJson, read, type Reply} from '../fixtures/http.js'

export const VERIFIER = 'mcp-verifier-0123456789-abcdefghijklmnopqrstuvwxyz'
export const CHALLENGE = challengeOf(VERIFIER)

export interface McpServer {
  url: string
  issuer: string
  endpoint(path: string): string
  db: Database.Database
  close(): Promise<void>
}

/** A headless server (`--login-as alice --auto-approve`) on 127.0.0.1 port 0 with a database file in a temp dir. */
export async function startMcpServer(
  options: Omit<Partial<StartServerOptions>, 'config'> & {config?: Record<string, unknown>} = {},
): Promise<McpServer> {
  const {config, ...rest} = options
  const server = await startFileServer(
    {loginAs: 'alice', autoApprove: true, ...rest, config: {...CONFIG, ...(config ?? {})}},
    'passport-mcp-',
  )
  return {
    url: server.handle.url(),
    issuer: server.handle.issuer,
    endpoint: (path) => server.handle.url(`/oauth${path}`),
    db: server.db(),
    close: () => server.close(),
  }
}

/** GET /authorize without following the redirect; a list value repeats the parameter. */
export async function authorize(
  server: McpServer,
  params: Record<string, string | string[]>,
): Promise<{status: number; location: URL | undefined; text: string; headers: Headers}> {
  const response = await fetch(`${server.endpoint('/authorize')}?${formBody(params)}`, {redirect: 'manual'})
  const location = response.headers.get('location')
  return {
    status: response.status,
    location: location ? new URL(location) : undefined,
    text: await response.text(),
    headers: response.headers,
  }
}
