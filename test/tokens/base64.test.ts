import {randomBytes} from 'node:crypto'

import {describe, expect, it} from 'vitest'

import {provideUint8ArrayToBase64, uint8ArrayToBase64} from '../../src/core/base64.js'

/** What jose computes when Uint8Array.prototype.toBase64 is missing (its own fallback). */
function joseFallback(bytes: Uint8Array, url: boolean): string {
  const encoded = btoa(String.fromCharCode(...bytes))
  return url ? encoded.replace(/=/g, '').replace(/\+/g, '-').replace(/\//g, '_') : encoded
}

const encode = (bytes: Uint8Array, options?: unknown): string => uint8ArrayToBase64.call(bytes, options)

describe('Uint8Array.prototype.toBase64 for Node before 25', () => {
  it("encodes every length and both alphabets as jose's own fallback does", () => {
    for (let length = 0; length <= 300; length++) {
      const bytes = new Uint8Array(randomBytes(length))
      expect(encode(bytes, {alphabet: 'base64url', omitPadding: true})).toBe(joseFallback(bytes, true))
      expect(encode(bytes)).toBe(joseFallback(bytes, false))
      expect(encode(bytes, {alphabet: 'base64'})).toBe(joseFallback(bytes, false))
    }
  })

  it('pads unless omitPadding is truthy, in both alphabets', () => {
    const bytes = new Uint8Array([0xfb, 0xff])
    expect(encode(bytes)).toBe('+/8=')
    expect(encode(bytes, {omitPadding: true})).toBe('+/8')
    expect(encode(bytes, {alphabet: 'base64url'})).toBe('-_8=')
    expect(encode(bytes, {alphabet: 'base64url', omitPadding: 1})).toBe('-_8')
    expect(encode(new Uint8Array([1]), {alphabet: 'base64url'})).toBe('AQ==')
    expect(encode(new Uint8Array([1, 2, 3]), {alphabet: 'base64url'})).toBe('AQID')
  })

  it('reads no option from Object.prototype when none is given', () => {
    const proto = Object.prototype as {alphabet?: unknown}
    proto.alphabet = 'base64url'
    try {
      expect(encode(new Uint8Array([0xfb, 0xff]))).toBe('+/8=')
    } finally {
      delete proto.alphabet
    }
  })

  it('encodes only the view: subarrays and Buffers from the shared pool', () => {
    const whole = new Uint8Array([9, 9, 0xfb, 0xff, 0xbf, 9])
    expect(encode(whole.subarray(2, 5), {alphabet: 'base64url', omitPadding: true})).toBe('-_-_')
    const pooled = Buffer.from('hello')
    expect(pooled.byteOffset === 0 && pooled.buffer.byteLength === 5).toBe(false)
    expect(encode(pooled)).toBe('aGVsbG8=')
  })

  it("throws the specification's TypeErrors", () => {
    const bytes = new Uint8Array([1])
    expect(() => uint8ArrayToBase64.call(new Uint16Array(1) as unknown as Uint8Array)).toThrow(TypeError)
    expect(() => uint8ArrayToBase64.call({} as Uint8Array)).toThrow(TypeError)
    expect(() => uint8ArrayToBase64.call(new DataView(new ArrayBuffer(1)) as unknown as Uint8Array)).toThrow(TypeError)
    expect(() => encode(bytes, 'base64url')).toThrow(TypeError)
    expect(() => encode(bytes, null)).toThrow(TypeError)
    expect(() => encode(bytes, {alphabet: 'hex'})).toThrow(TypeError)
    const detached = new Uint8Array(8)
    structuredClone(detached.buffer, {transfer: [detached.buffer]})
    expect(() => encode(detached)).toThrow(TypeError)
    expect(encode(new Uint8Array(0))).toBe('')
  })

  it('never replaces a native method, and installs one that is not enumerable', () => {
    const proto = Uint8Array.prototype as {toBase64?: unknown}
    const before = Object.getOwnPropertyDescriptor(Uint8Array.prototype, 'toBase64')
    const native = function toBase64() {
      return 'native'
    }
    try {
      Object.defineProperty(Uint8Array.prototype, 'toBase64', {value: native, writable: true, configurable: true})
      provideUint8ArrayToBase64()
      expect(proto.toBase64).toBe(native)
      delete proto.toBase64
      provideUint8ArrayToBase64()
      expect(proto.toBase64).toBe(uint8ArrayToBase64)
      expect(Object.keys(Uint8Array.prototype)).not.toContain('toBase64')
      expect(
        (new Uint8Array([0xff]) as Uint8Array & {toBase64(options: object): string}).toBase64({
          alphabet: 'base64url',
          omitPadding: true,
        }),
      ).toBe('_w')
    } finally {
      if (before) Object.defineProperty(Uint8Array.prototype, 'toBase64', before)
      else delete proto.toBase64
    }
  })
})
