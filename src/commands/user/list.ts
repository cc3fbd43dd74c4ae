import {BaseCommand} from '../../cli/base-command.js'
import {table} from '../../cli/output.js'
import {type UserView, userViews} from '../../core/claims.js'

export default class UserList extends BaseCommand<typeof UserList> {
  static override description = `List the users of the configuration file ("users") with their claims and the scope that releases each claim.
Any other subject can sign in too (typed on the sign-in page, --login-as, login_hint); such users have only "sub".`

  static override examples = ['<%= config.bin %> user:list', '<%= config.bin %> user:list --json']

  async run(): Promise<UserView[]> {
    const users = userViews(this.config_)
    if (!this.jsonEnabled()) {
      if (users.length === 0) {
        this.log(
          `No users are configured${this.config_.file ? ` in ${this.config_.file}` : ''}; add them under "users", e.g. {"users": {"alice": {"name": "Alice", "email": "alice@example.test"}}}.`,
        )
      } else {
        this.log(
          table(
            ['SUB', 'NAME', 'EMAIL', 'CLAIMS'],
            users.map((u) => [
              u.sub,
              u.name ?? '-',
              u.email === null ? '-' : `${u.email}${u.email_verified ? ' (verified)' : ''}`,
              Object.entries(u.claims)
                .map(([name, value]) => `${name}=${JSON.stringify(value)} [${u.claim_scopes[name]}]`)
                .join(', ') || '-',
            ]),
          ),
        )
      }
    }
    return users
  }
}
