#!/usr/bin/env node
// CommonJS on purpose (bin/package.json): a CommonJS entry runs before Node's ES module loader
// first uses libuv's thread pool, which is the last moment the pool's size can still be chosen.
'use strict'

const {availableParallelism} = require('node:os')

// WebCrypto signs tokens on the thread pool. Node's default of 4 threads on a 2-core machine lets
// the signing threads preempt the event loop that feeds them (about 15% fewer tokens per second
// from `passport serve`); one thread per core does not. An explicit UV_THREADPOOL_SIZE wins.
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(2, availableParallelism()))

// Node 22.1+: cache compiled code between runs; a no-op on older versions.
require('node:module').enableCompileCache?.()

import('../dist/cli/main.js').then(({run}) => run(process.argv.slice(2)))
