import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../../cli/base-command.js'
import {interactive, prompts} from '../../cli/prompts.js'
import {type ClientView, clientView, deleteClient, findClient} from '../../core/clients.js'
import {InvalidInputError, UsageError} from '../../errors.js'

export default class ClientDelete extends BaseCommand<typeof ClientDelete> {
  static override args = {
    id: Args.string({description: 'Client id.', required: true}),
  }

  static override description =
    'Delete an OAuth client together with every token, authorization code and device code it holds. Asks for confirmation on a terminal; without one, needs --force.'

  static override examples = [
    '<%= config.bin %> client:delete <client-id>',
    '<%= config.bin %> client:delete my-web --force --json',
  ]

  static override flags = {
    force: Flags.boolean({description: 'Delete without asking.'}),
  }

  async run(): Promise<ClientView & {deleted: boolean}> {
    const {store} = this.authority()
    const client = findClient(store, this.args.id)
    if (client.source === 'config') {
      throw new InvalidInputError(
        `Client ${client.id} comes from the configuration file and would come back on the next run; remove it from ${this.config_.file ?? 'the configuration file'} instead.`,
      )
    }
    if (!this.flags.force) {
      if (!interactive())
        throw new UsageError(`Deleting client ${client.id} needs --force (no terminal to confirm on).`)
      const {confirm} = await prompts()
      const sure = await confirm({
        message: `Delete client "${client.name}" (${client.id}) and revoke all its tokens?`,
        default: false,
      })
      if (!sure) {
        this.note('Kept the client.')
        return {...clientView(client), deleted: false}
      }
    }
    deleteClient(store, client.id)
    if (!this.jsonEnabled()) this.log(`Deleted client "${client.name}" (${client.id}) with all its tokens and codes.`)
    return {...clientView(client), deleted: true}
  }
}
