import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, describe, expect, it} from 'vitest'

import {ROOT, runCli, tempDir} from '../helpers.js'

// passport (src/cli/main.ts) answers the root help from dist/root-help.json (rendered by oclif at build time)
// when nothing that shapes oclif's output differs; it must never differ from oclif's own answer.
// Real processes: only the launcher takes that fast path.
describe('passport --help from the build-time rendering', () => {
  const {dir, cleanup} = tempDir()
  afterAll(cleanup)

  it('was rendered at build for --help and help', () => {
    const cache = JSON.parse(readFileSync(join(ROOT, 'dist', 'root-help.json'), 'utf8')) as {
      forms: string[]
      text: string
    }
    expect(cache.forms).toEqual(['--help', 'help'])
    expect(cache.text).toContain('USAGE\n  $ passport [COMMAND]')
  })

  it('prints exactly what oclif prints, exit 0, nothing on stderr', async () => {
    const [fast, oclif, help] = await Promise.all([
      runCli(['--help'], {cwd: dir, spawn: true}),
      runCli(['--help'], {cwd: dir, spawn: true, env: {PASSPORT_HELP_CACHE: 'off'}}),
      runCli(['help'], {cwd: dir, spawn: true}),
    ])
    expect(oclif.code).toBe(0)
    expect(fast).toEqual(oclif)
    expect(help).toEqual(oclif)
  })

  it('leaves other widths to oclif', async () => {
    const [narrow, oclif] = await Promise.all([
      runCli(['--help'], {cwd: dir, spawn: true, env: {OCLIF_COLUMNS: '50'}}),
      runCli(['--help'], {cwd: dir, spawn: true, env: {OCLIF_COLUMNS: '50', PASSPORT_HELP_CACHE: 'off'}}),
    ])
    expect(narrow.code).toBe(0)
    expect(narrow).toEqual(oclif)
    expect(narrow.stdout).not.toBe(JSON.parse(readFileSync(join(ROOT, 'dist', 'root-help.json'), 'utf8')).text)
  })
})
