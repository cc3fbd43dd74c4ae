#!/usr/bin/env node
// Build step (after `oclif manifest`): renders `passport --help` with oclif itself and stores it,
// with what the text depends on, in dist/root-help.json, so passport (src/cli/main.ts) can answer the root help
// without loading oclif (see src/cli/root-help.ts). Any doubt leaves no cache: oclif answers.
import {spawnSync} from 'node:child_process'
import {rmSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {CACHE_FILE, ROOT_HELP_FORMS, TERMINAL_WIDTHS, helpKey, stripColour} from '../dist/cli/root-help.js'

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
  const run = spawnSync(process.execPath, [join(root, 'bin', 'run.js'), ...form], {
    cwd: root,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
  })
  const ok = run.status === 0 && run.stderr === '' && run.stdout !== '' && !run.stdout.includes('\u001b')
  if (!ok) {
    process.stderr.write(
      `root help cache: "passport ${form.join(' ')}" gave exit ${run.status}${run.stderr ? `, stderr: ${run.stderr.split('\n')[0]}` : ''}; not cached\n`,
    )
    continue
  }
  text ??= run.stdout
  if (run.stdout === text) forms.push(form.join(' '))
}

/**
 * What oclif prints to a terminal `columns` wide, coloured (or not): a terminal's output differs
 * from a pipe's only by its width and colour, which OCLIF_COLUMNS and FORCE_COLOR set here
 * (test/cli/root-help-terminal.test.ts compares with a real pseudo-terminal). Undefined on failure.
 */
function terminalHelp(columns, colour) {
  const run = spawnSync(process.execPath, [join(root, 'bin', 'run.js'), '--help'], {
    cwd: root,
    env: {...env, OCLIF_COLUMNS: String(columns), ...(colour ? {FORCE_COLOR: '1'} : {NO_COLOR: '1'})},
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
  })
  return run.status === 0 && run.stderr === '' && run.stdout !== '' ? run.stdout : undefined
}

let terminal
if (text !== undefined && forms.length > 0) {
  const widths = {}
  for (const width of TERMINAL_WIDTHS) {
    const rendered = terminalHelp(width, true)
    if (rendered !== undefined) widths[width] = rendered
  }
  // The width from which oclif wraps nothing: its longest line at 1000 columns, checked by
  // rendering at that width (and one more) and finding the same text.
  const unwrapped = terminalHelp(1000, true)
  let wideFrom
  if (unwrapped !== undefined) {
    const longest = Math.max(
      ...stripColour(unwrapped)
        .split('\n')
        .map((line) => line.length),
    )
    for (let width = Math.max(longest, 40); width <= longest + 3 && wideFrom === undefined; width++) {
      if (terminalHelp(width, true) === unwrapped && terminalHelp(width + 1, true) === unwrapped) wideFrom = width
    }
  }
  const plain = widths[80] === undefined ? undefined : terminalHelp(80, false)
  terminal = {
    widths,
    ...(wideFrom === undefined ? {} : {wideFrom, wide: unwrapped}),
    plainIsStripped: plain !== undefined && plain === stripColour(widths[80]),
  }
}
if (text !== undefined && forms.length > 0) {
  writeFileSync(CACHE_FILE, `${JSON.stringify({key: helpKey(), forms, text, ...(terminal ? {terminal} : {})})}\n`)
  process.stdout.write(`wrote root help (${forms.map((f) => `"${f}"`).join(', ')}) to ${CACHE_FILE}\n`)
}
