import {spawn} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

import {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {StreamableHTTPClientTransport} from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import {UnauthorizedError} from '@modelcontextprotocol/sdk/client/auth.js'
import {decodeJwt} from 'jose'
import {afterEach, describe, expect, it} from 'vitest'

import {BIN, cleanEnv, freePort, ROOT, tempDir} from '../helpers.js'
import {HeadlessProvider, plainMcp, spawnPassport, type Spawned} from './sdk-support.js'

/** The README's "Protect an MCP server in two minutes", run as written (its ports swapped for free ones). */
const README = readFileSync(join(ROOT, 'README.md'), 'utf8')
const section = README.slice(
  README.indexOf('### Protect an MCP server in two minutes'),
  README.indexOf('### Key rotation'),
)
const blocks = [...section.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({lang: m[1]!, code: m[2]!}))

/** The recipe's fixed ports (9000 authority, 3000 resource, 3001 upstream) become free ones. */
async function portMap(): Promise<(text: string) => string> {
  const map = new Map([
    ['9000', String(await freePort())],
    ['3000', String(await freePort())],
    ['3001', String(await freePort())],
  ])
  return (text) => text.replace(/\b(9000|3000|3001)\b/g, (p) => map.get(p)!)
}

/** `npx passport …` lines of a shell block: their arguments, comments and `&` removed. */
function passportCommands(code: string): string[][] {
  return code
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').replace(/&\s*$/, '').trim())
    .filter((line) => line.startsWith('npx passport '))
    .map((line) => line.slice('npx passport '.length).split(/\s+/))
}

const running: Array<{stop(): Promise<void>}> = []
afterEach(async () => {
  for (const item of running.splice(0).reverse()) await item.stop()
})

async function mcpCall(url: string): Promise<{whoami: Record<string, unknown>; provider: HeadlessProvider}> {
  const provider = new HeadlessProvider('http://127.0.0.1:7790/callback', {
    client_name: 'recipe client',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  })
  let client = new Client({name: 'recipe', version: '1.0.0'})
  try {
    await client.connect(new StreamableHTTPClientTransport(new URL(url), {authProvider: provider}))
  } catch (error) {
    if (!(error instanceof UnauthorizedError)) throw error
    const transport = new StreamableHTTPClientTransport(new URL(url), {authProvider: provider})
    await transport.finishAuth(provider.callback!.get('code')!)
    client = new Client({name: 'recipe', version: '1.0.0'})
    await client.connect(transport)
  }
  const result = (await client.callTool({name: 'whoami'})) as {content: Array<{text: string}>}
  await client.close()
  return {whoami: JSON.parse(result.content[0]!.text) as Record<string, unknown>, provider}
}

describe('README recipe: Protect an MCP server in two minutes', () => {
  it('has the two shell commands, the kit program and the serve line', () => {
    expect(blocks.map((b) => b.lang)).toEqual(['sh', 'ts'])
    expect(passportCommands(blocks[0]!.code).map((c) => c[0])).toEqual(['serve', 'protect'])
    expect(section).toContain(
      '`npx passport serve --login-as alice --auto-approve --resource http://127.0.0.1:3000/mcp`',
    )
  })

  it('with passport protect: an SDK client reaches the unauthenticated MCP server through the proxy', async () => {
    const ports = await portMap()
    const {dir, cleanup} = tempDir('passport-recipe-')
    running.push({stop: async () => cleanup()})
    const upstreamPort = Number(ports('3001'))
    const upstream = await plainMcp(upstreamPort)
    running.push({stop: () => upstream.close()})
    const [serveArgs, protectArgs] = passportCommands(ports(blocks[0]!.code))
    // `serve` without --port listens on 9000: the swapped port is given the same way the default would be.
    const authority = await spawnPassport([...serveArgs!, '--port', ports('9000'), '--quiet'], dir)
    running.push(authority)
    // protect's default issuer is http://127.0.0.1:9000, the swapped port is given the same way.
    const proxy: Spawned = await spawnPassport([...protectArgs!, '--quiet'], dir, {
      PASSPORT_ISSUER: authority.json.issuer as string,
    })
    running.push(proxy)
    const resource = `http://127.0.0.1:${ports('3000')}/mcp`
    expect(proxy.json.resource).toBe(resource)
    const {whoami, provider} = await mcpCall(resource)
    expect(whoami).toMatchObject({sub: 'alice', scope: 'read', authorization: null})
    expect(decodeJwt(provider.savedTokens!.access_token as string).aud).toBe(resource)
  })

  it('with the library kit: the program as written, with an SDK transport behind it', async () => {
    const ports = await portMap()
    const {dir, cleanup} = tempDir('passport-recipe-')
    running.push({stop: async () => cleanup()})
    const serveLine = /`npx passport (serve [^`]+)`/.exec(ports(section))![1]!.split(/\s+/).slice(1)
    const authority = await spawnPassport(['serve', ...serveLine, '--port', ports('9000'), '--quiet'], dir)
    running.push(authority)
    const dist = pathToFileURL(join(ROOT, 'dist', 'index.js')).href
    const sdk = (path: string) =>
      pathToFileURL(join(ROOT, 'node_modules', '@modelcontextprotocol', 'sdk', 'dist', 'esm', path)).href
    const prelude = [
      `import {McpServer} from '${sdk('server/mcp.js')}'`,
      `import {StreamableHTTPServerTransport} from '${sdk('server/streamableHttp.js')}'`,
      'const mcpTransport = {async handleRequest(req, res) {',
      "  const server = new McpServer({name: 'recipe', version: '1.0.0'})",
      "  server.tool('whoami', 'Who is calling', (extra) => ({content: [{type: 'text', text: JSON.stringify({clientId: extra.authInfo.clientId, scopes: extra.authInfo.scopes})}]}))",
      '  const transport = new StreamableHTTPServerTransport({sessionIdGenerator: undefined, enableJsonResponse: true})',
      "  res.on('close', () => { transport.close(); server.close() })",
      '  await server.connect(transport)',
      '  await transport.handleRequest(req, res)',
      '}}',
    ].join('\n')
    const program = ports(blocks[1]!.code).replace("from 'passport-authority'", `from '${dist}'`)
    const file = join(dir, 'server.mjs')
    writeFileSync(file, `${prelude}\n${program}\n`)
    const child = spawn(process.execPath, [file], {cwd: dir, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe']})
    running.push({
      stop: () =>
        new Promise<void>((resolve) =>
          child.exitCode !== null ? resolve() : (child.once('exit', () => resolve()), child.kill('SIGTERM')),
        ),
    })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const resource = `http://127.0.0.1:${ports('3000')}/mcp`
    // The program prints nothing: wait until its metadata answers (or it exits).
    for (let attempt = 0; ; attempt++) {
      if (child.exitCode !== null) throw new Error(`the recipe's server exited with ${child.exitCode}: ${stderr}`)
      const ok = await fetch(`http://127.0.0.1:${ports('3000')}/.well-known/oauth-protected-resource/mcp`).then(
        (r) => r.ok,
        () => false,
      )
      if (ok) break
      if (attempt > 200) throw new Error(`the recipe's server did not start: ${stderr}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const {whoami, provider} = await mcpCall(resource)
    expect(whoami).toEqual({clientId: provider.clientInfo!.client_id, scopes: ['read']})
    expect(decodeJwt(provider.savedTokens!.access_token as string).aud).toBe(resource)
  })
})

void BIN
