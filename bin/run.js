#!/usr/bin/env node
import module from 'node:module'

// Node 22.1+: cache compiled code between runs; a no-op on older versions.
module.enableCompileCache?.()

const {execute} = await import('@oclif/core')
await execute({dir: import.meta.url})
