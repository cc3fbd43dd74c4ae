import type {ChildProcess} from 'node:child_process'
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'

import {McpServer} from '@modelcontextprotocol/sdk/server/mcp.js'
import {StreamableHTTPServerTransport} from '@modelcontextprotocol/sdk/server/streamableHttp.js'

import {protectedResourceMetadataHandler, requireBearer} from '../../src/index.js'
import {spawnPassport as spawnCommand} from '../fixtures/serve.js'

/** The tools of the test MCP server: `whoami` (scope mcp) and `admin-action` (scopes mcp and admin). */
function buildMcpServer(
  identity: (extra: {authInfo?: unknown; requestInfo?: {headers: Record<string, unknown>}}) => Record<string, unknown>,
): McpServer {
  const server = new McpServer({name: 'passport-test', version: '1.0.0'})
  server.tool('whoami', 'Who is calling', (extra) => ({
    content: [{type: 'text', text: JSON.stringify(identity(extra))}],
  }))
  server.tool('admin-action', 'Needs the admin scope', (extra) => ({
    content: [{type: 'text', text: JSON.stringify({done: true, ...identity(extra)})}],
  }))
  return server
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  const text = Buffer.concat(chunks).toString('utf8')
  return text === '' ? undefined : JSON.parse(text)
}

/** Stateless Streamable HTTP: one McpServer and transport per request. */
async function serveMcp(
  req: IncomingMessage,
  res: ServerResponse,
  body: unknown,
  identity: Parameters<typeof buildMcpServer>[0],
): Promise<void> {
  const server = buildMcpServer(identity)
  // No sessionIdGenerator: stateless mode.
  const transport = new StreamableHTTPServerTransport({enableJsonResponse: true})
  res.on('close', () => {
    void transport.close()
    void server.close()
  })
  await server.connect(transport)
  await transport.handleRequest(req, res, body)
}

const callsAdmin = (body: unknown) =>
  [body]
    .flat()
    .some(
      (m) =>
        (m as {method?: string; params?: {name?: string}} | undefined)?.method === 'tools/call' &&
        (m as {params: {name?: string}}).params.name === 'admin-action',
    )

export interface Listening {
  server: Server
  url: string
  close(): Promise<void>
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void, port = 0): Promise<Listening> {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    server,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/**
 * An SDK MCP server protected by the kit: RFC 9728 metadata, `requireBearer` for scope `mcp`, and
 * `mcp admin` for a call of the `admin-action` tool (the app owns the body: it reads it, then
 * picks the guard). `configure` receives the resource URL once the port is known.
 */
export async function kitProtectedMcp(): Promise<Listening & {resource: string; protectWith(issuer: string): void}> {
  let handler: ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | undefined
  const listening = await listen((req, res) => {
    void (handler ? handler(req, res) : Promise.resolve(res.writeHead(503).end())).catch(() => {
      if (!res.headersSent) res.writeHead(500).end()
    })
  })
  const resource = `${listening.url}/mcp`
  return {
    ...listening,
    resource,
    protectWith(issuer: string) {
      const jwks = `${issuer}/.well-known/jwks.json`
      const metadata = protectedResourceMetadataHandler({resource, issuer, scopes: ['mcp', 'admin']})
      const base = requireBearer({issuer, jwks, resource, scopes: ['mcp']})
      const admin = requireBearer({issuer, jwks, resource, scopes: ['mcp', 'admin']})
      handler = async (req, res) => {
        if (metadata(req, res)) return
        if (!req.url?.startsWith('/mcp')) return void res.writeHead(404).end()
        const body = req.method === 'POST' ? await readJson(req) : undefined
        const verified = await (callsAdmin(body) ? admin : base)(req, res)
        if (!verified) return
        await serveMcp(req, res, body, (extra) => {
          const info = extra.authInfo as {
            clientId: string
            scopes: string[]
            userId: string | null
            claims: {aud: unknown}
          }
          return {clientId: info.clientId, userId: info.userId, scopes: info.scopes, aud: info.claims.aud}
        })
      }
    },
  }
}

/**
 * An SDK MCP server with no authentication at all, for `passport protect` to guard: it reports
 * the X-Passport-* headers the proxy added, and refuses `admin-action` with 403 unless
 * X-Passport-Scope has admin (as a service behind the proxy would).
 */
export async function plainMcp(port = 0): Promise<Listening> {
  return listen((req, res) => {
    void (async () => {
      const body = req.method === 'POST' ? await readJson(req) : undefined
      const scopes = String(req.headers['x-passport-scope'] ?? '').split(' ')
      if (callsAdmin(body) && !scopes.includes('admin')) {
        // The service's own per-tool check: the proxy passes its 403 through, and the client steps up.
        res.writeHead(403, {
          'WWW-Authenticate':
            'Bearer error="insufficient_scope", error_description="admin-action needs admin", scope="mcp admin"',
          'Content-Type': 'application/json',
        })
        res.end(JSON.stringify({error: 'insufficient_scope', error_description: 'admin-action needs admin'}))
        return
      }
      await serveMcp(req, res, body, (extra) => {
        const headers = extra.requestInfo?.headers ?? {}
        return {
          sub: headers['x-passport-sub'],
          clientId: headers['x-passport-client-id'],
          scope: headers['x-passport-scope'],
          authorization: headers.authorization ?? null,
        }
      })
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500).end()
    })
  }, port)
}

export interface Spawned {
  child: ChildProcess
  /** The first line the command printed on stdout, parsed. */
  json: Record<string, unknown>
  stderr(): string
  stop(): Promise<void>
}

/** Runs a long-lived passport command (serve, protect) with --json and waits for its first line. */
export async function spawnPassport(args: string[], cwd: string, env: Record<string, string> = {}): Promise<Spawned> {
  const spawned = spawnCommand([...args, '--json'], {cwd, env})
  const line = await spawned.firstLine
  return {
    child: spawned.child,
    json: JSON.parse(line) as Record<string, unknown>,
    stderr: () => spawned.output().stderr,
    stop: async () => void (await spawned.stop()),
  }
}

/**
 * An OAuthClientProvider (SDK 1.x and 2.x share the shape) whose browser step runs headless:
 * against `serve --login-as alice --auto-approve`, one GET of the authorization URL answers with
 * the redirect to the callback, whose query it keeps.
 */
export class HeadlessProvider {
  clientInfo: Record<string, unknown> | undefined
  savedTokens: Record<string, unknown> | undefined
  verifier = ''
  /** The query of the last redirect to the callback (code, state, iss). */
  callback: URLSearchParams | undefined
  authorizationUrls: URL[] = []
  discovery: unknown

  constructor(
    readonly callbackUrl: string,
    readonly metadata: Record<string, unknown>,
  ) {}

  get redirectUrl(): string {
    return this.callbackUrl
  }

  get clientMetadata(): never {
    return {redirect_uris: [this.callbackUrl], ...this.metadata} as never
  }

  state(): string {
    return `state-${this.authorizationUrls.length}`
  }

  clientInformation(): never {
    return this.clientInfo as never
  }

  saveClientInformation(info: Record<string, unknown>): void {
    this.clientInfo = info
  }

  tokens(): never {
    return this.savedTokens as never
  }

  saveTokens(tokens: Record<string, unknown>): void {
    this.savedTokens = tokens
  }

  async redirectToAuthorization(url: URL): Promise<void> {
    this.authorizationUrls.push(url)
    const response = await fetch(url, {redirect: 'manual'})
    const location = response.headers.get('location')
    await response.body?.cancel()
    if (response.status !== 302 || !location) throw new Error(`authorization did not redirect: ${response.status}`)
    const target = new URL(location)
    if (`${target.origin}${target.pathname}` !== this.callbackUrl) throw new Error(`redirected elsewhere: ${location}`)
    this.callback = target.searchParams
  }

  saveCodeVerifier(verifier: string): void {
    this.verifier = verifier
  }

  codeVerifier(): string {
    return this.verifier
  }

  saveDiscoveryState(state: unknown): void {
    this.discovery = state
  }

  discoveryState(): never {
    return this.discovery as never
  }
}
