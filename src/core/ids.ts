import {randomBytes} from 'node:crypto'

let lastMs = 0
let sequence = 0

// Randomness drawn 4 KB at a time, as Node's randomUUID does: one randomBytes call costs ~4 µs,
// most of it the call itself, and the token endpoint needs an id per request.
const POOL_BYTES = 4096
let pool = Buffer.alloc(0)
let poolOffset = 0

function randomFromPool(size: number): Buffer {
  if (poolOffset + size > pool.length) {
    pool = randomBytes(POOL_BYTES)
    poolOffset = 0
  }
  const bytes = Buffer.allocUnsafe(size)
  pool.copy(bytes, 0, poolOffset, poolOffset + size)
  poolOffset += size
  return bytes
}

/**
 * A UUIDv7 (RFC 9562): 48-bit millisecond timestamp, then randomness. Row keys and `jti`s are
 * time-ordered so inserts append to the index and purges walk it in order. A 12-bit counter
 * keeps ids from one process monotonic within the same millisecond.
 */
export function uuidv7(now = Date.now()): string {
  if (now <= lastMs) {
    sequence = (sequence + 1) & 0xfff
    if (sequence === 0) lastMs += 1
    now = lastMs
  } else {
    lastMs = now
    sequence = randomFromPool(2).readUInt16BE(0) & 0x7ff
  }
  const bytes = randomFromPool(16)
  bytes.writeUIntBE(now, 0, 6)
  bytes[6] = 0x70 | (sequence >> 8)
  bytes[7] = sequence & 0xff
  bytes[8] = 0x80 | (bytes[8]! & 0x3f)
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
