import {createHash} from 'node:crypto'

import {describe, expect, it} from 'vitest'

import {matchesHash, sha256} from '../../src/core/crypto.js'

describe('credential hashing', () => {
  const samples = ['', 'svc-secret', 'web-secret:with%colon+plus', 'pässwörd ✓ 🔑', 'x'.repeat(5000)]

  it('sha256 is the hex SHA-256 of the UTF-8 bytes', () => {
    for (const value of samples)
      expect(sha256(value)).toBe(createHash('sha256').update(Buffer.from(value, 'utf8')).digest('hex'))
  })

  it('matchesHash accepts exactly the credential whose hash is stored', () => {
    for (const value of samples) {
      expect(matchesHash(value, sha256(value))).toBe(true)
      expect(matchesHash(`${value}x`, sha256(value))).toBe(false)
      expect(matchesHash(value, sha256(value).toUpperCase())).toBe(true)
      expect(matchesHash(value, 'not-hex')).toBe(false)
    }
  })
})
