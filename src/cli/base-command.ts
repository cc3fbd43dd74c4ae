import {Command} from '@oclif/core/command'
import * as Errors from '@oclif/core/errors'
import * as Flags from '@oclif/core/flags'
import type * as Interfaces from '@oclif/core/interfaces'

import type {Authority} from '../core/authority.js'
import {loadConfig, type PassportConfig} from '../core/config.js'
import {PassportError, UsageError} from '../errors.js'
import type {KeyLocation} from '../core/keys.js'
import {cliClock, databasePath, keyLocationOf, noteConfigFound, openAuthority} from './global-flags.js'
import {reportError, reportWarning} from './report.js'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof BaseCommand)['baseFlags'] & T['flags']
>
export type BaseArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

/**
 * The base of every command: the global flags (`--config`, `--database`, `--key-path`, `--json`),
 * their resolution (flag > environment > config file > default), and the single place where an
 * error becomes an exit code: 2 for usage errors, 1 for anything else, never a stack trace.
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override baseFlags = {
    config: Flags.string({
      description: 'Configuration file (default ./passport.config.json).',
      env: 'PASSPORT_CONFIG',
      helpGroup: 'GLOBAL',
    }),
    database: Flags.string({
      description: 'SQLite database file (default storage/passport.sqlite).',
      env: 'PASSPORT_DATABASE',
      helpGroup: 'GLOBAL',
    }),
    'key-path': Flags.string({
      description: 'Directory holding oauth-private.key and oauth-public.key (default storage/).',
      env: 'PASSPORT_KEY_PATH',
      helpGroup: 'GLOBAL',
    }),
  }

  static override enableJsonFlag = true

  protected flags!: BaseFlags<T>
  protected args!: BaseArgs<T>
  private cachedConfig?: PassportConfig
  private cachedAuthority: Authority | undefined

  public override async init(): Promise<void> {
    await super.init()
    const {args, flags} = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (super.ctor as typeof BaseCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      args: this.ctor.args,
      strict: this.ctor.strict,
    })
    this.flags = flags as BaseFlags<T>
    this.args = args as BaseArgs<T>
  }

  /** The configuration file, read once. */
  protected get config_(): PassportConfig {
    if (!this.cachedConfig) {
      this.cachedConfig = loadConfig(this.flags.config)
      noteConfigFound(this.cachedConfig)
    }
    return this.cachedConfig
  }

  /** Uses `config` instead of reading the file (`init`, before the file is written). */
  protected useConfig(config: PassportConfig): void {
    this.cachedConfig = config
  }

  protected closeAuthority(): void {
    this.cachedAuthority?.close()
    this.cachedAuthority = undefined
  }

  protected databasePath(): string {
    return databasePath(this.flags, this.config_)
  }

  protected keyLocation(): KeyLocation {
    return keyLocationOf(this.flags, this.config_)
  }

  /** Opens the database (created on first use) with the configured clients upserted. */
  protected authority(options: {issuer?: string; now?: string} = {}): Authority {
    this.cachedAuthority ??= openAuthority(this.flags, this.config_, options.issuer, options.now)
    return this.cachedAuthority
  }

  /**
   * Now, Unix ms, on the command's clock: the opened authority's, else real time or `now`
   * (`--now`) or PASSPORT_NOW, as {@link authority} would start it.
   */
  protected now(now?: string): number {
    return this.cachedAuthority?.clock.now() ?? cliClock(now ?? process.env.PASSPORT_NOW).now()
  }

  /** A line for people on stderr (stdout stays clean for `--json` and piped tokens). */
  protected note(message: string): void {
    process.stderr.write(`${message}\n`)
  }

  protected warning(message: string): void {
    reportWarning(message)
  }

  protected override async catch(error: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<void> {
    // A parse failure is reported here; without this oclif adds an "UnparsedCommand" warning
    // (under NODE_ENV=development or test) to the one-line message.
    this.parsed = true
    // oclif's own control flow (help, version, this.exit()) must pass through.
    if (error instanceof Errors.ExitError) throw error
    const usage =
      error instanceof UsageError ||
      (error instanceof Errors.CLIError && error.oclif?.exit === 2) ||
      (error as {name?: string}).name === 'CLIParseError'
    const known = usage || error instanceof PassportError || error instanceof Errors.CLIError
    const prompted = (error as {name?: string}).name === 'ExitPromptError'
    if (isOclifParseError(error)) error.message = parseErrorMessage(error, this.config.bin, this.id ?? '')
    reportError(
      error,
      {usage, known, prompted},
      this.jsonEnabled(),
      usage || isOclifParseError(error) ? 2 : prompted ? 130 : 1,
    )
  }

  protected override async finally(error: Error | undefined): Promise<void> {
    this.cachedAuthority?.close()
    await super.finally(error)
  }
}

/**
 * oclif's parser messages in passport's voice: one sentence that says what is wrong and where
 * the usage is ("Missing 1 required arg: id  Client id. See more help with --help" becomes
 * "passport client:show needs the argument ID (Client id); see passport client:show --help.").
 */
export function parseErrorMessage(error: Error, bin: string, id: string): string {
  const help = `see ${bin} ${id} --help`
  const parsed = error as Error & {args?: Array<{name: string; description?: string}>}
  if (error.constructor.name === 'RequiredArgsError' && parsed.args) {
    const names = parsed.args.map(
      (a) => `${a.name.toUpperCase()}${a.description ? ` (${a.description.replace(/\.$/, '')})` : ''}`,
    )
    return `${bin} ${id} needs the argument${names.length === 1 ? '' : 's'} ${names.join(', ')}; ${help}.`
  }
  const lines = error.message
    // eslint-disable-next-line no-control-regex
    .replace(/\x1b\[[0-9;]*m/g, '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
  if (/^The following errors? occurred:?$/.test(lines[0] ?? '')) {
    const reasons = new Set<string>()
    for (const reason of lines.slice(1)) {
      if (reason === 'See more help with --help') continue
      const exclusive = /^--([\w-]+)(?:=\S+)? cannot also be provided when using (.+)$/.exec(reason)
      if (exclusive) {
        const pair = [`--${exclusive[1]!}`, ...exclusive[2]!.split(/,\s*/)].sort()
        reasons.add(`${pair.join(' and ')} cannot be used together`)
      } else {
        reasons.add(reason.replace(/\.$/, ''))
      }
    }
    if (reasons.size > 0) return `${[...reasons].join('; ')}; ${help}.`
  }
  const first = error.message.replace(/\s*See more help with --help\s*$/, '').trim()
  return `${first.replace(/[.:]$/, '')}; ${help}.`
}

function isOclifParseError(error: Error): boolean {
  // oclif's parser errors (unknown flag, missing arg, bad option) all carry exit code 2.
  return (error as {oclif?: {exit?: number}}).oclif?.exit === 2
}
