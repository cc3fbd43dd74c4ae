import {spawn, spawnSync} from 'node:child_process'
import {mkdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {cleanEnv, passportOnPath, ROOT, tempDir} from './helpers.js'

/** The `nth` fenced block of `lang` after the heading `heading` in `file`, as written. */
export function blockAfter(file: string, heading: string, lang = 'sh', nth = 0): string {
  const text = readFileSync(join(ROOT, file), 'utf8')
  const start = text.indexOf(`\n${heading}\n`)
  if (start === -1) throw new Error(`${file} has no heading ${heading}`)
  const blocks = [...text.slice(start).matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))]
  return blocks[nth]![1]!
}

/**
 * A project that installed passport-authority: `npx passport` and
 * `node node_modules/passport-authority/bin/run.js` resolve to this checkout, as after
 * `npm install --save-dev passport-authority`. `scripts` become its package.json scripts.
 */
export function projectDir(scripts: Record<string, string> = {}): {dir: string; cleanup: () => void} {
  const project = tempDir('passport-recipe-')
  mkdirSync(join(project.dir, 'node_modules', '.bin'), {recursive: true})
  symlinkSync(ROOT, join(project.dir, 'node_modules', 'passport-authority'))
  symlinkSync('../passport-authority/bin/run.js', join(project.dir, 'node_modules', '.bin', 'passport'))
  writeFileSync(
    join(project.dir, 'package.json'),
    JSON.stringify({name: 'recipe', private: true, scripts, devDependencies: {'passport-authority': '*'}}),
  )
  return project
}

/** Runs `script` with bash in `cwd` (the CLI's clean environment plus `env`). */
export function bash(
  script: string,
  cwd: string,
  env: Record<string, string> = {},
): {status: number | null; stdout: string; stderr: string} {
  return spawnSync('bash', ['-c', script], {cwd, env: cleanEnv(env), encoding: 'utf8', timeout: 120_000})
}

/**
 * Runs `script` with bash in a process group of its own and, once bash exits, ends that group: a
 * recipe's background `serve &` (started through npx, whose child a `kill %1` does not reach)
 * must not outlive it.
 */
export function bashWithBackground(
  script: string,
  cwd: string,
  env: Record<string, string> = {},
): Promise<{status: number | null; stdout: string; stderr: string}> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], {
      cwd,
      env: cleanEnv(env),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    let status: number | null = null
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.on('error', reject)
    child.on('exit', (code) => {
      status = code
      try {
        process.kill(-child.pid!, 'SIGTERM')
      } catch {
        // The group has already ended.
      }
    })
    child.on('close', () => resolve({status, stdout, stderr}))
  })
}

/**
 * Lines to put before a recipe so that its `passport …`, `npx passport …` and
 * `node node_modules/passport-authority/bin/run.js …` run in this process (passportOnPath), the
 * recipe's text unchanged; `serve`, which runs until stopped, stays the built CLI. The script must
 * run asynchronously (bashWithBackground): this process answers its commands.
 */
export async function inProcessPassport(): Promise<{prelude: string; close: () => Promise<void>}> {
  const shims = tempDir('passport-shim-')
  const passport = await passportOnPath(shims.dir)
  const prelude = [
    `passport() { if [ "$1" = serve ]; then command node ${JSON.stringify(join(ROOT, 'bin', 'run.js'))} "$@"; else ${JSON.stringify(join(passport.bin, 'passport'))} "$@"; fi; }`,
    'npx() { if [ "$1" = passport ]; then shift; passport "$@"; else command npx "$@"; fi; }',
    'node() { if [ "$1" = node_modules/passport-authority/bin/run.js ]; then shift; passport "$@"; else command node "$@"; fi; }',
  ].join('\n')
  return {
    prelude,
    close: async () => {
      await passport.close()
      shims.cleanup()
    },
  }
}
