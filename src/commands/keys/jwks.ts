import {BaseCommand} from '../../cli/base-command.js'
import {loadKeys, publicJwks} from '../../core/keys.js'

export default class KeysJwks extends BaseCommand<typeof KeysJwks> {
  static override description = 'Print the public JSON Web Key Set (RFC 7517): the active key and retired keys still published. Always JSON.'

  static override examples = ['<%= config.bin %> keys:jwks', '<%= config.bin %> keys:jwks > jwks.json']

  async run(): Promise<Awaited<ReturnType<typeof publicJwks>>> {
    const keys = await loadKeys(this.keyLocation())
    if (keys.permissionWarning) this.warning(keys.permissionWarning)
    const jwks = await publicJwks(keys)
    if (!this.jsonEnabled()) this.log(JSON.stringify(jwks, null, 2))
    return jwks
  }
}
