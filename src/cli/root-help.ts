// `passport --help` without loading oclif: the root help is rendered by oclif itself at build time
// (scripts/root-help.mjs → dist/root-help.json) and printed from there only when nothing that
// shapes oclif's output differs from the build: the same manifest, package, oclif and help
// plugin, Node version, platform and kernel, no OCLIF_* / DEBUG / FORCE_COLOR settings, and either
// a pipe (80 columns, no colour) or a terminal whose width was rendered at build (80, 100, 120
// columns, or any width at which oclif wraps nothing), coloured as oclif colours it there.
// Anything else — or any doubt — goes through oclif as usual.
// Loading @oclif/core alone costs ~150 ms; this path costs a few file reads.
import {existsSync, readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {release} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

/** The argument lists oclif answers with the root help (checked at build time). */
export const ROOT_HELP_FORMS = [['--help'], ['help']] as const

export interface RootHelpCache {
  /** What the text depends on; all must match at run time. */
  key: Record<string, string>
  /** argv forms (joined by a space) verified at build to print `text` and exit 0. */
  forms: string[]
  /** What oclif prints to a pipe (80 columns, no colour). */
  text: string
  /** What oclif prints to a terminal, with colour, by terminal width (absent: not rendered). */
  terminal?: {
    widths: Record<string, string>
    /** From this width on oclif wraps nothing and prints `wide`. */
    wideFrom?: number
    wide?: string
    /** Whether oclif's uncoloured terminal output is the coloured one without its escapes (NO_COLOR, TERM=dumb). */
    plainIsStripped: boolean
  }
}

/** The widths rendered at build for terminals, besides the width from which nothing wraps. */
export const TERMINAL_WIDTHS = [80, 100, 120] as const

/** The text without SGR escape sequences (colour, bold). */
export function stripColour(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, '')
}

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const CACHE_FILE = join(ROOT, 'dist', 'root-help.json')

/** Everything the rendered root help depends on besides the environment checked in {@link cachedRootHelp}. */
export function helpKey(): Record<string, string> {
  const require = createRequire(join(ROOT, 'package.json'))
  return {
    package: fingerprint(join(ROOT, 'package.json')),
    manifest: fingerprint(join(ROOT, 'oclif.manifest.json')),
    oclif: fingerprint(packageJson(oclifEntry())),
    help: fingerprint(packageJson(require.resolve('@oclif/plugin-help'))),
    node: process.version,
    platform: `${process.platform}-${process.arch}-${release()}`,
  }
}

let oclifPath: string | undefined
const oclifEntry = () => (oclifPath ??= createRequire(join(ROOT, 'package.json')).resolve('@oclif/core'))

/** Length and 32-bit FNV-1a of a file (cheaper to load than node:crypto; this guards staleness, not secrets). */
function fingerprint(path: string): string {
  const bytes = readFileSync(path)
  let h = 0x811c9dc5
  for (const byte of bytes) h = Math.imul(h ^ byte, 0x01000193)
  return `${bytes.length}:${(h >>> 0).toString(16)}`
}

/** The package.json of the package a resolved entry file belongs to (packages may not export it). */
function packageJson(entry: string): string {
  let dir = dirname(entry)
  for (let i = 0; i < 10; i++) {
    const candidate = join(dir, 'package.json')
    if (existsSync(candidate)) return candidate
    dir = dirname(dir)
  }
  throw new Error(`no package.json above ${entry}`)
}

/**
 * Does oclif colour its output here? It colours only when supports-color allows both stdout and
 * stderr (@oclif/core ux/supports-color.js; off under CI, for one), and then through ansis: ask the
 * same two libraries, resolved where oclif resolves them.
 */
function colours(): boolean {
  const require = createRequire(oclifEntry())
  const supports = require('supports-color') as {stdout: unknown; stderr: unknown}
  return (
    Boolean(supports.stdout) && Boolean(supports.stderr) && (require('ansis') as {isSupported(): boolean}).isSupported()
  )
}

/** oclif's width for a terminal (@oclif/core screen.js): the window width, 80 when unknown, at least 40. */
function terminalWidth(): number {
  const width = process.stdout.columns ?? 0
  if (width < 1) return 80
  return Math.max(width, 40)
}

/** The build-time text oclif would print here, or undefined (another environment, width or colour). */
function renderingFor(cache: RootHelpCache, env: NodeJS.ProcessEnv): string | undefined {
  if (
    Object.keys(env).some(
      (name) => name.startsWith('OCLIF_') || name === 'DEBUG' || name === 'PASSPORT_DEBUG' || name === 'FORCE_COLOR',
    )
  )
    return undefined
  if (!process.stdout.isTTY) return colours() ? undefined : cache.text
  const terminal = cache.terminal
  if (!terminal) return undefined
  const width = terminalWidth()
  const text =
    terminal.widths[String(width)] ??
    (terminal.wideFrom !== undefined && width >= terminal.wideFrom ? terminal.wide : undefined)
  if (text === undefined) return undefined
  if (colours()) return text
  return terminal.plainIsStripped ? stripColour(text) : undefined
}

/** The root help text when the build-time rendering is valid for this process; undefined otherwise. */
export function cachedRootHelp(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.PASSPORT_HELP_CACHE === 'off') return undefined
  try {
    const cache = JSON.parse(readFileSync(CACHE_FILE, 'utf8')) as RootHelpCache
    if (!cache.forms.includes(argv.join(' '))) return undefined
    const text = renderingFor(cache, env)
    if (text === undefined) return undefined
    const key = helpKey()
    for (const [name, value] of Object.entries(key)) if (cache.key[name] !== value) return undefined
    if (Object.keys(cache.key).length !== Object.keys(key).length) return undefined
    return text
  } catch {
    return undefined
  }
}
