import {BaseCommand} from '../../cli/base-command.js'
import {loadPublicKeys, publicJwks} from '../../core/keys.js'

export default class KeysJwks extends BaseCommand<typeof KeysJwks> {
  static override description = 'Print the public JSON Web Key Set (RFC 7517): the active key and retired keys still published. Always JSON.'

  static override examples = ['<%= config.bin %> keys:jwks', '<%= config.bin %> keys:jwks > jwks.json']

  async run(): Promise<Awaited<ReturnType<typeof publicJwks>>> {
    // Public keys only: the private key need not be here (nor readable).
    const keys = await loadPublicKeys(this.keyLocation())
    const jwks = await publicJwks(keys)
    if (!this.jsonEnabled()) this.log(JSON.stringify(jwks, null, 2))
    return jwks
  }
}
