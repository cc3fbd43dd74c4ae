// `passport token` without oclif. Scripts call it in loops (TOKEN=$(passport token …)), and on
// Node 20 loading oclif costs more than everything the command does (~175 ms of ~370 ms). This
// path parses the command's own flag definitions from oclif.manifest.json with node:util's
// strict parseArgs and runs the same code as the oclif command (mintFromFlags, reportError). It
// declines, leaving the run to oclif, at the first thing it does not handle exactly as oclif
// would: help, an unknown, malformed or repeated flag, a positional argument, colourised `--json` on a
// terminal, OCLIF_* or DEBUG settings, PASSPORT_LEAN_TOKEN=off, or a manifest it cannot read.
import {readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs, type ParseArgsConfig} from 'node:util'

import type {Authority} from '../core/authority.js'
import {loadConfig} from '../core/config.js'
import {PassportError, UsageError} from '../errors.js'
import {noteConfigFound, openAuthority} from './global-flags.js'
import {reportError, reportWarning} from './report.js'
import {mintFromFlags} from './tokens.js'

const MANIFEST = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'oclif.manifest.json')

interface ManifestFlag {
  name: string
  type: 'boolean' | 'option'
  multiple?: boolean
  env?: string
  char?: string
  allowNo?: boolean
  default?: unknown
  options?: unknown
  required?: boolean
  dependsOn?: unknown
  exclusive?: unknown
  exactlyOne?: unknown
  relationships?: unknown
}

/** Runs `passport token ARGS` when it can; false means nothing was done and oclif must run. */
export async function runTokenWithoutOclif(args: string[]): Promise<boolean> {
  const env = process.env
  if (
    env.PASSPORT_LEAN_TOKEN === 'off' ||
    env.DEBUG !== undefined ||
    Object.keys(env).some((name) => name.startsWith('OCLIF_'))
  )
    return false
  const flags = tokenFlags()
  if (!flags) return false
  let values: Record<string, unknown>
  try {
    const parsed = parseArgs({args, options: parseOptions(flags), strict: true, allowPositionals: false, tokens: true})
    // parseArgs keeps the last of a repeated single-value flag; oclif refuses it.
    const given = parsed.tokens.filter((token) => token.kind === 'option').map((token) => token.name)
    if (flags.some((flag) => !flag.multiple && given.indexOf(flag.name) !== given.lastIndexOf(flag.name))) return false
    values = parsed.values
  } catch {
    return false
  }
  for (const flag of flags) {
    if (values[flag.name] !== undefined || flag.env === undefined) continue
    const fromEnv = env[flag.env]
    if (fromEnv === '') return false
    if (fromEnv !== undefined) values[flag.name] = fromEnv
  }
  const json = values.json === true
  if (json && process.stdout.isTTY) return false

  const opened: {authority?: Authority} = {}
  try {
    const config = loadConfig(values.config as string | undefined)
    noteConfigFound(config)
    const open = (issuer: string | undefined) => (opened.authority = openAuthority(values, config, issuer))
    const minted = await mintFromFlags(values, open, reportWarning)
    process.stdout.write(json ? `${JSON.stringify(minted, null, 2)}\n` : `${minted.access_token}\n`)
  } catch (error) {
    reportError(error as Error, {usage: error instanceof UsageError, known: error instanceof PassportError}, json)
  } finally {
    opened.authority?.close()
  }
  return true
}

/** The token command's flags from the manifest, or undefined when one needs oclif's parser. */
function tokenFlags(): ManifestFlag[] | undefined {
  let flags: ManifestFlag[]
  try {
    const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8')) as {
      commands?: {token?: {flags?: Record<string, ManifestFlag>}}
    }
    flags = Object.values(manifest.commands?.token?.flags ?? {})
  } catch {
    return undefined
  }
  const simple = (flag: ManifestFlag) =>
    (flag.type === 'option' || (flag.type === 'boolean' && !flag.allowNo)) &&
    flag.char === undefined &&
    flag.default === undefined &&
    flag.options === undefined &&
    !flag.required &&
    flag.dependsOn === undefined &&
    flag.exclusive === undefined &&
    flag.exactlyOne === undefined &&
    flag.relationships === undefined
  return flags.length > 0 && flags.every(simple) ? flags : undefined
}

function parseOptions(flags: ManifestFlag[]): NonNullable<ParseArgsConfig['options']> {
  return Object.fromEntries(
    flags.map((flag) => [
      flag.name,
      {type: flag.type === 'option' ? 'string' : 'boolean', multiple: flag.multiple === true},
    ]),
  )
}
