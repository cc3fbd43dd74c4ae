import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../../cli/base-command.js'
import {stderrColor} from '../../cli/output.js'
import {prompts, requireInteractive} from '../../cli/prompts.js'
import {issuerFlag} from '../../cli/flags.js'
import {checkIssuer} from '../../cli/tokens.js'
import {formatDuration} from '../../core/duration.js'
import {createPersonalAccessToken} from '../../core/mint.js'
import type {TokenResponse} from '../../core/tokens.js'

type PersonalTokenView = Pick<TokenResponse, 'access_token' | 'token_type' | 'expires_in' | 'scope'> & {
  id: string
  name: string
}

export default class TokenPersonal extends BaseCommand<typeof TokenPersonal> {
  static override args = {
    name: Args.string({description: 'A name for the token, shown by token:list (e.g. "deploy script").'}),
  }

  static override description = `Create a personal access token for a user (the seed's user.createToken(name, scopes)).
It lives for personalAccessTokensExpireIn (about 6 months) and is printed once: store it now, it cannot be shown again. The scope * grants every scope.`

  static override examples = [
    '<%= config.bin %> token:personal "my-cli" --user alice --scope read --scope write',
    '<%= config.bin %> token:personal "admin script" --user alice --scope "*"',
    '<%= config.bin %> token:personal ci --user alice --scope read --json',
  ]

  static override flags = {
    user: Flags.string({description: 'The user (subject) the token belongs to.'}),
    scope: Flags.string({description: 'Scope to grant (repeatable); * grants every scope.', multiple: true}),
    issuer: issuerFlag,
  }

  async run(): Promise<PersonalTokenView> {
    let name = this.args.name
    let user = this.flags.user
    if (name === undefined || user === undefined) {
      requireInteractive(
        `Missing ${name === undefined ? 'the token NAME argument' : '--user'}: run passport token:personal NAME --user SUB [--scope S]…`,
      )
      const {input} = await prompts()
      name ??= await input({message: 'Token name', validate: (v) => v.trim() !== '' || 'A name is required.'})
      user ??= await input({message: 'User (subject)', validate: (v) => v.trim() !== '' || 'A user is required.'})
    }
    const issuer = checkIssuer(this.flags.issuer)
    const authority = this.authority(issuer === undefined ? {} : {issuer})
    const token = await createPersonalAccessToken(authority, {name, user, scopes: this.flags.scope ?? []})
    const keys = await authority.signingKeys()
    if (keys.permissionWarning) this.warning(keys.permissionWarning)
    const {access_token, token_type, expires_in, scope} = token.response
    if (!this.jsonEnabled()) {
      this.log(access_token)
      const lifetime = formatDuration(authority.config.personalAccessTokensExpireIn)
      const notice = `Personal access token "${token.name}" for ${token.userId} (id ${token.jti}, scopes: ${scope || '(none)'}, expires in ${lifetime}). Store it now; it cannot be shown again.`
      this.note(stderrColor.yellow(notice))
    }
    return {access_token, token_type, expires_in, scope, id: token.jti, name: token.name}
  }
}
