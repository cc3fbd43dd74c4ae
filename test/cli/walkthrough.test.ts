import {spawn} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {startServer} from '../../src/api.js'
import {BIN, cleanEnv, tempDir, writeJson} from '../helpers.js'
import {expectOneLineError, passport, passportJson} from './support.js'

/** Starts `passport serve … --json` and resolves with its first stdout line (then stops it). */
function serveJson(cwd: string, args: string[]): Promise<{code: number | null; line: string; stderr: string}> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'serve', ...args, '--json', '--quiet'], {
      cwd,
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d
      // The summary of a server that is listening; an error ends the process by itself.
      if (stdout.includes('\n') && !stdout.startsWith('{"error"')) child.kill('SIGTERM')
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({code, line: stdout.split('\n')[0]!, stderr}))
  })
}

describe('the newcomer walkthrough: issuer and port', () => {
  let dir: string
  let cleanup: () => void
  beforeEach(() => ({dir, cleanup} = tempDir()))
  afterEach(() => cleanup())

  it('init writes no issuer, so serve --port 0 --json publishes the address it listens on', async () => {
    await passportJson(dir, ['init', '--yes'])
    expect(JSON.parse(readFileSync(join(dir, 'passport.config.json'), 'utf8'))).not.toHaveProperty('issuer')
    const served = await serveJson(dir, ['--port', '0'])
    const summary = JSON.parse(served.line) as {issuer: string; port: number; url: string}
    expect(summary.issuer).toBe(`http://127.0.0.1:${summary.port}`)
    expect(summary.url).toBe(summary.issuer)
  })

  it('a configured loopback issuer on another port than the socket is refused with one line saying how to fix it', async () => {
    writeJson(join(dir, 'passport.config.json'), {issuer: 'http://localhost:9000'})
    // Refused before listening: this run ends by itself, so it runs in-process.
    const refused = await passport(dir, ['serve', '--port', '0', '--json', '--quiet'])
    const served = {...refused, line: refused.stdout.split('\n')[0]!}
    expect(served.code).toBe(1)
    expect(JSON.parse(served.line)).toEqual({
      error: {
        code: 'ERR_USER',
        message: expect.stringMatching(
          /^The issuer http:\/\/localhost:9000 \(from .*passport\.config\.json\) names port 9000, but the server listens on port \d+, .*remove "issuer" from the configuration .*pass --issuer/,
        ),
      },
    })
    expect(served.stderr.split('\n').filter((l) => l.startsWith('Error:'))).toHaveLength(1)

    // --issuer says so explicitly: then it is published as given.
    const explicit = await serveJson(dir, ['--port', '0', '--issuer', 'http://localhost:9000'])
    expect(JSON.parse(explicit.line)).toMatchObject({issuer: 'http://localhost:9000'})
  })

  it('startServer refuses the same mismatch, and accepts it with an explicit issuer or a non-loopback issuer', async () => {
    await expect(startServer({config: {issuer: 'http://127.0.0.1:9000'}})).rejects.toThrow(
      /names port 9000, but the server listens on port \d+/,
    )
    const explicit = await startServer({config: {issuer: 'http://127.0.0.1:9000'}, issuer: 'http://127.0.0.1:9000'})
    expect(explicit.issuer).toBe('http://127.0.0.1:9000')
    await explicit.close()
    const proxied = await startServer({config: {issuer: 'https://auth.example.test'}})
    expect(proxied.issuer).toBe('https://auth.example.test')
    await proxied.close()
  })

  it('init --key-path under /proc fails at once and leaves no configuration behind', async () => {
    const result = await passport(dir, ['init', '--yes', '--key-path', '/proc/nokeys'], {})
    expectOneLineError(result, 1, /^Error: Cannot create key directory \/proc\/nokeys \(ENOENT\)\.$/)
    expect(existsSync(join(dir, 'passport.config.json'))).toBe(false)
  })

  it('a failing database leaves neither the configuration nor the new keys behind', async () => {
    const result = await passport(dir, ['init', '--yes', '--database', '/proc/nodb/passport.sqlite'])
    expectOneLineError(
      result,
      1,
      /^Error: Cannot create the directory for database \/proc\/nodb\/passport\.sqlite \(ENOENT\)\.$/,
    )
    expect(existsSync(join(dir, 'passport.config.json'))).toBe(false)
    expect(existsSync(join(dir, 'storage', 'oauth-private.key'))).toBe(false)
  })

  it('from a subfolder, the nearest passport.config.json upward is used and named on stderr; its storage/ too', async () => {
    await passportJson(dir, ['init', '--yes'])
    const sub = join(dir, 'src', 'deeper')
    mkdirSync(sub, {recursive: true})
    const listed = await passport(sub, ['client:list', '--json'])
    expect(listed.code, listed.stderr).toBe(0)
    expect(listed.stderr).toBe(`Using ${join(dir, 'passport.config.json')} (found in a parent directory).\n`)
    expect((JSON.parse(listed.stdout) as Array<{client_id: string}>).map((c) => c.client_id)).toEqual(['web'])
    const token = await passport(sub, ['token', '--user', 'alice'])
    expect(token.code, token.stderr).toBe(0)
    expect(existsSync(join(sub, 'storage'))).toBe(false)
    expect(existsSync(join(dir, 'src', 'storage'))).toBe(false)
    // In the file's own directory nothing is said.
    expect((await passport(dir, ['client:list', '--json'])).stderr).toBe('')
  })
})
