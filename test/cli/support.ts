import {spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import {join} from 'node:path'

import Database from 'better-sqlite3'
import {expect} from 'vitest'

import {BIN, type CliResult, cleanEnv, runCli} from '../helpers.js'

/** A stack-trace line, as Node prints them: "    at fn (file.js:1:2)". */
const STACK_LINE = /^\s+at .+(:\d+:\d+\)?|\(native\)|<anonymous>)$/m

/**
 * Runs `passport ARGS` (in this process unless `spawn: true`, see runCli) and checks what every run
 * must satisfy: no stack trace on stderr.
 */
export async function passport(
  cwd: string,
  args: string[],
  options: {env?: Record<string, string | undefined>; input?: string; spawn?: boolean} = {},
): Promise<CliResult> {
  const result = await runCli(args, {cwd, ...options})
  expect(result.stderr, `stderr of passport ${args.join(' ')}`).not.toMatch(STACK_LINE)
  expect(result.stderr).not.toMatch(/Unexpected error/)
  return result
}

/** Runs the CLI and parses its stdout as the one JSON document `--json` promises. */
export async function passportJson<T = unknown>(
  cwd: string,
  args: string[],
  options: {env?: Record<string, string | undefined>; spawn?: boolean} = {},
): Promise<T> {
  const result = await passport(cwd, [...args, '--json'], options)
  expect(result.code, `exit code of passport ${args.join(' ')}: ${result.stderr}`).toBe(0)
  return JSON.parse(result.stdout) as T
}

/** Failure output: exactly one line on stderr ("Error: …"). */
export function expectOneLineError(result: CliResult, code: number, pattern?: RegExp): void {
  expect(result.code, result.stderr).toBe(code)
  const lines = result.stderr.trim().split('\n')
  expect(lines, result.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(/^Error: /)
  if (pattern) expect(lines[0]).toMatch(pattern)
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex')
}

export function openDb(path: string): Database.Database {
  const db = new Database(path)
  db.pragma('busy_timeout = 10000')
  return db
}

export const defaultDb = (dir: string) => join(dir, 'storage', 'passport.sqlite')

/** `script` from util-linux runs a command on a pseudo-terminal; null when it is not installed. */
export async function hasScript(): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('script', ['--version'], {stdio: 'ignore'})
    child.on('error', () => resolve(false))
    child.on('close', (code) => resolve(code === 0))
  })
}

/**
 * Runs the CLI on a pseudo-terminal (`script -qfec`), answering prompts: each step waits until the
 * output so far matches `expect`, then types `send`. Returns the exit code and everything shown.
 */
export function passportOnTty(
  cwd: string,
  args: string[],
  steps: Array<{expect: RegExp; send: string}>,
  timeoutMs = 20_000,
): Promise<{code: number | null; output: string}> {
  const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')
  const env = cleanEnv({CI: undefined, GITHUB_ACTIONS: undefined, TERM: 'xterm'})
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', quoted, '/dev/null'], {cwd, env, stdio: ['pipe', 'pipe', 'pipe']})
    let output = ''
    let step = 0
    let seenUpTo = 0
    const advance = () => {
      while (step < steps.length) {
        const current = steps[step]!
        const match = current.expect.exec(output.slice(seenUpTo))
        if (!match) return
        seenUpTo += match.index + match[0].length
        step++
        child.stdin.write(current.send)
      }
    }
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`tty run timed out at step ${step}; output so far:\n${output}`))
    }, timeoutMs)
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      output += d
      advance()
    })
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d))
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({code, output})
    })
  })
}
