import {describe, expect, it} from 'vitest'

import {uuidv7} from '../../src/core/ids.js'

const UUIDV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe('uuidv7', () => {
  it('gives RFC 9562 version-7 ids, unique and in order, across many refills of its random pool', () => {
    const ids = Array.from({length: 2000}, () => uuidv7())
    expect(ids.every((id) => UUIDV7.test(id))).toBe(true)
    expect(new Set(ids).size).toBe(ids.length)
    expect([...ids].sort()).toEqual(ids)
  })

  it('carries the millisecond it is given and differs in its random part', () => {
    // Later than any clock that runs this: an earlier millisecond would be bumped to keep ids in order.
    const ms = Date.UTC(2100, 0, 1, 12, 0, 0, 123)
    const [a, b] = [uuidv7(ms + 10_000), uuidv7(ms + 20_000)]
    expect(Number.parseInt(a.replaceAll('-', '').slice(0, 12), 16)).toBe(ms + 10_000)
    expect(Number.parseInt(b.replaceAll('-', '').slice(0, 12), 16)).toBe(ms + 20_000)
    expect(a.slice(19)).not.toBe(b.slice(19))
  })
})
