import {execFileSync, spawnSync} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, describe, expect, it} from 'vitest'

import {BIN, ROOT, cleanEnv, tempDir} from '../helpers.js'

// `passport --help` at a terminal: a real pseudo-terminal (util-linux `script`) of a given width,
// once through the build-time rendering and once through oclif (PASSPORT_HELP_CACHE=off); the
// bytes must be the same, and a preloaded probe tells whether @oclif/core was loaded at all.
const hasScript = spawnSync('script', ['--version'], {stdio: 'ignore'}).status === 0

describe.skipIf(!hasScript)('passport --help at a terminal', () => {
  const {dir, cleanup} = tempDir()
  afterAll(cleanup)
  const probe = join(dir, 'probe.cjs')
  writeFileSync(
    probe,
    `process.on('exit', () => require('node:fs').writeFileSync(process.env.PROBE_OUT, String(Object.keys(require.cache).some((f) => f.includes('@oclif/core')))))\n`,
  )
  const cache = JSON.parse(readFileSync(join(ROOT, 'dist', 'root-help.json'), 'utf8')) as {
    terminal: {widths: Record<string, string>; wideFrom: number; wide: string}
  }

  /** stdout of `passport --help` in a pseudo-terminal `columns` wide, and whether oclif was loaded. */
  function atTerminal(columns: number, env: Record<string, string> = {}): {stdout: string; oclifLoaded: boolean} {
    const out = join(dir, `probe-${columns}-${Object.keys(env).join('-')}`)
    const stdout = execFileSync(
      'script',
      ['-qec', `stty cols ${columns} rows 50; exec "${process.execPath}" "${BIN}" --help`, '/dev/null'],
      {
        cwd: dir,
        env: cleanEnv({
          TERM: 'xterm',
          NO_COLOR: undefined,
          CI: undefined,
          NODE_OPTIONS: `--require ${probe}`,
          PROBE_OUT: out,
          ...env,
        }),
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    return {stdout: stdout.replace(/\r\n/g, '\n'), oclifLoaded: readFileSync(out, 'utf8') === 'true'}
  }

  it('was rendered at build for 80, 100 and 120 columns and for any width from which nothing wraps', () => {
    expect(Object.keys(cache.terminal.widths)).toEqual(['80', '100', '120'])
    expect(cache.terminal.widths['80']).toContain('\u001b[1mUSAGE\u001b[22m\n  $ passport [COMMAND]')
    expect(cache.terminal.wideFrom).toBeGreaterThan(120)
  })

  it.each([80, 100, 120, 'wide'] as const)(
    'at %s columns prints what oclif prints, colours included, without loading oclif',
    (which) => {
      const columns = which === 'wide' ? cache.terminal.wideFrom + 7 : which
      const fast = atTerminal(columns)
      const oclif = atTerminal(columns, {PASSPORT_HELP_CACHE: 'off'})
      expect(oclif.oclifLoaded).toBe(true)
      expect(fast.oclifLoaded).toBe(false)
      expect(fast.stdout).toBe(oclif.stdout)
      expect(fast.stdout).toBe(which === 'wide' ? cache.terminal.wide : cache.terminal.widths[String(which)])
    },
  )

  it("without colour (NO_COLOR) prints oclif's uncoloured text, without loading oclif", () => {
    const fast = atTerminal(100, {NO_COLOR: '1'})
    const oclif = atTerminal(100, {NO_COLOR: '1', PASSPORT_HELP_CACHE: 'off'})
    expect(fast.stdout).not.toContain('\u001b[')
    expect(fast.stdout).toBe(oclif.stdout)
    expect(fast.oclifLoaded).toBe(false)
  })

  it("under CI (where oclif does not colour) prints oclif's uncoloured text, without loading oclif", () => {
    const fast = atTerminal(100, {CI: 'true'})
    const oclif = atTerminal(100, {CI: 'true', PASSPORT_HELP_CACHE: 'off'})
    expect(oclif.stdout).not.toContain('\u001b[')
    expect(fast.stdout).toBe(oclif.stdout)
    expect(fast.oclifLoaded).toBe(false)
  })

  it('leaves a width it has not rendered to oclif (90 columns)', () => {
    const served = atTerminal(90)
    expect(served.oclifLoaded).toBe(true)
    expect(served.stdout).toBe(atTerminal(90, {PASSPORT_HELP_CACHE: 'off'}).stdout)
  })
})
