import * as Args from '@oclif/core/args'

import {BaseCommand} from '../../cli/base-command.js'
import {clientDetails} from '../../cli/client-details.js'
import {type ClientView, clientView, findClient} from '../../core/clients.js'

export default class ClientShow extends BaseCommand<typeof ClientShow> {
  static override args = {
    id: Args.string({description: 'Client id.', required: true}),
  }

  static override description = 'Show one OAuth client (never its secret: only a hash is stored).'

  static override examples = ['<%= config.bin %> client:show web', '<%= config.bin %> client:show web --json']

  async run(): Promise<ClientView> {
    const view = clientView(findClient(this.authority().store, this.args.id))
    if (!this.jsonEnabled()) this.log(clientDetails(view))
    return view
  }
}
