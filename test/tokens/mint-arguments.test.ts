import {describe, expect, it} from 'vitest'

import {createPersonalAccessToken, InvalidInputError, mintToken} from '../../src/index.js'

describe('mintToken and createPersonalAccessToken called wrongly', () => {
  it('without an authority: one InvalidInputError saying what comes first, never a TypeError', async () => {
    const optionsFirst = mintToken({user: 'alice'} as never)
    await expect(optionsFirst).rejects.toBeInstanceOf(InvalidInputError)
    await expect(mintToken({user: 'alice'} as never)).rejects.toThrow(
      "mintToken(authority, options) takes an Authority first (from Authority.open({config, database, keys})), then the options: mintToken(authority, {user: 'alice', …}).",
    )
    await expect(mintToken(undefined as never)).rejects.toThrow(
      'mintToken(authority, options) takes an Authority first (from Authority.open({config, database, keys})); got undefined.',
    )
    await expect(createPersonalAccessToken(null as never, {name: 'x', user: 'alice'})).rejects.toThrow('; got null.')
  })
})
