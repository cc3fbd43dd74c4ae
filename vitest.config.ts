import {availableParallelism} from 'node:os'

import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    // At least two: vitest's default (cores − 1) runs one file at a time on a 2-core machine, while
    // most files wait on child processes and sockets (285 s → 195 s for the suite, measured).
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
})
