import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import {ReplayCache, type ReplayLimits, type ReplayUse} from '../../src/core/replay-cache.js'

// The replay cache finds a client's oldest entry through a kept cursor (a new Map iterator walks
// every slot deleted entries left at the front of V8's table: ~15 µs a use at 10,000 entries).
// It must decide exactly as the plain version did: that version is kept here as the model.

interface Entry {
  client: string
  expiresAt: number
}

/** The replay cache before the cursor (src/core/replay-cache.ts of 2026-12-06), unchanged but for names. */
class ModelReplayCache {
  private readonly entries = new Map<string, Entry>()
  private readonly clients = new Map<string, Map<string, number>>()
  private readonly bySize = new Map<number, Set<string>>()
  private largest = 0
  private lastSweep = Number.NEGATIVE_INFINITY

  constructor(
    readonly limits: ReplayLimits,
    readonly whenClientFull: 'evict' | 'refuse',
  ) {}

  get size(): number {
    return this.entries.size
  }

  held(client: string): number {
    return this.clients.get(client)?.size ?? 0
  }

  use(client: string, key: string, expiresAt: number, now: number): ReplayUse {
    const known = this.entries.get(key)
    if (known !== undefined) {
      if (known.expiresAt > now) return {accepted: false, replay: true}
      this.remove(key, known.client)
    }
    const mine = this.clients.get(client)
    if (mine !== undefined) this.dropExpired(client, mine, now, true)
    if ((mine?.size ?? 0) >= this.limits.perClient) {
      const refusal = this.makeRoom(client, client, now)
      if (refusal) return refusal
    }
    if (this.entries.size >= this.limits.total) {
      this.sweep(now)
      if (this.entries.size >= this.limits.total) {
        const refusal = this.makeRoom(this.largestClient(client), client, now)
        if (refusal) return refusal
      }
    }
    let bucket = this.clients.get(client)
    if (!bucket) this.clients.set(client, (bucket = new Map<string, number>()))
    bucket.set(key, expiresAt)
    this.entries.set(key, {client, expiresAt})
    this.resized(client, bucket.size - 1, bucket.size)
    return {accepted: true}
  }

  private makeRoom(victim: string, caller: string, now: number): ReplayUse | undefined {
    const bucket = this.clients.get(victim)!
    const [oldestKey, oldestExpiry] = bucket.entries().next().value!
    if (victim === caller && this.whenClientFull === 'refuse') {
      return {
        accepted: false,
        replay: false,
        held: bucket.size,
        limit: this.limits.perClient,
        retryAfterMs: Math.max(0, oldestExpiry - now),
      }
    }
    this.remove(oldestKey, victim)
    return undefined
  }

  private largestClient(caller: string): string {
    if (this.held(caller) === this.largest) return caller
    return this.bySize.get(this.largest)!.values().next().value!
  }

  private resized(client: string, from: number, to: number): void {
    if (from === to) return
    if (from > 0) this.bySize.get(from)!.delete(client)
    if (to > 0) {
      let now = this.bySize.get(to)
      if (!now) this.bySize.set(to, (now = new Set()))
      now.add(client)
    }
    if (to > this.largest) this.largest = to
    while (this.largest > 0 && (this.bySize.get(this.largest)?.size ?? 0) === 0) this.largest--
  }

  private remove(key: string, client: string): void {
    this.entries.delete(key)
    const bucket = this.clients.get(client)
    if (!bucket?.delete(key)) return
    this.resized(client, bucket.size + 1, bucket.size)
    if (bucket.size === 0) this.clients.delete(client)
  }

  private dropExpired(client: string, bucket: Map<string, number>, now: number, frontOnly: boolean): void {
    const before = bucket.size
    for (const [key, expiresAt] of bucket) {
      if (expiresAt > now) {
        if (frontOnly) break
        continue
      }
      this.entries.delete(key)
      bucket.delete(key)
    }
    this.resized(client, before, bucket.size)
    if (bucket.size === 0) this.clients.delete(client)
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < 1000 && now >= this.lastSweep) return
    this.lastSweep = now
    for (const [client, bucket] of this.clients) this.dropExpired(client, bucket, now, false)
  }
}

describe('the replay cache decides as the plain version did', () => {
  it('same answers, sizes and holdings over random uses: replays, expiries out of order, clients filling and emptying, sweeps', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('evict' as const, 'refuse' as const),
        fc.constantFrom(
          {perClient: 1, total: 1},
          {perClient: 3, total: 5},
          {perClient: 4, total: 9},
          {perClient: 8, total: 8},
        ),
        fc.array(
          fc.tuple(
            fc.integer({min: 0, max: 4}),
            fc.integer({min: 0, max: 40}),
            fc.integer({min: 1, max: 3_000}),
            fc.constantFrom(0, 1, 7, 250, 1_500),
          ),
          {maxLength: 1_500},
        ),
        (mode, limits, uses) => {
          const cache = new ReplayCache(limits, mode)
          const model = new ModelReplayCache(limits, mode)
          let now = 0
          for (const [client, key, life, step] of uses) {
            now += step
            expect(cache.use(`c${client}`, `k${key}`, now + life, now)).toEqual(
              model.use(`c${client}`, `k${key}`, now + life, now),
            )
            expect(cache.size).toBe(model.size)
            for (let c = 0; c < 5; c++) expect(cache.held(`c${c}`)).toBe(model.held(`c${c}`))
          }
        },
      ),
      {numRuns: 200},
    )
  })

  it('a client at its share for 30,000 uses forgets its oldest entry each time, in order', () => {
    const cache = new ReplayCache({perClient: 1_000, total: 10_000}, 'evict')
    for (let i = 0; i < 30_000; i++) expect(cache.use('flood', `k${i}`, 1_000_000 + i, i)).toEqual({accepted: true})
    expect(cache.held('flood')).toBe(1_000)
    // k29000 … k29999 are live, oldest first; k28999 was forgotten.
    expect(cache.use('other', 'k28999', 2_000_000, 30_000)).toEqual({accepted: true})
    expect(cache.use('other', 'k29000', 2_000_000, 30_000)).toEqual({accepted: false, replay: true})
    // A new use of the full client evicts its oldest entry, k29000, and no other.
    expect(cache.use('flood', 'new', 2_000_000, 30_000)).toEqual({accepted: true})
    expect(cache.use('x', 'k29000', 2_000_000, 30_000)).toEqual({accepted: true})
    expect(cache.use('x', 'k29001', 2_000_000, 30_000)).toEqual({accepted: false, replay: true})
  })
})
