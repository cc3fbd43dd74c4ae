import {stderrColor} from './output.js'

export interface ErrorKind {
  /** A usage error (bad flags or arguments): exit code 2, code ERR_USAGE. */
  usage: boolean
  /** One of passport's own errors (or oclif's): its message is shown as it is. */
  known: boolean
  /** An interactive prompt was cancelled. */
  prompted?: boolean
}

/**
 * The one way a command reports a failure: one sentence on stderr (and one JSON document on
 * stdout under --json), never a stack trace unless PASSPORT_DEBUG is set for an unexpected error,
 * and the exit code: 2 for usage errors, 130 for a cancelled prompt, 1 for anything else.
 */
export function reportError(
  error: Error & {code?: string},
  kind: ErrorKind,
  json: boolean,
  exitCode = kind.usage ? 2 : kind.prompted ? 130 : 1,
): void {
  const message = kind.prompted
    ? 'Cancelled.'
    : kind.known
      ? oneLine(error.message)
      : `Unexpected error: ${oneLine(error.message)}`
  if (json)
    process.stdout.write(
      `${JSON.stringify({error: {code: error.code ?? (kind.usage ? 'ERR_USAGE' : 'ERR_UNEXPECTED'), message}})}\n`,
    )
  process.stderr.write(`${stderrColor.red('Error:')} ${message}\n`)
  if (process.env.PASSPORT_DEBUG && !kind.known) process.stderr.write(`${error.stack ?? ''}\n`)
  process.exitCode = exitCode
}

/**
 * The end of a run when an error escaped the command's own catch: oclif's exit (`this.exit(n)`,
 * help, a hook that exits; code EEXIT) passes silently with its code; anything else (an error
 * raised outside any command) is one line, as reportError says it, never oclif's stack trace.
 * Returns the exit code. Used by the process (./main.ts) and by the in-process test runner.
 */
export function endOfEscapedError(error: unknown): number {
  const failure: Error & {code?: string; oclif?: {exit?: number}} =
    error instanceof Error ? error : new Error(String(error))
  const exit = failure.oclif?.exit
  if (failure.code === 'EEXIT') return exit ?? 0
  const code = exit ?? 1
  // oclif's own errors (CLIError and its kin carry `oclif`) say what went wrong in their message.
  reportError(failure, {usage: code === 2, known: exit !== undefined}, false, code)
  return code
}

/** One sentence: no stack, no multi-line dumps (oclif's messages can carry "See more help"). */
function oneLine(message: string): string {
  return message
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ')
}

/** A warning for people on stderr (stdout stays clean for `--json` and piped tokens). */
export function reportWarning(message: string): void {
  process.stderr.write(`${stderrColor.yellow('Warning:')} ${message}\n`)
}
