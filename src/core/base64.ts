/** The [[TypedArrayName]] of a typed array (what `ValidateUint8Array` checks), or undefined. */
// eslint-disable-next-line @typescript-eslint/unbound-method -- the getter is only ever called through .call(value)
const typedArrayName = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype),
  Symbol.toStringTag,
)!.get!

/**
 * Gives Node versions without it (before 25) `Uint8Array.prototype.toBase64` (ES2026,
 * proposal-arraybuffer-base64), encoded by Buffer's native base64. jose encodes every part of a
 * JWS with this method when it exists; without it jose falls back to `String.fromCharCode`,
 * `btoa` and three regular-expression replaces, which cost the event loop 25–40 µs per token signed
 * (see docs/performance.md). Installed only where the method is missing, with the specification's
 * argument checks; a native method is never replaced. Only the `passport` process installs it
 * (src/cli/main.ts): the library changes no global (SPEC §9).
 */
export function provideUint8ArrayToBase64(): void {
  if (typeof (Uint8Array.prototype as {toBase64?: unknown}).toBase64 === 'function') return
  Object.defineProperty(Uint8Array.prototype, 'toBase64', {
    value: uint8ArrayToBase64,
    writable: true,
    enumerable: false,
    configurable: true,
  })
}

/** The options object the specification uses when none is given: no prototype to read from. */
const NO_OPTIONS: object = Object.freeze(Object.create(null) as object)

/** The method itself (exported for tests: on Node 25+ the native one is installed instead). */
export function uint8ArrayToBase64(this: Uint8Array, options: unknown = undefined): string {
  if (typedArrayName.call(this) !== 'Uint8Array')
    throw new TypeError('Uint8Array.prototype.toBase64 called on an object that is not a Uint8Array')
  if (options !== undefined && Object(options) !== options)
    throw new TypeError('The options of toBase64 must be an object')
  const opts = (options ?? NO_OPTIONS) as {alphabet?: unknown; omitPadding?: unknown}
  const alphabet = opts.alphabet ?? 'base64'
  if (alphabet !== 'base64' && alphabet !== 'base64url')
    throw new TypeError('The alphabet of toBase64 must be "base64" or "base64url"')
  const omitPadding = Boolean(opts.omitPadding)
  if (this.byteLength === 0 && isDetached(this.buffer))
    throw new TypeError('Cannot encode a Uint8Array whose buffer is detached')
  const bytes = Buffer.from(this.buffer, this.byteOffset, this.byteLength)
  if (alphabet === 'base64') {
    const encoded = bytes.toString('base64')
    return omitPadding ? encoded.replace(/=+$/, '') : encoded
  }
  // Buffer's base64url never pads.
  const encoded = bytes.toString('base64url')
  return omitPadding || encoded.length % 4 === 0
    ? encoded
    : encoded.padEnd(encoded.length + 4 - (encoded.length % 4), '=')
}

/** Node 20 has no `ArrayBuffer.prototype.detached`; a view over a detached buffer cannot be made. */
function isDetached(buffer: ArrayBufferLike): boolean {
  try {
    new Uint8Array(buffer)
    return false
  } catch {
    return true
  }
}
