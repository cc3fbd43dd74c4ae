import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../../cli/base-command.js'
import {pruneRetiredKeys} from '../../core/keys.js'

export default class KeysPrune extends BaseCommand<typeof KeysPrune> {
  static override description = 'Remove retired public keys from the JWKS once every token they signed has expired (--all: remove every retired key now).'

  static override examples = ['<%= config.bin %> keys:prune', '<%= config.bin %> keys:prune --all']

  static override flags = {
    all: Flags.boolean({description: 'Remove every retired key, even if tokens it signed have not expired yet (they stop verifying).'}),
  }

  async run(): Promise<{removed: string[]}> {
    const location = this.keyLocation()
    const removed = location.privateKeyPem ? [] : pruneRetiredKeys(location.directory, {all: this.flags.all})
    if (!this.jsonEnabled()) {
      if (removed.length === 0) this.log('No retired keys to remove.')
      else this.log(`Removed ${removed.length} retired key${removed.length === 1 ? '' : 's'}: ${removed.join(', ')}`)
    }
    return {removed}
  }
}
