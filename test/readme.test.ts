import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {ROOT} from './helpers.js'
import {bashWithBackground, blockAfter, inProcessPassport, projectDir} from './recipes.js'

interface Manifest {
  commands: Record<string, {flags: Record<string, {char?: string}>}>
}

/** Every `passport COMMAND --flag` written in the README and docs/, with where it was found. */
function documentedInvocations(): Array<{file: string; command: string; flags: string[]; line: string}> {
  const found: Array<{file: string; command: string; flags: string[]; line: string}> = []
  for (const file of ['README.md', 'docs/cli.md', 'docs/tokens.md']) {
    const text = readFileSync(join(ROOT, file), 'utf8')
    let inBlock = false
    for (const line of text.split('\n')) {
      if (line.trimStart().startsWith('```')) {
        inBlock = !inBlock
        continue
      }
      // Code only: whole lines inside fenced blocks, inline `code spans` elsewhere.
      const code = inBlock ? [line] : [...line.matchAll(/`([^`]+)`/g)].map((m) => m[1]!)
      for (const snippet of code) {
        for (const match of snippet.matchAll(/\bpassport ([a-z]+(?::[a-z]+)?)\b([^|;&)]*)/g)) {
          const flags = [...(match[2] ?? '').matchAll(/(?:^|\s|\[)--([a-z][a-z-]*)/g)].map((m) => m[1]!)
          found.push({file, command: match[1]!, flags, line: line.trim()})
        }
      }
    }
  }
  return found
}

describe('README and docs', () => {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as Manifest
  const invocations = documentedInvocations()

  it('name only commands that exist, with flags those commands accept', () => {
    expect(invocations.length).toBeGreaterThan(30)
    const problems: string[] = []
    for (const {file, command, flags, line} of invocations) {
      const entry = manifest.commands[command]
      if (!entry) {
        problems.push(`${file}: unknown command "${command}" in: ${line}`)
        continue
      }
      for (const flag of flags) {
        if (flag === 'help') continue
        if (!(flag in entry.flags)) problems.push(`${file}: "passport ${command}" has no --${flag} in: ${line}`)
      }
    }
    expect(problems).toEqual([])
  })

  it('show the two set-up commands', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    expect(readme).toContain('npm install && npm start')
    expect(readme).toContain('npm test')
  })

  it('list every command in the README', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    const missing = Object.keys(manifest.commands).filter(
      (id) => id !== 'help' && !readme.includes(`\`${id}\``) && !readme.includes(`passport ${id}`),
    )
    expect(missing).toEqual([])
  })
})

describe('README recipes, run as written', () => {
  it('the one-minute walkthrough (up to serve) and then the token recipe run under set -e, after init and from scratch', async () => {
    const walkthrough = blockAfter('README.md', '## One-minute walkthrough')
    const recipe = blockAfter('README.md', "### Minting tokens for an API's tests")
    const loop = blockAfter('README.md', "### Minting tokens for an API's tests", 'sh', 1)
    // Its passport commands run in this process (inProcessPassport), the recipes' text unchanged.
    const passport = await inProcessPassport()
    const bash = (script: string, cwd: string) => bashWithBackground(`${passport.prelude}\n${script}`, cwd)
    try {
      const project = projectDir()
      try {
        const setup = walkthrough
          .split('\n')
          .filter((line) => !/\bpassport serve\b/.test(line))
          .join('\n')
        const first = await bash(`set -e\n${setup}`, project.dir)
        expect(first.status, first.stderr).toBe(0)
        const ran = await bash(recipe, project.dir)
        expect(ran.status, ran.stderr).toBe(0)
        expect(ran.stdout).toMatch(/^Valid access token for user alice via client __cli__/m)
        expect(JSON.parse(readFileSync(join(project.dir, 'test', 'fixtures', 'jwks.json'), 'utf8')).keys).toHaveLength(
          1,
        )
        const looped = await bash(loop, project.dir)
        expect(looped.status, looped.stderr).toBe(0)
        for (const user of ['alice', 'bob', 'carol'])
          expect(readFileSync(join(project.dir, 'tokens', `${user}.jwt`), 'utf8')).toMatch(/^eyJ/)
      } finally {
        project.cleanup()
      }
      const fresh = projectDir()
      try {
        const ran = await bash(recipe, fresh.dir)
        expect(ran.status, ran.stderr).toBe(0)
      } finally {
        fresh.cleanup()
      }
    } finally {
      await passport.close()
    }
  }, 300_000)
})
