import {join} from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {Authority} from '../../src/core/authority.js'
import {parseConfig} from '../../src/core/config.js'
import {generateKeys, keyLocation} from '../../src/core/keys.js'
import {serve} from '../../src/server/index.js'
import {Store} from '../../src/store/index.js'
import {tempDir} from '../helpers.js'

describe("the server's SQLite page cache", () => {
  let dir: string
  let cleanup: () => void
  beforeEach(() => {
    ;({dir, cleanup} = tempDir('passport-cache-'))
  })
  afterEach(() => cleanup())

  it("is capped at 4 MB on the connection passport serve uses; other connections keep better-sqlite3's 16 MB", async () => {
    await generateKeys(join(dir, 'keys'))
    const authority = Authority.open({
      config: parseConfig({}),
      database: join(dir, 'passport.sqlite'),
      keys: keyLocation(join(dir, 'keys'), {}),
    })
    expect(authority.store.db.pragma('cache_size', {simple: true})).toBe(-16000)
    const running = await serve(authority, {
      host: '127.0.0.1',
      port: 0,
      prefix: '/oauth',
      except: [],
      autoApprove: false,
    })
    try {
      expect(authority.store.db.pragma('cache_size', {simple: true})).toBe(-4096)
      const other = Store.open(join(dir, 'passport.sqlite'))
      expect(other.db.pragma('cache_size', {simple: true})).toBe(-16000)
      other.close()
    } finally {
      await running.close()
    }
  })
})
