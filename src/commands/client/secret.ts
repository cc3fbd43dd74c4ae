import * as Args from '@oclif/core/args'

import {BaseCommand} from '../../cli/base-command.js'
import {color} from '../../cli/output.js'
import {type ClientView, clientView, regenerateSecret} from '../../core/clients.js'

export default class ClientSecret extends BaseCommand<typeof ClientSecret> {
  static override args = {
    id: Args.string({description: 'Client id.', required: true}),
  }

  static override description =
    "Replace a confidential client's secret. The old secret stops working at once; the new one is printed once."

  static override examples = [
    '<%= config.bin %> client:secret <client-id>',
    '<%= config.bin %> client:secret my-web --json',
  ]

  async run(): Promise<ClientView> {
    const {client, secret} = regenerateSecret(this.authority().store, this.args.id)
    if (!this.jsonEnabled()) {
      this.log(`New secret for "${client.name}" (${client.id}):`)
      this.log(`  Client secret: ${secret}`)
      this.log(`  ${color.yellow('Store the secret now; it cannot be shown again.')}`)
    }
    return clientView(client, secret)
  }
}
