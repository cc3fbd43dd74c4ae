import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../cli/base-command.js'
import {table} from '../cli/output.js'
import {purge, type PurgeCounts} from '../core/purge.js'

export default class Purge extends BaseCommand<typeof Purge> {
  static override description = `Remove expired and revoked tokens, authorization codes and device codes (Laravel Passport's passport:purge).
With neither --revoked nor --expired, both kinds go. Rows that something still valid depends on are kept: a refresh token whose family is still live (so its reuse is still detected) and an access-token row a remaining refresh token points to. Safe to run while "passport serve" uses the same database.`

  static override examples = [
    '<%= config.bin %> purge',
    '<%= config.bin %> purge --revoked',
    '<%= config.bin %> purge --expired --hours 72 --json',
  ]

  static override flags = {
    revoked: Flags.boolean({description: 'Remove revoked tokens and codes.'}),
    expired: Flags.boolean({description: 'Remove expired tokens and codes.'}),
    hours: Flags.integer({
      description: 'Only rows that expired or were revoked more than this many hours ago.',
      min: 0,
      default: 0,
    }),
  }

  async run(): Promise<PurgeCounts> {
    const counts = await purge(this.authority().store, {
      now: this.authority().clock.now(),
      revoked: this.flags.revoked,
      expired: this.flags.expired,
      hours: this.flags.hours,
    })
    if (!this.jsonEnabled()) {
      this.log(
        table(
          ['TABLE', 'DELETED'],
          Object.entries(counts).map(([name, n]) => [name, String(n)]),
        ),
      )
    }
    return counts
  }
}
