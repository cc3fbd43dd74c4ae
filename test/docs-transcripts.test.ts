import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {freePort, ROOT, runCli} from './helpers.js'
import {bashWithBackground, blockAfter, inProcessPassport, projectDir} from './recipes.js'

/**
 * Transcripts in docs/tokens.md (a command and what it printed) that no recipe test runs: each
 * command is run as the text says it was set up, and its answer compared with the transcript,
 * `…` standing for the part that differs on every run.
 */

/** The `$ ` command of a transcript block, and the JSON it printed (with `…` elisions kept as text). */
function transcript(block: string): {command: string; answer: string} {
  const lines = block.trimEnd().split('\n')
  const start = lines.findIndex((line) => line.startsWith('$ '))
  const commandLines = [lines[start]!.slice(2)]
  let next = start + 1
  while (commandLines.at(-1)!.endsWith('\\')) commandLines.push(lines[next++]!)
  return {command: commandLines.join('\n'), answer: lines.slice(next).join('\n')}
}

/** Does `actual` read as `shown`, where a `…` in a shown string stands for any rest of that string? */
function matchesShown(actual: Record<string, unknown>, shown: Record<string, unknown>): void {
  expect(Object.keys(actual).sort()).toEqual(Object.keys(shown).sort())
  for (const [key, value] of Object.entries(shown)) {
    if (typeof value === 'string' && value.endsWith('…'))
      expect(actual[key]).toMatch(new RegExp(`^${escape(value.slice(0, -1))}`))
    else expect(actual[key], key).toEqual(value)
  }
}
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

describe('docs/tokens.md transcripts, run as the text sets them up', () => {
  it('`passport token --client reporting --scope read --json`, for the client the text says to make', async () => {
    const block = blockAfter('docs/tokens.md', '## `passport token`', 'sh', 1)
    const {command, answer} = transcript(block)
    expect(command).toBe('passport token --client reporting --scope read --json')
    const setup = /\(here after `(passport init --yes)`, for a\nclient made with `(passport client [^`]+)`\):/.exec(
      readFileSync(join(ROOT, 'docs', 'tokens.md'), 'utf8'),
    )
    expect(setup?.slice(1)).toEqual([
      'passport init --yes',
      'passport client "Reporting" --client-credentials --id reporting --scope read',
    ])
    const project = projectDir()
    const passport = await inProcessPassport()
    try {
      const ran = await bashWithBackground(
        ['set -e', passport.prelude, `${setup![1]} > /dev/null`, `${setup![2]} > /dev/null`, command].join('\n'),
        project.dir,
      )
      expect(ran.status, ran.stderr).toBe(0)
      matchesShown(JSON.parse(ran.stdout) as Record<string, unknown>, JSON.parse(answer) as Record<string, unknown>)
    } finally {
      project.cleanup()
      await passport.close()
    }
  }, 60_000)

  it('the PAR curl, against `passport serve` with the README configuration (client web, secret dev-secret)', async () => {
    const block = blockAfter('docs/tokens.md', '## Pushed authorization requests (PAR)', 'console')
    const {command, answer} = transcript(block)
    expect(command).toMatch(/^curl -s -u web:dev-secret http:\/\/localhost:9000\/oauth\/par /)
    const shown = /^(\{.*\})\s+# (\d{3}), Cache-Control: (.+)$/.exec(answer)
    expect(shown).not.toBeNull()
    const config = blockAfter('README.md', '## Configuration', 'json')
    const project = projectDir()
    const port = await freePort()
    try {
      writeFileSync(join(project.dir, 'passport.config.json'), config)
      const prepared = await runCli(['keys'], {cwd: project.dir})
      expect(prepared.code, prepared.stderr).toBe(0)
      const ran = await bashWithBackground(
        [
          'set -e',
          `node ${JSON.stringify(join(ROOT, 'bin', 'run.js'))} serve --port ${port} > serve.log 2>&1 &`,
          `node ${JSON.stringify(join(ROOT, 'bin', 'run.js'))} healthcheck --url http://127.0.0.1:${port} --timeout 30s > /dev/null`,
          // The transcript's command, with -D to see the status and the header its comment names.
          `${command.replaceAll('localhost:9000', `127.0.0.1:${port}`)} -D headers.txt`,
          'echo',
          "grep -i '^cache-control:' headers.txt | tr -d '\\r'",
          "head -1 headers.txt | tr -d '\\r'",
          'kill %1',
        ].join('\n'),
        project.dir,
      )
      expect(ran.status, ran.stderr).toBe(0)
      const [body, cacheControl, statusLine] = ran.stdout.trimEnd().split('\n')
      matchesShown(JSON.parse(body!) as Record<string, unknown>, JSON.parse(shown![1]!) as Record<string, unknown>)
      expect(statusLine).toMatch(new RegExp(`^HTTP/1\\.1 ${shown![2]} `))
      expect(cacheControl).toBe(`Cache-Control: ${shown![3]}`)
    } finally {
      project.cleanup()
    }
  }, 60_000)
})
