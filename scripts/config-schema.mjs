#!/usr/bin/env node
// Build step (after tsc): writes passport.config.schema.json, the JSON schema editors use to
// complete and check passport.config.json (its "$schema"), from the valibot schema parseConfig
// checks with (src/core/config-schema.ts). The file is committed and shipped (package.json
// "files"); test/cli/config-schema.test.ts checks that it equals what the schema generates.
// Rules that only code can check (URIs, subjects, client ids, JWK Sets) stay in parseConfig.
import {writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {toJsonSchema} from '@valibot/to-json-schema'

export const SCHEMA_FILE = 'passport.config.schema.json'

/** The JSON schema text for `configSchemaForJson()` (from src or dist). */
export function configJsonSchemaText(configSchemaForJson) {
  const schema = toJsonSchema(configSchemaForJson(), {target: 'draft-07', errorMode: 'ignore'})
  return `${JSON.stringify({$schema: schema.$schema, title: 'passport.config.json', ...schema}, null, 2)}\n`
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const {configSchemaForJson} = await import('../dist/core/config-schema.js')
  const root = join(dirname(fileURLToPath(import.meta.url)), '..')
  writeFileSync(join(root, SCHEMA_FILE), configJsonSchemaText(configSchemaForJson))
  console.log(`wrote ${SCHEMA_FILE}`)
}
