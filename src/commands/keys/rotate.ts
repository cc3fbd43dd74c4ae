import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../../cli/base-command.js'
import {UsageError, UserError} from '../../errors.js'
import {isRsaAlgorithm, KEY_SIZES, SIGNING_ALGORITHMS, type SigningAlgorithm} from '../../core/keys.js'
import {rotateSigningKey} from '../../core/keys/rotation.js'

export default class KeysRotate extends BaseCommand<typeof KeysRotate> {
  static override description =
    'Make a new active signing key (by default of the current key\'s algorithm). The previous public key stays in the JWKS, with its algorithm, until every token it may have signed has expired (then "keys:prune" removes it).'

  static override examples = [
    '<%= config.bin %> keys:rotate',
    '<%= config.bin %> keys:rotate --alg ES256',
    '<%= config.bin %> keys:rotate --alg RS256 --bits 4096 --json',
  ]

  static override flags = {
    alg: Flags.string({
      description: "Signing algorithm of the new key (default: the current key's).",
      options: [...SIGNING_ALGORITHMS],
    }),
    bits: Flags.integer({
      description:
        'RSA modulus size of the new key, RS256 and PS256 only (default: the size of the current RSA key, else 2048).',
      options: KEY_SIZES.map(String),
    }),
  }

  async run(): Promise<{
    kid: string
    alg: string
    retired_kid: string
    retired_alg: string
    retired_published_until: string
  }> {
    if (
      this.flags.bits !== undefined &&
      this.flags.alg !== undefined &&
      !isRsaAlgorithm(this.flags.alg as SigningAlgorithm)
    ) {
      throw new UsageError(`--bits applies to RSA keys (RS256, PS256) only; ${this.flags.alg} keys have a fixed size.`)
    }
    const location = this.keyLocation()
    if (location.privateKeyPem || location.publicKeyPem) {
      throw new UserError(
        'The signing keys come from PASSPORT_PRIVATE_KEY / PASSPORT_PUBLIC_KEY, which passport cannot rewrite; rotate them where those variables are set.',
      )
    }
    // The old key stays published until every token it may have signed has expired (core/keys/rotation.ts).
    const {kid, alg, retiredKid, retiredAlg, publishUntil} = await rotateSigningKey(
      this.authority(),
      location.directory,
      {
        ...(this.flags.alg === undefined ? {} : {alg: this.flags.alg}),
        ...(this.flags.bits === undefined ? {} : {bits: this.flags.bits}),
      },
    )
    const until = new Date(publishUntil).toISOString()
    if (!this.jsonEnabled()) {
      this.log(`New key id:     ${kid} (${alg})`)
      this.log(`Retired key id: ${retiredKid} (${retiredAlg}; stays published in the JWKS until ${until})`)
    }
    return {kid, alg, retired_kid: retiredKid, retired_alg: retiredAlg, retired_published_until: until}
  }
}
