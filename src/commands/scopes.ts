import {BaseCommand} from '../cli/base-command.js'
import {table} from '../cli/output.js'
import {knownScopes} from '../core/config.js'

export default class Scopes extends BaseCommand<typeof Scopes> {
  static override description =
    'List the scopes this authority knows: the configured ones and the OpenID Connect scopes (openid, profile, email, offline_access).'

  static override examples = ['<%= config.bin %> scopes', '<%= config.bin %> scopes --json']

  async run(): Promise<Array<{id: string; description: string}>> {
    const scopes = Object.entries(knownScopes(this.config_)).map(([id, description]) => ({id, description}))
    if (!this.jsonEnabled())
      this.log(
        table(
          ['SCOPE', 'DESCRIPTION'],
          scopes.map((s) => [s.id, s.description]),
        ),
      )
    return scopes
  }
}
