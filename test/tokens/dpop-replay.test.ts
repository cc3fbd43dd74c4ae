import {describe, expect, it} from 'vitest'

import {DpopNonces, DpopReplayCache} from '../../src/core/dpop.js'

describe('the DPoP replay cache: bounded in memory and in time', () => {
  it('checklist 142: a jti is refused while its proof could still be accepted, and forgotten after', () => {
    const cache = new DpopReplayCache(10)
    expect(cache.use('k:a', 61_000, 1_000)).toBe(true)
    expect(cache.use('k:a', 61_000, 30_000)).toBe(false)
    // After the proof's iat window its entry is gone: the cache does not grow with time.
    expect(cache.use('k:b', 130_000, 70_000)).toBe(true)
    expect(cache.size).toBe(1)
  })

  it('checklist 142: full of live entries, it refuses new proofs (503) instead of forgetting one that could be replayed', () => {
    const cache = new DpopReplayCache(3)
    for (const key of ['a', 'b', 'c']) expect(cache.use(key, 60_000, 0)).toBe(true)
    expect(() => cache.use('d', 60_000, 10)).toThrow(expect.objectContaining({code: 'temporarily_unavailable', status: 503}))
    expect(cache.use('a', 60_000, 20)).toBe(false)
    // Once the entries expire there is room again.
    expect(cache.use('d', 130_000, 61_000)).toBe(true)
    expect(cache.size).toBe(1)
  })

  it('checklist 143: server nonces: the current and the previous one are accepted, older ones not', () => {
    const nonces = new DpopNonces(1000)
    const first = nonces.current(0)
    expect(nonces.accepts(first, 500)).toBe(true)
    const second = nonces.current(1000)
    expect(second).not.toBe(first)
    expect(nonces.accepts(first, 1500)).toBe(true)
    nonces.current(2000)
    expect(nonces.accepts(first, 2500)).toBe(false)
    expect(nonces.accepts(second, 2500)).toBe(true)
  })
})
