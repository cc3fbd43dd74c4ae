/** One request as the log keeps it: never a secret, token, code or query string. */
export interface LoggedRequest {
  /** When it arrived (the authority's clock), ISO 8601. */
  at: string
  method: string
  /** The path without the query string. */
  path: string
  status: number
  /** The authenticated (or, for /authorize, the named and registered) client, if any. */
  client: string | null
  /** The token request's grant_type, if any. */
  grant: string | null
  /** Milliseconds from arrival to the last byte of the answer. */
  duration: number
}

/** An entry as kept: `at` in Unix ms (formatted only when read). */
export type RawLoggedRequest = Omit<LoggedRequest, 'at'> & {at: number}

/** The last {@link capacity} requests, oldest first: a ring buffer, O(1) per request. */
export class RequestLog {
  private readonly entries: (RawLoggedRequest | undefined)[]
  private next = 0
  private count = 0

  constructor(readonly capacity = 1000) {
    this.entries = new Array<RawLoggedRequest | undefined>(capacity)
  }

  add(entry: RawLoggedRequest): void {
    this.entries[this.next] = entry
    this.next = (this.next + 1) % this.capacity
    if (this.count < this.capacity) this.count++
  }

  /** A copy, oldest first (newest last). */
  list(): LoggedRequest[] {
    const out: LoggedRequest[] = []
    const start = (this.next - this.count + this.capacity) % this.capacity
    for (let i = 0; i < this.count; i++) {
      const entry = this.entries[(start + i) % this.capacity]!
      out.push({...entry, at: new Date(entry.at).toISOString()})
    }
    return out
  }

  clear(): void {
    this.entries.fill(undefined)
    this.next = 0
    this.count = 0
  }
}
