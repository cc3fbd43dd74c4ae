import {spawn} from 'node:child_process'
import {cpSync, mkdirSync, symlinkSync} from 'node:fs'
import {join} from 'node:path'

import {afterEach, describe, expect, it} from 'vitest'

import {cleanEnv, ROOT, tempDir} from '../helpers.js'

const cleanups: Array<() => void> = []
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup()
})

/**
 * A copy of a fixture project in a temporary directory, installed as a user's would be:
 * node_modules/passport-authority is this package, node_modules/vitest (or jest) the runner.
 */
function project(fixture: string, links: string[]): string {
  const {dir, cleanup} = tempDir(`passport-${fixture}-`)
  cleanups.push(cleanup)
  cpSync(join(ROOT, 'test', 'fixtures', fixture), dir, {recursive: true})
  mkdirSync(join(dir, 'node_modules'))
  symlinkSync(ROOT, join(dir, 'node_modules', 'passport-authority'), 'dir')
  for (const name of links) symlinkSync(join(ROOT, 'node_modules', name), join(dir, 'node_modules', name), 'dir')
  return dir
}

function run(cwd: string, args: string[]): Promise<{code: number | null; output: string}> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd,
      env: cleanEnv({
        CI: '1',
        NO_COLOR: '1',
        VITEST: undefined,
        VITEST_MODE: undefined,
        VITEST_POOL_ID: undefined,
        VITEST_WORKER_ID: undefined,
        NODE_ENV: undefined,
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${args.join(' ')} timed out:\n${output}`))
    }, 120_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({code, output})
    })
  })
}

describe('test-runner helpers, used exactly as docs/testing.md says', () => {
  it('passport-authority/vitest: a child `vitest run` of test/fixtures/vitest-project passes (globalSetup starts, provides and stops the authority)', async () => {
    const dir = project('vitest-project', ['vitest'])
    const result = await run(dir, [join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run'])
    expect(result.output).toContain('2 passed')
    expect(result.code, result.output).toBe(0)
  })

  it('passport-authority/jest: a child `jest` of test/fixtures/jest-project passes (globalSetup/globalTeardown, the issuer through process.env)', async () => {
    const dir = project('jest-project', ['jest'])
    const result = await run(dir, [join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), '--ci'])
    expect(result.output).toContain('Tests:       2 passed, 2 total')
    expect(result.code, result.output).toBe(0)
  })
})
