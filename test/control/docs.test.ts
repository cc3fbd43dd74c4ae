import {spawn} from 'node:child_process'
import {chmodSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterEach, describe, expect, it} from 'vitest'

import {BIN, cleanEnv, freePort, ROOT, tempDir, writeJson} from '../helpers.js'
import {CONFIG} from './support.js'

const DOC = readFileSync(join(ROOT, 'docs', 'testing.md'), 'utf8')

/** The fenced block after each `<!-- KIND: NAME -->` marker of docs/testing.md. */
function blocks(kind: 'file' | 'run'): Map<string, string> {
  const found = new Map<string, string>()
  for (const match of DOC.matchAll(new RegExp(`<!-- ${kind}: ([^ ]+) -->\\n\`\`\`[a-z]*\\n([\\s\\S]*?)\`\`\`\\n`, 'g')))
    found.set(match[1]!, match[2]!)
  return found
}

const cleanups: Array<() => void> = []
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup()
})

describe('docs/testing.md', () => {
  it('shows the runner fixture projects exactly (runners.test.ts runs them)', () => {
    const files = blocks('file')
    expect([...files.keys()].sort()).toEqual([
      'jest-project/authority.spec.cjs',
      'jest-project/jest.config.mjs',
      'jest-project/jest.setup.mjs',
      'jest-project/jest.teardown.mjs',
      'vitest-project/authority.spec.ts',
      'vitest-project/passport.setup.ts',
      'vitest-project/vitest.config.ts',
    ])
    for (const [file, text] of files)
      expect(text, file).toBe(readFileSync(join(ROOT, 'test', 'fixtures', file), 'utf8'))
  })

  it('the command-line recipes run as written: serve --control, healthcheck, clock, faults, users, requests', async () => {
    const recipes = blocks('run')
    expect([...recipes.keys()]).toEqual(['serve', 'clock', 'faults', 'users', 'requests'])
    const {dir, cleanup} = tempDir('passport-testing-doc-')
    cleanups.push(cleanup)
    writeJson(join(dir, 'passport.config.json'), CONFIG)
    mkdirSync(join(dir, 'bin'))
    writeFileSync(join(dir, 'bin', 'passport'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`)
    chmodSync(join(dir, 'bin', 'passport'), 0o755)
    const token = `curl -fsS -o /dev/null -u svc:svc-secret -d grant_type=client_credentials "http://127.0.0.1:$PORT/oauth/token"\n`
    const script = [
      'set -eu',
      recipes.get('serve')!,
      'echo "== clock"',
      recipes.get('clock')!,
      'echo; echo "== faults"',
      recipes.get('faults')!,
      'echo; echo "== users"',
      recipes.get('users')!,
      token,
      'echo; echo "== requests"',
      recipes.get('requests')!,
      'echo; kill %1; wait || true',
    ].join('\n')
    const port = await freePort()
    const result = await new Promise<{code: number | null; out: string; err: string}>((resolve) => {
      const child = spawn('bash', ['-c', script], {
        cwd: dir,
        env: cleanEnv({PATH: `${join(dir, 'bin')}:${process.env.PATH}`, PORT: String(port)}),
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let out = ''
      let err = ''
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d))
      child.on('close', (code) => resolve({code, out, err}))
    })
    expect(result.code, `${result.out}\n${result.err}`).toBe(0)
    // The access log on stderr names paths only: never the control token.
    expect(result.err).not.toContain(
      readFileSync(join(dir, 'passport.json'), 'utf8').match(/"control_token":"([^"]+)"/)![1]!,
    )
    const section = (name: string) => result.out.split(`== ${name}\n`)[1]!.split('\n== ')[0]!
    expect(section('clock')).toMatch(/^\{"now":"[^"]+"\}\{"now":"2027-01-01T00:00:0\d\.\d{3}Z"\}/)
    expect(section('faults')).toContain(
      '{"faults":[{"kind":"http","endpoint":"token","status":503,"error":"temporarily_unavailable","remaining":1},{"kind":"http","endpoint":"userinfo","delayMs":2000,"persistent":true},{"kind":"protocol","name":"id-token-wrong-nonce","endpoint":"token","remaining":1}]}{"cleared":3}',
    )
    expect(section('users').trim()).toBe(
      '{"sub":"carol","name":"Carol","email":"carol@example.test","claims":{"role":"admin"}}',
    )
    const requests = JSON.parse(section('requests').trim()) as {requests: Record<string, unknown>[]}
    expect(requests.requests.at(-1)).toMatchObject({
      method: 'POST',
      path: '/oauth/token',
      status: 200,
      client: 'svc',
      grant: 'client_credentials',
    })
  })
})
