/**
 * Single-use identifiers (DPoP proof `jti`s, client assertion `jti`s) remembered until they could
 * no longer be accepted anyway, bounded so that anonymous callers cannot grow memory and one
 * caller filling its share does not refuse anyone else:
 *
 * - every entry belongs to a client (the one the proof or assertion was presented for) and is
 *   dropped at its expiry, read on the authority's one clock;
 * - a client holds at most `perClient` live entries: beyond that, depending on `whenClientFull`,
 *   its own oldest entry is forgotten (`evict`) or its new identifier refused (`refuse`);
 * - at most `total` live entries in all: beyond that the client holding the most entries loses its
 *   oldest one (or, in `refuse` mode, is refused when that client is the caller), so a client
 *   holding no more than its fair share (`total` / clients present) keeps every entry.
 *
 * A replay is looked up across clients: an identifier used for one client is a replay for every
 * other one too.
 */
export interface ReplayLimits {
  /** Live entries one client may hold. */
  perClient: number
  /** Live entries in all. */
  total: number
}

export type ReplayUse =
  /** First use: recorded. */
  | {accepted: true}
  /** The identifier is live: a replay. */
  | {accepted: false; replay: true}
  /** `refuse` mode: the client holds its share; `retryAfterMs` until its oldest entry expires. */
  | {accepted: false; replay: false; held: number; limit: number; retryAfterMs: number}

interface Entry {
  client: string
  expiresAt: number
}

/**
 * DPoP proof `jti`s (RFC 9449 §11.1), each kept until its proof's `iat` window has passed (at most
 * two minutes). A full client forgets its own oldest proof: no client is refused, and the proofs
 * that lose their replay check are the flooding client's (for a public client, whose id anyone
 * may name: its oldest, which expire within two minutes anyway).
 */
export const DPOP_REPLAY_LIMITS: ReplayLimits = {perClient: 10_000, total: 100_000}

/**
 * `private_key_jwt` assertion `jti`s (RFC 7523 §3), each kept until the assertion's `exp` (at most
 * ten minutes ahead). Only a client's own key can add to its share, so a full client is refused
 * (429, until its oldest assertion expires) rather than a replay let through.
 */
export const ASSERTION_REPLAY_LIMITS: ReplayLimits = {perClient: 10_000, total: 100_000}

/** How often, at most, a cache at its total walks every entry to drop the expired ones. */
const SWEEP_INTERVAL_MS = 1000

export class ReplayCache {
  /** Every live entry by identifier (what a replay is looked up in), in insertion order. */
  private readonly entries = new Map<string, Entry>()
  /** Each client's identifiers in insertion order (its oldest first) with their expiry. */
  private readonly clients = new Map<string, Bucket>()
  /** Clients by the number of entries they hold, and the largest such number: the largest client in O(1). */
  private readonly bySize = new Map<number, Set<string>>()
  private largest = 0
  private lastSweep = Number.NEGATIVE_INFINITY

  constructor(
    readonly limits: ReplayLimits,
    readonly whenClientFull: 'evict' | 'refuse',
  ) {
    if (!(limits.perClient >= 1 && limits.total >= limits.perClient))
      throw new RangeError(
        `Replay cache limits need 1 <= perClient <= total (got ${limits.perClient}, ${limits.total}).`,
      )
  }

  /** Live entries in all (expired ones may linger until the next sweep). */
  get size(): number {
    return this.entries.size
  }

  /** Entries `client` holds. */
  held(client: string): number {
    return this.clients.get(client)?.size ?? 0
  }

  /**
   * Records `key` for `client` until `expiresAt` (Unix ms), unless it is live already (a replay)
   * or, in `refuse` mode, the client holds its share. Synchronous: among concurrent uses of one
   * identifier exactly one is accepted.
   */
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
    if (!bucket) this.clients.set(client, (bucket = new Bucket()))
    bucket.set(key, expiresAt)
    this.entries.set(key, {client, expiresAt})
    this.resized(client, bucket.size - 1, bucket.size)
    return {accepted: true}
  }

  /** Forgets `victim`'s oldest entry, or (refuse mode, the victim being the caller) says why not. */
  private makeRoom(victim: string, caller: string, now: number): ReplayUse | undefined {
    const bucket = this.clients.get(victim)!
    const [oldestKey, oldestExpiry] = bucket.oldest()!
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

  /** The client holding the most entries; the caller when it is among them. */
  private largestClient(caller: string): string {
    if (this.held(caller) === this.largest) return caller
    return this.bySize.get(this.largest)!.values().next().value!
  }

  /** Keeps {@link bySize} and {@link largest} up to date after a client went from `from` to `to` entries. */
  private resized(client: string, from: number, to: number): void {
    if (from === to) return
    // Emptied sets are kept (at most perClient of them): a client at its share moves back and forth.
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

  /**
   * Drops a client's expired entries: from the front only (they are mostly inserted in expiry
   * order), or all of them.
   */
  private dropExpired(client: string, bucket: Bucket, now: number, frontOnly: boolean): void {
    const before = bucket.size
    if (frontOnly) {
      for (let oldest = bucket.oldest(); oldest !== undefined && oldest[1] <= now; oldest = bucket.oldest()) {
        this.entries.delete(oldest[0])
        bucket.delete(oldest[0])
      }
    } else {
      for (const [key, expiresAt] of bucket.all()) {
        if (expiresAt > now) continue
        this.entries.delete(key)
        bucket.delete(key)
      }
    }
    this.resized(client, before, bucket.size)
    if (bucket.size === 0) this.clients.delete(client)
  }

  /** Every expired entry, at most once a second: a flood cannot make every request walk the map. */
  private sweep(now: number): void {
    if (now - this.lastSweep < SWEEP_INTERVAL_MS && now >= this.lastSweep) return
    this.lastSweep = now
    for (const [client, bucket] of this.clients) this.dropExpired(client, bucket, now, false)
  }
}

/**
 * One client's identifiers and their expiry, in insertion order, with its oldest entry found in
 * O(1). A Map alone would do, but finding its first entry with a new iterator walks every slot
 * its deleted entries left at the front of V8's table (up to the table's size, ~15 µs a use at
 * 10,000 entries); a kept cursor walks each slot once.
 */
class Bucket {
  private readonly expiry = new Map<string, number>()
  /** Walks {@link expiry} in insertion order; every entry before {@link front} is gone. */
  private cursor: IterableIterator<[string, number]> | undefined
  /** The oldest entry, once the cursor has reached it. */
  private front: [string, number] | undefined

  get size(): number {
    return this.expiry.size
  }

  /** Records a key not held (a new key goes last in insertion order). */
  set(key: string, expiresAt: number): void {
    this.expiry.set(key, expiresAt)
  }

  delete(key: string): boolean {
    if (!this.expiry.delete(key)) return false
    // The cursor is past the front already: the next oldest is the cursor's next entry.
    if (this.front !== undefined && this.front[0] === key) this.front = undefined
    return true
  }

  /** The oldest entry, or undefined when empty. */
  oldest(): [string, number] | undefined {
    if (this.front !== undefined) return this.front
    if (this.expiry.size === 0) return undefined
    // A finished cursor sees no later entries: start a new one (from the first entry).
    for (let attempt = 0; attempt < 2; attempt++) {
      this.cursor ??= this.expiry.entries()
      const next = this.cursor.next()
      if (!next.done) return (this.front = next.value)
      this.cursor = undefined
    }
    return undefined
  }

  /** Every entry, oldest first (deleting while walking them is safe). */
  all(): IterableIterator<[string, number]> {
    return this.expiry.entries()
  }
}
