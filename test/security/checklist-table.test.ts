import {spawnSync} from 'node:child_process'
import {join} from 'node:path'

import {expect, it} from 'vitest'

import {ROOT} from '../helpers.js'

it('docs/security.md maps every checklist line (1–73 and the added ones) to a test and is up to date with the test titles', () => {
  const result = spawnSync(process.execPath, [join(ROOT, 'scripts', 'checklist-table.mjs'), '--check'], {
    cwd: ROOT,
    encoding: 'utf8',
  })
  expect(result.stderr + result.stdout).not.toMatch(/missing|stale/i)
  expect(result.status).toBe(0)
})
