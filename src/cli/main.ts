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
  const cached = argv.length === 1 && (argv[0] === '--help' || argv[0] === 'help') ? (await import('./root-help.js')).cachedRootHelp(argv) : undefined
  if (cached !== undefined) {
    process.stdout.write(cached)
    return
  }
  if (argv[0] === 'token' && (await (await import('./lean-token.js')).runTokenWithoutOclif(argv.slice(1)))) return
  const {execute} = await import('@oclif/core/execute')
  // oclif finds the package root by walking up from here (dist/cli → the package.json).
  await execute({args: argv, dir: import.meta.url})
}
