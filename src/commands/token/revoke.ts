import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../../cli/base-command.js'
import {prompts, requireInteractive} from '../../cli/prompts.js'
import {NotFoundError, UsageError} from '../../errors.js'
import {revokeAllForUser, revokeToken} from '../../core/revocation.js'

interface RevokeResult {
  kind: 'access_token' | 'refresh_token' | 'user'
  user_id?: string
  access_tokens: number
  refresh_tokens: number
}

export default class TokenRevoke extends BaseCommand<typeof TokenRevoke> {
  static override args = {
    token: Args.string({description: 'An access token (JWT), its id (jti), or a refresh token.'}),
  }

  static override description = `Revoke a token, or every token of a user.
Revoking a refresh token revokes its whole family with its access tokens; revoking an access token also revokes the refresh token issued with it.`

  static override examples = [
    '<%= config.bin %> token:revoke "$TOKEN"',
    '<%= config.bin %> token:revoke <token-id>',
    '<%= config.bin %> token:revoke --user alice --all',
  ]

  static override flags = {
    user: Flags.string({description: 'With --all: the user whose tokens to revoke.', dependsOn: ['all']}),
    all: Flags.boolean({description: 'Revoke every live token of --user.', dependsOn: ['user']}),
  }

  async run(): Promise<RevokeResult> {
    const store = this.authority().store
    if (this.flags.all) {
      if (this.args.token !== undefined) throw new UsageError('Give either TOKEN_OR_ID or --user SUB --all, not both.')
      const user = this.flags.user!
      const counts = revokeAllForUser(store, user, this.authority().clock.now())
      if (!this.jsonEnabled()) {
        this.log(
          `Revoked ${plural(counts.accessTokens, 'access token')} and ${plural(counts.refreshTokens, 'refresh token')} of ${user}.`,
        )
      }
      return {kind: 'user', user_id: user, access_tokens: counts.accessTokens, refresh_tokens: counts.refreshTokens}
    }
    let value = this.args.token
    if (value === undefined) {
      requireInteractive(
        'Missing TOKEN_OR_ID: run passport token:revoke TOKEN_OR_ID, or passport token:revoke --user SUB --all',
      )
      const {password} = await prompts()
      value = await password({message: 'Token or token id to revoke', mask: true})
    }
    const result = revokeToken(store, value.trim(), {now: this.authority().clock.now()})
    if (result.kind === 'unknown')
      throw new NotFoundError('No access or refresh token matches that value; nothing was revoked.')
    if (!this.jsonEnabled()) {
      const what = result.kind === 'access_token' ? 'access token' : 'refresh token'
      if (result.accessTokens + result.refreshTokens === 0) this.log(`The ${what} was already revoked.`)
      else
        this.log(
          `Revoked ${plural(result.accessTokens, 'access token')} and ${plural(result.refreshTokens, 'refresh token')}.`,
        )
    }
    return {kind: result.kind, access_tokens: result.accessTokens, refresh_tokens: result.refreshTokens}
  }
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`
}
