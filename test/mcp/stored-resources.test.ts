import {join} from 'node:path'

import {afterEach, describe, expect, it} from 'vitest'

import {parseConfig} from '../../src/core/config.js'
import {withStoredResources} from '../../src/core/stored-resources.js'
import {Store} from '../../src/store/index.js'
import {tempDir} from '../helpers.js'

/**
 * The running authority's resource registry = the configuration's resources + those another
 * process (`passport protect`) registered in the shared database. It looks at the database at
 * most once per synchronous stretch (a token request reads it several times), so a change by
 * another connection shows from the next turn on, and this connection's own writes at once.
 */
const cleanups: (() => void)[] = []
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup()
})

function twoConnections(): {mine: Store; other: Store} {
  const temp = tempDir('passport-stored-resources-')
  const path = join(temp.dir, 'passport.sqlite')
  const mine = Store.open(path)
  const other = Store.open(path)
  cleanups.push(() => {
    mine.close()
    other.close()
    temp.cleanup()
  })
  return {mine, other}
}

const row = (uri: string, scopes: string[] | null = null) => ({uri, name: uri, scopes, source: 'protect', createdAt: 1})

describe('the resource registry with stored resources', () => {
  it("another process's registration shows from the next turn; within one stretch the registry holds still", async () => {
    const {mine, other} = twoConnections()
    const config = parseConfig({resources: {'https://config.test/api': {name: 'From config'}}})
    const registry = withStoredResources(config.resources, mine)
    expect(Object.keys(registry)).toEqual(['https://config.test/api'])

    other.resources.upsert(row('https://protect.test/mcp', ['mcp']))
    // The same synchronous stretch: the registry does not look again.
    expect(Object.hasOwn(registry, 'https://protect.test/mcp')).toBe(false)
    await Promise.resolve()
    expect(Object.hasOwn(registry, 'https://protect.test/mcp')).toBe(true)
    expect(registry['https://protect.test/mcp']).toEqual({name: 'https://protect.test/mcp', scopes: ['mcp']})

    // Removed by its process (protect exits): gone from the next turn; the config's stays.
    other.resources.delete('https://protect.test/mcp', 'protect')
    await Promise.resolve()
    expect(Object.keys(registry)).toEqual(['https://config.test/api'])
  })

  it("this connection's own writes show at once, even within the stretch", () => {
    const {mine} = twoConnections()
    const registry = withStoredResources(parseConfig({}).resources, mine)
    expect(Object.keys(registry)).toEqual([])
    mine.resources.upsert(row('https://here.test/mcp'))
    expect(Object.keys(registry)).toEqual(['https://here.test/mcp'])
    mine.resources.delete('https://here.test/mcp', 'protect')
    expect(Object.keys(registry)).toEqual([])
  })

  it('a stored resource never replaces one of the configuration with the same URI', async () => {
    const {mine, other} = twoConnections()
    const registry = withStoredResources(
      parseConfig({resources: {'https://same.test/api': {name: 'Configured', scopes: ['read']}}}).resources,
      mine,
    )
    other.resources.upsert(row('https://same.test/api', null))
    await Promise.resolve()
    expect(registry['https://same.test/api']).toEqual({name: 'Configured', scopes: ['read']})
  })
})
