import type {Config} from '@oclif/core/config'

import {endOfEscapedError} from './report.js'

/**
 * What `passport` runs (bin/run.js is only the launcher). `passport --help` / `passport help` is
 * answered from oclif's own build-time rendering when it is valid here (./root-help.ts), which
 * spares loading @oclif/core; so is `passport token` when it can be (./lean-token.ts). Everything
 * else goes through oclif.
 */
export async function run(argv: string[]): Promise<void> {
  // The passport process (never the library: importing it changes no global) gives jose the
  // native-speed Uint8Array.prototype.toBase64 that Node < 25 lacks (see core/base64.ts).
  const {provideUint8ArrayToBase64} = await import('../core/base64.js')
  provideUint8ArrayToBase64()
  const cached =
    argv.length === 1 && (argv[0] === '--help' || argv[0] === 'help')
      ? (await import('./root-help.js')).cachedRootHelp(argv)
      : undefined
  if (cached !== undefined) {
    process.stdout.write(cached)
    return
  }
  if (argv[0] === 'token' && (await (await import('./lean-token.js')).runTokenWithoutOclif(argv.slice(1)))) return
  const exit = await runOclif(argv, import.meta.url)
  if (exit !== undefined) process.exit(exit)
  const {flush} = await import('@oclif/core/flush')
  await flush()
}

/**
 * `argv` through oclif (hooks, help, version, topics, the command) with `config`: where to load it
 * from (oclif walks up to the package root) or an oclif `Config` already loaded (the in-process
 * runner of our tests). A command reports its own failures (BaseCommand.catch sets
 * process.exitCode); what escapes it (oclif's exit from `this.exit()`, help or a hook, or an error
 * raised outside any command) ends here, as `endOfEscapedError` says. Returns that exit code, or
 * undefined when the run ended normally.
 */
export async function runOclif(argv: string[], config: string | Config): Promise<number | undefined> {
  // oclif, under NODE_ENV=development or test (a user's own test suite, ours), looks for the
  // TypeScript source of every command and tries to register tsx or ts-node for it: about 0.7 s
  // per run in a checkout, wasted, as bin/run.js always runs the built dist/.
  const {settings} = await import('@oclif/core/settings')
  settings.enableAutoTranspile = false
  const {run: oclif} = await import('@oclif/core/run')
  try {
    await oclif(argv, config)
    return undefined
  } catch (error) {
    return endOfEscapedError(error)
  }
}
