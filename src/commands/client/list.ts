import {BaseCommand} from '../../cli/base-command.js'
import {table} from '../../cli/output.js'
import {type ClientView, clientView} from '../../core/clients.js'

export default class ClientList extends BaseCommand<typeof ClientList> {
  static override description =
    'List the registered OAuth clients (from the CLI, the configuration file and passport itself).'

  static override examples = ['<%= config.bin %> client:list', '<%= config.bin %> client:list --json']

  async run(): Promise<ClientView[]> {
    const clients = this.authority()
      .store.clients.list()
      .map((c) => clientView(c))
    if (!this.jsonEnabled()) {
      if (clients.length === 0)
        this.log(
          'No clients yet; create one with: passport client "My App" --redirect-uri http://localhost:3000/callback',
        )
      else
        this.log(
          table(
            ['CLIENT ID', 'NAME', 'TYPE', 'GRANTS', 'SOURCE'],
            clients.map((c) => [c.client_id, c.name, c.type, c.grant_types.join(', '), c.source]),
          ),
        )
    }
    return clients
  }
}
