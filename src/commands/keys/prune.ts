import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../../cli/base-command.js'
import {nowFlag} from '../../cli/flags.js'
import {interactive, prompts} from '../../cli/prompts.js'
import {UsageError} from '../../errors.js'
import {pruneRetiredKeys, retiredKeys} from '../../core/keys.js'

export default class KeysPrune extends BaseCommand<typeof KeysPrune> {
  static override description =
    'Remove retired public keys from the JWKS once every token they signed has expired (--all: remove every retired key now; tokens they signed stop verifying, so it asks on a terminal and needs --force otherwise).'

  static override examples = [
    '<%= config.bin %> keys:prune',
    '<%= config.bin %> keys:prune --all --force',
    '<%= config.bin %> keys:prune --now 2027-01-01T00:00:00Z',
  ]

  static override flags = {
    all: Flags.boolean({
      description: 'Remove every retired key, even if tokens it signed have not expired yet (they stop verifying).',
    }),
    force: Flags.boolean({description: 'With --all: do not ask, even when live tokens would stop verifying.'}),
    now: nowFlag('Decide which keys have retired'),
  }

  async run(): Promise<{removed: string[]; live_tokens_invalidated: number}> {
    const location = this.keyLocation()
    if (location.privateKeyPem) return this.report([], 0)
    let live = 0
    // The one clock: real time, or --now / PASSPORT_NOW (a test-controlled authority's time).
    const now = this.now(this.flags.now)
    if (this.flags.all) {
      // Keys still published because tokens they signed may not have expired yet.
      const needed = retiredKeys(location.directory).filter((k) => k.publishUntil > now)
      if (needed.length > 0) {
        // Tokens are not recorded with their key: every live access token made before the newest
        // of these keys was retired may have been signed by one of them.
        const retiredAt = Math.max(...needed.map((k) => k.retiredAt))
        const row = this.authority()
          .store.db.prepare(
            'SELECT count(*) AS n FROM oauth_access_tokens WHERE revoked_at IS NULL AND expires_at > ? AND created_at <= ?',
          )
          .get(now, retiredAt) as {n: number}
        live = row.n
        const what = `${needed.length} retired key${needed.length === 1 ? '' : 's'} still published for tokens that have not expired (${live} live access token${live === 1 ? '' : 's'} in the database were made before ${needed.length === 1 ? 'it was' : 'they were'} retired and would stop verifying)`
        if (!this.flags.force) {
          if (!interactive())
            throw new UsageError(
              `keys:prune --all would remove ${what}; pass --force to remove them anyway, or run keys:prune without --all to remove only keys no live token needs.`,
            )
          const {confirm} = await prompts()
          if (!(await confirm({message: `Remove ${what}?`, default: false}))) {
            if (!this.jsonEnabled()) this.log('Nothing removed.')
            return {removed: [], live_tokens_invalidated: 0}
          }
        }
      }
    }
    return this.report(pruneRetiredKeys(location.directory, {all: this.flags.all, now}), live)
  }

  private report(removed: string[], live: number): {removed: string[]; live_tokens_invalidated: number} {
    if (!this.jsonEnabled()) {
      if (removed.length === 0) this.log('No retired keys to remove.')
      else this.log(`Removed ${removed.length} retired key${removed.length === 1 ? '' : 's'}: ${removed.join(', ')}`)
      if (live > 0)
        this.warning(
          `${live} live access token${live === 1 ? '' : 's'} signed before the removal may no longer verify.`,
        )
    }
    return {removed, live_tokens_invalidated: removed.length === 0 ? 0 : live}
  }
}
