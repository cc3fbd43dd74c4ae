import {afterAll, describe, expect, it} from 'vitest'

import {type CliResult, runCli, spawnCli, tempDir} from '../helpers.js'

// Most CLI tests run the command in the test's own process (test/helpers.ts runCli, from src/).
// These run the same steps both ways, each way in its own fresh directory, and require
// the same exit code, stdout and stderr as the real process (bin/run.js, dist/): success, a
// failure (1), usage errors (2) from the parser and from the command_not_found hook, --json
// errors, help, the version.
const STEPS: string[][] = [
  ['keys'],
  ['keys'],
  ['nosuch'],
  ['client:show'],
  ['client:show', 'web', '--bogus'],
  ['--version'],
  ['client', '--help'],
  ['client', 'Web', '--id', 'web', '--redirect-uri', 'http://localhost:3000/cb', '--json'],
  ['client:list'],
  ['client:show', 'nope', '--json'],
  ['keys:rotate', '--bits', '1000'],
  ['purge', '--json'],
]

/** Runs differ only in their directory, key ids, secrets and times. */
function normalize(result: CliResult, dir: string): CliResult {
  const clean = (text: string) =>
    text
      .replaceAll(dir, 'DIR')
      .replace(/[\w-]{32,}/g, 'RANDOM')
      .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, 'TIME')
  return {code: result.code, stdout: clean(result.stdout), stderr: clean(result.stderr)}
}

describe('the in-process runner', () => {
  const inProcess = tempDir()
  const spawned = tempDir()
  afterAll(() => {
    inProcess.cleanup()
    spawned.cleanup()
  })

  it('gives what the real process gives, step by step', async () => {
    const steps = async (run: typeof runCli, cwd: string) => {
      const results: CliResult[] = []
      for (const args of STEPS) results.push(normalize(await run(args, {cwd}), cwd))
      return results
    }
    const [here, real] = await Promise.all([steps(runCli, inProcess.dir), steps(spawnCli, spawned.dir)])
    for (const [i, args] of STEPS.entries()) expect(here[i], `passport ${args.join(' ')}`).toEqual(real[i])
    expect(real.map((r) => r.code)).toEqual([0, 1, 2, 2, 2, 0, 0, 0, 0, 1, 2, 0])
  })

  it('leaves the working directory, the environment and the exit code as they were', async () => {
    const before = {cwd: process.cwd(), env: {...process.env}, exitCode: process.exitCode}
    const failed = await runCli(['client:show', 'nope'], {
      cwd: inProcess.dir,
      env: {PASSPORT_DATABASE: 'other.sqlite', EXTRA: '1'},
    })
    expect(failed.code).toBe(1)
    expect({cwd: process.cwd(), env: {...process.env}, exitCode: process.exitCode}).toEqual(before)
  })

  it('serializes runs started together: each gets only its own output', async () => {
    const results = await Promise.all(
      ['a', 'b', 'c'].map((id) =>
        runCli(['client', id, '--id', id, '--client-credentials', '--json'], {cwd: inProcess.dir}),
      ),
    )
    expect(results.map((r) => [r.code, (JSON.parse(r.stdout) as {client_id: string}).client_id, r.stderr])).toEqual([
      [0, 'a', ''],
      [0, 'b', ''],
      [0, 'c', ''],
    ])
  })
})
