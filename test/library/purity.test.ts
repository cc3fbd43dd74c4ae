import {spawnSync} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

import {describe, expect, it} from 'vitest'

import {ROOT, tempDir} from '../helpers.js'

/**
 * SPEC §9, library purity: importing the built library (what `import … from 'passport-authority'`
 * loads) changes no global. A fresh Node process snapshots the property descriptors of
 * `globalThis` and of every built-in constructor, its prototype and the typed-array prototypes,
 * imports `dist/index.js` (and starts and stops a server, which loads the rest), and compares.
 * The `passport` command may install Uint8Array.prototype.toBase64 (src/cli/main.ts); the library may not.
 */
const SCRIPT = `
const names = Object.getOwnPropertyNames(globalThis).filter((n) => n !== 'globalThis')
function targets() {
  const list = [['globalThis', globalThis]]
  for (const name of names) {
    const value = globalThis[name]
    if (typeof value === 'function' || (typeof value === 'object' && value !== null)) {
      list.push([name, value])
      if (typeof value === 'function' && value.prototype) list.push([name + '.prototype', value.prototype])
    }
  }
  const typedArray = Object.getPrototypeOf(Uint8Array)
  list.push(['%TypedArray%', typedArray], ['%TypedArray%.prototype', typedArray.prototype])
  return list
}
function describeValue(v) {
  return typeof v === 'function' ? 'fn:' + v.name + ':' + Function.prototype.toString.call(v).length : typeof v === 'object' && v !== null ? 'object' : String(v)
}
function snapshot() {
  const out = {}
  for (const [label, target] of targets()) {
    for (const key of Reflect.ownKeys(target)) {
      let d
      try { d = Object.getOwnPropertyDescriptor(target, key) } catch { continue }
      if (!d) continue
      const parts = ['value' in d ? 'v=' + describeValue(d.value) : 'get=' + describeValue(d.get) + ',set=' + describeValue(d.set), 'w=' + d.writable, 'e=' + d.enumerable, 'c=' + d.configurable]
      out[label + '.' + String(key)] = parts.join(' ')
    }
    out[label + '[[Prototype]]'] = describeValue(Object.getPrototypeOf(target)) + ' frozen=' + Object.isFrozen(target) + ' extensible=' + Object.isExtensible(target)
  }
  return out
}
const before = snapshot()
const lib = await import(process.argv[2])
const server = await lib.startServer({port: 0})
await server.close()
const after = snapshot()
const changed = []
for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
  if (before[key] !== after[key]) changed.push(key + ': ' + (before[key] ?? '(absent)') + ' -> ' + (after[key] ?? '(absent)'))
}
process.stdout.write(JSON.stringify({changed, checked: Object.keys(before).length, exports: Object.keys(lib).length}))
`

describe('library purity (SPEC §9)', () => {
  it('importing the built library and running a server changes no global or built-in prototype', () => {
    const entry = pathToFileURL(join(ROOT, 'dist', 'index.js')).href
    // A file, not -e: under -e Node adds lazy globals for its built-in modules.
    const {dir, cleanup} = tempDir('passport-purity-')
    const script = join(dir, 'purity.mjs')
    writeFileSync(script, SCRIPT)
    const run = spawnSync(process.execPath, [script, entry], {cwd: dir, encoding: 'utf8', timeout: 60_000})
    cleanup()
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
    const result = JSON.parse(run.stdout) as {changed: string[]; checked: number; exports: number}
    expect(result.exports).toBeGreaterThan(10)
    expect(result.checked).toBeGreaterThan(1000)
    expect(result.changed).toEqual([])
  })

  it('the passport command does install Uint8Array.prototype.toBase64 where Node lacks it (the check above would see it)', () => {
    const main = pathToFileURL(join(ROOT, 'dist', 'cli', 'main.js')).href
    const probe = `const had = typeof Uint8Array.prototype.toBase64; const {run} = await import(process.argv[1]); await run(['--version']); process.stdout.write(JSON.stringify({had, has: typeof Uint8Array.prototype.toBase64}))`
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', probe, main], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    })
    const last = run.stdout.trim().split('\n').at(-1)!
    expect(JSON.parse(last)).toEqual({had: expect.any(String), has: 'function'})
  })
})
