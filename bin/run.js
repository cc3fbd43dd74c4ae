#!/usr/bin/env node
import module from 'node:module'

// Node 22.1+: cache compiled code between runs; a no-op on older versions.
module.enableCompileCache?.()

const argv = process.argv.slice(2)
// `passport --help` / `passport help`: oclif's own build-time rendering when it is valid here
// (src/cli/root-help.ts), which spares loading @oclif/core; otherwise oclif as usual.
const cached = argv.length === 1 && (argv[0] === '--help' || argv[0] === 'help') ? (await import('../dist/cli/root-help.js')).cachedRootHelp(argv) : undefined
if (cached === undefined) {
  const {execute} = await import('@oclif/core/execute')
  await execute({dir: import.meta.url})
} else {
  process.stdout.write(cached)
}
