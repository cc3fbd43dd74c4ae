#!/usr/bin/env node
// Build step (after `oclif manifest`): renders `passport --help` with oclif itself and stores it,
// with what the text depends on, in dist/root-help.json, so passport (src/cli/main.ts) can answer the root help
// without loading oclif (see src/cli/root-help.ts). Any doubt leaves no cache: oclif answers.
import {spawnSync} from 'node:child_process'
import {rmSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {CACHE_FILE, ROOT_HELP_FORMS, helpKey} from '../dist/cli/root-help.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const env = {}
for (const [name, value] of Object.entries(process.env)) {
  if (name.startsWith('OCLIF_') || ['DEBUG', 'PASSPORT_DEBUG', 'FORCE_COLOR', 'NODE_OPTIONS'].includes(name)) continue
  env[name] = value
}
env.PASSPORT_HELP_CACHE = 'off'

rmSync(CACHE_FILE, {force: true})
let text
const forms = []
for (const form of ROOT_HELP_FORMS) {
  const run = spawnSync(process.execPath, [join(root, 'bin', 'run.js'), ...form], {cwd: root, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000})
  const ok = run.status === 0 && run.stderr === '' && run.stdout !== '' && !run.stdout.includes('\u001b')
  if (!ok) {
    process.stderr.write(`root help cache: "passport ${form.join(' ')}" gave exit ${run.status}${run.stderr ? `, stderr: ${run.stderr.split('\n')[0]}` : ''}; not cached\n`)
    continue
  }
  text ??= run.stdout
  if (run.stdout === text) forms.push(form.join(' '))
}
if (text !== undefined && forms.length > 0) {
  writeFileSync(CACHE_FILE, `${JSON.stringify({key: helpKey(), forms, text})}\n`)
  process.stdout.write(`wrote root help (${forms.map((f) => `"${f}"`).join(', ')}) to ${CACHE_FILE}\n`)
}
