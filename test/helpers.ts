import {spawn} from 'node:child_process'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {type AddressInfo, createServer} from 'node:net'
import {Console} from 'node:console'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import type {Command} from '@oclif/core/command'
import type {Config} from '@oclif/core/config'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
export const BIN = join(ROOT, 'bin', 'run.js')

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** A fresh temporary working directory; removed by the returned cleanup. */
export function tempDir(prefix = 'passport-test-'): {dir: string; cleanup: () => void} {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return {dir, cleanup: () => rmSync(dir, {recursive: true, force: true})}
}

/** Environment for the CLI under test: no inherited PASSPORT_* variables, no colour, no TTY. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('PASSPORT_') && key !== 'NODE_OPTIONS') env[key] = value
  }
  delete env.FORCE_COLOR
  env.NO_COLOR = '1'
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key]
    else env[key] = value
  }
  return env
}

export interface CliOptions {
  cwd: string
  env?: Record<string, string | undefined>
  input?: string
  timeoutMs?: number
  /**
   * Run the real process (`node bin/run.js`, the built dist/) instead of the command in this
   * process: for what only a process shows (the launcher, the lean `token` path, signals, stdin,
   * exit codes of the real process, several processes at once). PASSPORT_TEST_SPAWN=1 makes
   * every run spawn, to check that both agree.
   */
  spawn?: boolean
}

/**
 * Runs `passport ARGS` in `cwd`: in this process by default (the command loaded from src/, see
 * runInProcess), or as a child process with `spawn: true`. Either way the same result: exit code,
 * stdout, stderr.
 */
export function runCli(args: string[], options: CliOptions): Promise<CliResult> {
  if (options.spawn || options.input !== undefined || process.env.PASSPORT_TEST_SPAWN === '1')
    return spawnCli(args, options)
  return runInProcess(args, options)
}

/** Runs the built CLI as a child process in `cwd`. */
export function spawnCli(
  args: string[],
  options: {cwd: string; env?: Record<string, string | undefined>; input?: string; timeoutMs?: number},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd,
      env: cleanEnv(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`passport ${args.join(' ')} timed out\nstdout: ${stdout}\nstderr: ${stderr}`))
    }, options.timeoutMs ?? 20_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({code, stdout, stderr})
    })
    child.stdin.end(options.input ?? '')
  })
}

let oclifConfig: Promise<Config> | undefined
let queue: Promise<unknown> = Promise.resolve()

/**
 * oclif's configuration, loaded once per test file (worker) from the package root, its commands
 * loaded from src/ (never a stale dist/): `dist/commands/client/show.js` → `src/commands/client/show.ts`.
 * The command list and help texts come from oclif.manifest.json (`npm run build` after adding a
 * command or changing its help); the command_not_found hook, which oclif imports itself, from dist/.
 */
function loadOclifConfig(): Promise<Config> {
  oclifConfig ??= (async () => {
    const {Config} = await import('@oclif/core/config')
    const config = await Config.load(ROOT)
    const root = config.getPluginsList().find((plugin) => plugin.root === config.root)
    for (const command of root?.commands ?? []) {
      const built = (command as {relativePath?: string[]}).relativePath
      if (!built || built[0] !== 'dist')
        throw new Error(`oclif.manifest.json has no dist/ path for ${command.id}; run npm run build`)
      const source = join(ROOT, 'src', ...built.slice(1)).replace(/\.js$/, '.ts')
      const plugin = root
      command.load = async () => {
        // What oclif's Plugin.findCommand sets on the class it loads.
        const loaded = Object.assign(((await import(source)) as {default: Command.Class}).default, {
          id: command.id,
          plugin,
          isESM: true,
          relativePath: built,
        })
        return loaded
      }
    }
    return config
  })()
  return oclifConfig
}

/**
 * Runs the command in this process, as bin/run.js would run it through oclif (src/cli/main.ts's
 * runOclif: help, topics, hooks, the command, and what is printed for an error that escapes it),
 * minus the launcher's fast paths (cached root help, the lean `token` path). For the run: the
 * working directory is `cwd`, the environment exactly cleanEnv(env), stdout and stderr (also
 * console's) are captured, process.exit throws back here, and process.exitCode becomes the
 * result's code; all restored after. Runs are serialized: they share process-wide state.
 */
function runInProcess(args: string[], options: CliOptions): Promise<CliResult> {
  const run = queue.then(async () => {
    const config = await loadOclifConfig()
    const {runOclif} = await import('../src/cli/main.js')
    const result: CliResult = {code: null, stdout: '', stderr: ''}
    const saved = {
      cwd: process.cwd(),
      env: {...process.env},
      stdout: process.stdout.write,
      stderr: process.stderr.write,
      exit: process.exit,
      console: globalThis.console,
      exitCode: process.exitCode,
    }
    const capture = (stream: 'stdout' | 'stderr') =>
      ((chunk: string | Uint8Array, encoding?: unknown, callback?: unknown) => {
        result[stream] += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')
        const done = typeof encoding === 'function' ? encoding : callback
        if (typeof done === 'function') process.nextTick(done)
        return true
      }) as typeof process.stdout.write
    setEnvironment(cleanEnv(options.env))
    process.chdir(options.cwd)
    process.exitCode = undefined
    process.stdout.write = capture('stdout')
    process.stderr.write = capture('stderr')
    globalThis.console = new Console(process.stdout, process.stderr)
    process.exit = (code?: number) => {
      throw Object.assign(new Error(`process.exit(${code ?? ''})`), {
        code: 'EEXIT',
        oclif: {exit: code ?? Number(process.exitCode ?? 0)},
      })
    }
    try {
      const escaped = await runOclif(args, config)
      result.code = escaped ?? Number(process.exitCode ?? 0)
    } finally {
      process.exit = saved.exit
      globalThis.console = saved.console
      process.stdout.write = saved.stdout
      process.stderr.write = saved.stderr
      process.exitCode = saved.exitCode
      process.chdir(saved.cwd)
      setEnvironment(saved.env)
    }
    return result
  })
  queue = run.catch(() => undefined)
  return run
}

/**
 * A `passport` for shell scripts that runs each command in this process (runCli): `DIR/bin/passport`
 * is a bash script that sends its working directory and arguments to a loopback socket served
 * here and prints what the run printed, exiting with its code. Scripts keep their shell (quoting,
 * `$(…)`, redirects) at a fraction of a process per command. The environment of a run is
 * cleanEnv(), as for runCli; nothing is read from stdin.
 */
export async function passportOnPath(dir: string): Promise<{bin: string; close: () => Promise<void>}> {
  const server = createServer((socket) => {
    let buffer = Buffer.alloc(0)
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk])
      // NUL-separated: the count of what follows, the working directory, stdout and stderr files, exported PASSPORT_* variables, the arguments.
      const fields = buffer.toString('utf8').split('\0')
      const count = Number(fields[0])
      if (fields.length < count + 2) return
      const [cwd, out, err, exported, ...args] = fields.slice(1, count + 1) as [
        string,
        string,
        string,
        string,
        ...string[],
      ]
      socket.removeAllListeners('data')
      // The shell's exported PASSPORT_* variables (one NAME=value a line), as a spawned CLI would see them.
      const env = Object.fromEntries(
        exported
          .split('\n')
          .filter((line) => line.includes('='))
          .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
      )
      void runInProcess(args, {cwd, env}).then(
        (result) => {
          writeFileSync(out, result.stdout)
          writeFileSync(err, result.stderr)
          socket.end(`${result.code ?? 1}\n`)
        },
        (error: unknown) => {
          writeFileSync(err, `runner: ${String(error)}\n`)
          socket.end('99\n')
        },
      )
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const bin = join(dir, 'bin')
  mkdirSync(bin, {recursive: true})
  writeFileSync(
    join(bin, 'passport'),
    `#!/usr/bin/env bash
out=$(mktemp) err=$(mktemp)
exec 3<>/dev/tcp/127.0.0.1/${port}
printf '%s\\0' "$(($# + 4))" "$PWD" "$out" "$err" "$(for v in $(compgen -e PASSPORT_); do printf '%s=%s\\n' "$v" "\${!v}"; done)" "$@" >&3
read -r code <&3
cat "$out"; cat "$err" >&2; rm -f "$out" "$err"
exit "\${code:-99}"
`,
    {mode: 0o755},
  )
  return {bin, close: () => new Promise<void>((resolve) => server.close(() => resolve()))}
}

/** Makes process.env exactly `env` (in place: process.env is special). */
function setEnvironment(env: NodeJS.ProcessEnv): void {
  for (const key of Object.keys(process.env)) if (!(key in env)) delete process.env[key]
  for (const [key, value] of Object.entries(env)) if (value !== undefined) process.env[key] = value
}

export function writeJson(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`)
}

/** A TCP port on 127.0.0.1 that was free a moment ago (for commands that take a fixed --port). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
