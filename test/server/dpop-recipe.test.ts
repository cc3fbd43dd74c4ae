import {spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {type FileServer, startFileServer} from '../fixtures/server.js'
import {cleanEnv, ROOT} from '../helpers.js'

/** The README recipe "DPoP-bound tokens for an SPA", run as written (Node ESM, oauth4webapi), on a free port. */

let running: FileServer
let server: FileServer['handle']
beforeAll(async () => {
  running = await startFileServer(
    {
      config: {
        scopes: {read: 'Read'},
        clients: [
          {
            id: 'spa',
            name: 'SPA',
            redirectUris: ['http://localhost:5173/callback'],
            grants: ['authorization_code', 'refresh_token'],
          },
        ],
      },
      loginAs: 'alice',
      autoApprove: true,
    },
    'passport-dpop-recipe-',
  )
  server = running.handle
})
afterAll(() => running.close())

describe('README recipe "DPoP-bound tokens for an SPA"', () => {
  it('runs as written and gets DPoP-bound tokens, userinfo and a bound refresh', async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    const section = readme.slice(readme.indexOf('### DPoP-bound tokens for an SPA'))
    const script = /```js\n([\s\S]*?)```/.exec(section)![1]!.replaceAll('http://127.0.0.1:9000', server.issuer)
    // Run from the checkout, so that `import 'oauth4webapi'` resolves as in a project that installed it.
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: ROOT,
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    expect(code, stderr).toBe(0)
    expect(stdout).toBe('dpop\nalice dpop\n')
  }, 60_000)
})
