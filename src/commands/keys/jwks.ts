import {BaseCommand} from '../../cli/base-command.js'
import {nowFlag} from '../../cli/flags.js'
import {loadPublicKeys, publicJwks} from '../../core/keys.js'

export default class KeysJwks extends BaseCommand<typeof KeysJwks> {
  static override description =
    'Print the public JSON Web Key Set (RFC 7517): the active key and retired keys still published. Always JSON.'

  static override examples = [
    '<%= config.bin %> keys:jwks',
    '<%= config.bin %> keys:jwks > jwks.json',
    '<%= config.bin %> keys:jwks --now 2027-01-01T00:00:00Z',
  ]

  static override flags = {
    now: nowFlag('List the keys published'),
  }

  async run(): Promise<Awaited<ReturnType<typeof publicJwks>>> {
    // Public keys only: the private key need not be here (nor readable).
    // Retired keys are published until their publishUntil on the one clock (--now / PASSPORT_NOW).
    const keys = await loadPublicKeys(this.keyLocation(), this.now(this.flags.now))
    const jwks = await publicJwks(keys)
    if (!this.jsonEnabled()) this.log(JSON.stringify(jwks, null, 2))
    return jwks
  }
}
