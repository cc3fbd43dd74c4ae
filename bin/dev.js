#!/usr/bin/env -S node --import tsx
// Development entry: the TypeScript sources through tsx (CommonJS like bin/run.js).
'use strict'

import('@oclif/core/execute').then(({execute}) =>
  execute({development: true, dir: require('node:path').join(__dirname, '..', 'package.json')}),
)
