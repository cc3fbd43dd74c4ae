import {readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {describe, expect, it} from 'vitest'

import {configJsonSchemaText, SCHEMA_FILE} from '../../scripts/config-schema.mjs'
import {CONFIG_SCHEMA_PATH} from '../../src/commands/init.js'
import {parseConfig} from '../../src/core/config.js'
import {configSchemaForJson} from '../../src/core/config-schema.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const committed = readFileSync(join(root, SCHEMA_FILE), 'utf8')

describe('passport.config.schema.json', () => {
  it('is what the valibot schema parseConfig checks with generates (npm run build regenerates it)', () => {
    expect(committed).toBe(configJsonSchemaText(configSchemaForJson))
  })

  it('is shipped in the package, at the path passport init writes as "$schema"', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {name: string; files: string[]}
    expect(pkg.files).toContain(SCHEMA_FILE)
    expect(CONFIG_SCHEMA_PATH).toBe(`./node_modules/${pkg.name}/${SCHEMA_FILE}`)
  })

  it('describes every top-level key parseConfig accepts, and refuses others', () => {
    const schema = JSON.parse(committed) as {
      properties: Record<string, {description?: string}>
      additionalProperties: boolean
    }
    expect(schema.additionalProperties).toBe(false)
    for (const [key, property] of Object.entries(schema.properties)) {
      expect(property.description, key).toBeTruthy()
      expect(() => parseConfig({[key]: {}}, 'f.json')).not.toThrow(/unknown key/)
    }
    expect(() => parseConfig({$schema: CONFIG_SCHEMA_PATH}, 'f.json')).not.toThrow()
  })
})
