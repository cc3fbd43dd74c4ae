import {availableParallelism} from 'node:os'

import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    // One child process per worker for all its files, not a fresh one per file: starting a process
    // and importing vitest, jose, better-sqlite3 and src/ again cost about 1 s for each of the ~100
    // files (quiet 2-core machine: 160 s → 111 s for the suite). Tests share no state through
    // modules: the in-process CLI runner (test/helpers.ts) restores env, cwd, stdout and exit;
    // nothing patches a global; anything that must see a pristine process spawns one.
    isolate: false,
    // At least two: vitest's default (cores − 1) runs one file at a time on a 2-core machine, while
    // most files wait on child processes and sockets (285 s → 195 s for the suite, measured).
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
})
