import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../../cli/base-command.js'
import {table} from '../../cli/output.js'
import {type TokenView, tokenView} from '../../cli/tokens.js'

export default class TokenList extends BaseCommand<typeof TokenList> {
  static override description =
    'List access tokens, newest first: active ones by default, with --all also revoked and expired ones.'

  static override examples = [
    '<%= config.bin %> token:list',
    '<%= config.bin %> token:list --user alice',
    '<%= config.bin %> token:list --client web --all --json',
    '<%= config.bin %> token:list --all --limit 50000',
  ]

  static override flags = {
    user: Flags.string({description: 'Only tokens of this user (subject).'}),
    client: Flags.string({description: 'Only tokens issued to this client.'}),
    all: Flags.boolean({description: 'Include revoked and expired tokens.'}),
    limit: Flags.integer({description: 'Show at most this many tokens (the newest).', min: 1, default: 1000}),
  }

  async run(): Promise<TokenView[]> {
    const now = this.authority().clock.now()
    const rows = this.authority().store.accessTokens.list({
      ...(this.flags.user === undefined ? {} : {userId: this.flags.user}),
      ...(this.flags.client === undefined ? {} : {clientId: this.flags.client}),
      ...(this.flags.all ? {} : {activeAt: now}),
      // One more than shown tells whether the list was cut.
      limit: this.flags.limit + 1,
    })
    const cut = rows.length > this.flags.limit
    const views = rows.slice(0, this.flags.limit).map((row) => tokenView(row, now))
    if (cut)
      this.warning(
        this.flags.limit === 1
          ? 'Only the newest token is shown; more match (raise --limit to see them).'
          : `Only the newest ${this.flags.limit} tokens are shown; more match (raise --limit to see them).`,
      )
    if (!this.jsonEnabled()) {
      if (views.length === 0) {
        this.log(this.flags.all ? 'No tokens.' : 'No active tokens (--all also shows revoked and expired ones).')
      } else {
        this.log(
          table(
            ['ID', 'CLIENT', 'USER', 'NAME', 'SCOPES', 'EXPIRES', 'STATUS'],
            views.map((t) => [
              t.id,
              t.client_id,
              t.user_id ?? '(client)',
              t.name ?? '',
              t.scopes.join(' ') || '-',
              t.expires_at,
              t.status,
            ]),
          ),
        )
      }
    }
    return views
  }
}
