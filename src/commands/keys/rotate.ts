import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../../cli/base-command.js'
import {UserError} from '../../core/errors.js'
import {KEY_SIZES, rotateKeys} from '../../core/keys.js'

export default class KeysRotate extends BaseCommand<typeof KeysRotate> {
  static override description =
    'Make a new active signing key. The previous public key stays in the JWKS until every token it may have signed has expired (then "keys:prune" removes it).'

  static override examples = ['<%= config.bin %> keys:rotate', '<%= config.bin %> keys:rotate --bits 4096 --json']

  static override flags = {
    bits: Flags.integer({description: 'RSA modulus size of the new key (default: the size of the current one).', options: KEY_SIZES.map(String)}),
  }

  async run(): Promise<{kid: string; retired_kid: string; retired_published_until: string}> {
    const location = this.keyLocation()
    if (location.privateKeyPem || location.publicKeyPem) {
      throw new UserError('The signing keys come from PASSPORT_PRIVATE_KEY / PASSPORT_PUBLIC_KEY, which passport cannot rewrite; rotate them where those variables are set.')
    }
    const now = Date.now()
    // The old key must verify every unrevoked access token still in the database, and id tokens.
    const latest = this.authority().store.accessTokens.latestExpiry() ?? 0
    const publishUntil = Math.max(latest, now + this.config_.idTokensExpireIn)
    const {kid, retiredKid} = await rotateKeys(location.directory, publishUntil, {now, ...(this.flags.bits === undefined ? {} : {bits: this.flags.bits})})
    const until = new Date(publishUntil).toISOString()
    if (!this.jsonEnabled()) {
      this.log(`New key id:     ${kid}`)
      this.log(`Retired key id: ${retiredKid} (stays published in the JWKS until ${until})`)
    }
    return {kid, retired_kid: retiredKid, retired_published_until: until}
  }
}
