import {spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {cleanEnv, passportOnPath, ROOT, tempDir} from '../helpers.js'

/**
 * Every `--help` example of every command (issue 18 finding 14): runnable as written after the
 * README's set-up (`passport init --yes`), or visibly a placeholder (`<client-id>`).
 */

interface Manifest {
  commands: Record<string, {examples?: Array<string | {command: string}>}>
}

const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as Manifest
const examples = Object.entries(manifest.commands).flatMap(([id, command]) =>
  (command.examples ?? []).map((example) => ({
    id,
    line: (typeof example === 'string' ? example : example.command).replaceAll('<%= config.bin %>', 'passport'),
  })),
)

/** Commands whose examples are not run: they serve until stopped, need a server, or are the set-up itself. */
const NOT_RUN: Record<string, string> = {
  serve: 'serves until stopped',
  protect: 'serves until stopped',
  healthcheck: 'needs a running server',
  init: 'the set-up itself',
}
/** `<client-id>`, `<user-code>`: the reader fills these in. */
const PLACEHOLDER = /<[a-z-]+>/
/** Examples that run and are meant to fail, with the exit code and the message they show. */
const MEANT_TO_FAIL: Record<string, [number, string]> = {
  'passport token:verify "$TOKEN" --now 2027-01-01T00:00:00Z': [1, 'Error: The token has expired.'],
}
/** The order examples run in: clients are created before they are shown, changed and deleted; tokens revoked last. */
const ORDER = ['client', 'client:list', 'client:show', 'client:secret', 'client:delete']
const rank = (id: string) => (ORDER.includes(id) ? ORDER.indexOf(id) : id === 'token:revoke' ? 99 : 50)

/** bash -c SCRIPT, asynchronously (the commands it runs are served by this process). */
function shell(
  script: string,
  options: {cwd: string; env: NodeJS.ProcessEnv},
): Promise<{status: number | null; stdout: string; stderr: string}> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], {...options, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.on('error', reject)
    child.on('close', (status) => resolve({status, stdout, stderr}))
  })
}

describe('--help examples', () => {
  it('are placeholders or name only clients that init --yes or an earlier example creates', () => {
    expect(examples.length).toBeGreaterThan(50)
    const created = new Set([
      'web',
      ...examples.flatMap(({line}) => [...line.matchAll(/^passport client .*--id (\S+)/g)].map((m) => m[1]!)),
    ])
    const named = examples.flatMap(({line}) => [
      ...[...line.matchAll(/--client (\S+)/g)].map((m) => m[1]!),
      ...[...line.matchAll(/^passport client:(?:show|secret|delete) (\S+)/g)].map((m) => m[1]!),
    ])
    expect(named.length).toBeGreaterThan(5)
    expect(named.filter((id) => !PLACEHOLDER.test(id) && !created.has(id))).toEqual([])
  })

  it('run as written in a project after passport init --yes (one shell, in order)', async () => {
    const runnable = examples
      .filter(({id, line}) => !(id in NOT_RUN) && !PLACEHOLDER.test(line))
      .sort((a, b) => rank(a.id) - rank(b.id))
    expect(runnable.length).toBeGreaterThan(35)
    const {dir, cleanup} = tempDir('passport-examples-')
    // `passport` in the shell runs each command in this process (test/helpers.ts passportOnPath).
    const passport = await passportOnPath(dir)
    try {
      // Each example's stdout is dropped, its exit code and stderr kept ($TOKEN from one example is used by later ones).
      const script = [
        'passport init --yes >/dev/null || exit 99',
        ...runnable.map(
          ({line}) =>
            `echo "=== ${line.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('$', '\\$')}"\n${line} >/dev/null 2>.err; echo "exit $? $(head -c 300 .err | tr '\\n' ' ')"`,
        ),
      ].join('\n')
      const result = await shell(script, {cwd: dir, env: cleanEnv({PATH: `${passport.bin}:${process.env.PATH}`})})
      expect(result.status, result.stderr).toBe(0)
      const outcomes = result.stdout
        .split('=== ')
        .slice(1)
        .map((part) => {
          const [line, status] = part.trimEnd().split('\n')
          return {line: line!, status: status!}
        })
      expect(outcomes.map((o) => o.line)).toEqual(runnable.map((r) => r.line))
      const wrong = outcomes.filter(({line, status}) => {
        const meant = MEANT_TO_FAIL[line]
        return meant ? !status.startsWith(`exit ${meant[0]} ${meant[1]}`) : !/^exit 0\b/.test(status)
      })
      expect(wrong).toEqual([])
    } finally {
      await passport.close()
      cleanup()
    }
  }, 300_000)
})
