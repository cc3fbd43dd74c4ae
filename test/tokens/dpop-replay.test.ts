import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import {DpopNonces} from '../../src/core/dpop.js'
import {ReplayCache} from '../../src/core/replay-cache.js'

describe('the replay caches: bounded in memory and in time, per client', () => {
  it('checklist 142: a jti is refused while its proof could still be accepted, and forgotten after', () => {
    const cache = new ReplayCache({perClient: 10, total: 10}, 'evict')
    expect(cache.use('c', 'k:a', 61_000, 1_000)).toEqual({accepted: true})
    expect(cache.use('c', 'k:a', 61_000, 30_000)).toEqual({accepted: false, replay: true})
    // Used for another client, it is a replay too.
    expect(cache.use('d', 'k:a', 61_000, 30_000)).toEqual({accepted: false, replay: true})
    // After the proof's iat window its entry is gone: the cache does not grow with time.
    expect(cache.use('c', 'k:b', 130_000, 70_000)).toEqual({accepted: true})
    expect(cache.size).toBe(1)
  })

  it('checklist 153: evict mode: a client over its share forgets its own oldest entry; another client keeps all of its own and is never refused', () => {
    const cache = new ReplayCache({perClient: 3, total: 6}, 'evict')
    expect(cache.use('quiet', 'q1', 60_000, 0).accepted).toBe(true)
    for (let i = 0; i < 100; i++) expect(cache.use('flood', `f${i}`, 60_000, i).accepted).toBe(true)
    expect([cache.held('flood'), cache.held('quiet'), cache.size]).toEqual([3, 1, 4])
    expect(cache.use('flood', 'f99', 60_000, 200)).toEqual({accepted: false, replay: true})
    expect(cache.use('quiet', 'q1', 60_000, 200)).toEqual({accepted: false, replay: true})
  })

  it('checklist 153, 154: at the total, the client with the most entries loses its oldest; one within its fair share keeps every entry', () => {
    for (const mode of ['evict', 'refuse'] as const) {
      const cache = new ReplayCache({perClient: 4, total: 6}, mode)
      for (const key of ['a1', 'a2', 'a3', 'a4']) cache.use('a', key, 60_000, 0)
      for (const key of ['b1', 'b2']) cache.use('b', key, 60_000, 0)
      expect(cache.use('c', 'c1', 60_000, 0)).toEqual({accepted: true})
      expect([mode, cache.held('a'), cache.held('b'), cache.held('c'), cache.size]).toEqual([mode, 3, 2, 1, 6])
      expect(cache.use('b', 'b1', 60_000, 0)).toEqual({accepted: false, replay: true})
    }
  })

  it('checklist 154: refuse mode: a client at its share is refused until its oldest entry expires, then served; others are not affected', () => {
    const cache = new ReplayCache({perClient: 2, total: 10}, 'refuse')
    cache.use('k', 'j1', 90_000, 0)
    cache.use('k', 'j2', 95_000, 1_000)
    expect(cache.use('k', 'j3', 95_000, 5_000)).toEqual({
      accepted: false,
      replay: false,
      held: 2,
      limit: 2,
      retryAfterMs: 85_000,
    })
    expect(cache.use('other', 'j3', 95_000, 5_000)).toEqual({accepted: true})
    expect(cache.use('k', 'j4', 180_000, 90_000)).toEqual({accepted: true})
    expect(cache.held('k')).toBe(2)
  })

  it('checklist 153, 154: under 2,000 random uses it never holds more than its bounds, and a live key is always a replay', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('evict' as const, 'refuse' as const),
        fc.array(fc.tuple(fc.integer({min: 0, max: 5}), fc.integer({min: 0, max: 30}), fc.integer({min: 1, max: 50})), {
          maxLength: 2_000,
        }),
        (mode, uses) => {
          const cache = new ReplayCache({perClient: 4, total: 9}, mode)
          let now = 0
          for (const [client, key, life] of uses) {
            now += 1
            const before = cache.use(`c${client}`, `k${key}`, now + life, now)
            if (before.accepted)
              expect(cache.use(`c${(client + 1) % 6}`, `k${key}`, now + life, now)).toEqual({
                accepted: false,
                replay: true,
              })
            const held = Array.from({length: 6}, (_, i) => cache.held(`c${i}`))
            expect(Math.max(...held)).toBeLessThanOrEqual(4)
            expect(held.reduce((a, b) => a + b, 0)).toBe(cache.size)
            expect(cache.size).toBeLessThanOrEqual(9)
          }
        },
      ),
      {numRuns: 50},
    )
  })

  it('refuses limits it cannot keep', () => {
    expect(() => new ReplayCache({perClient: 0, total: 10}, 'evict')).toThrow(RangeError)
    expect(() => new ReplayCache({perClient: 5, total: 4}, 'evict')).toThrow(RangeError)
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
