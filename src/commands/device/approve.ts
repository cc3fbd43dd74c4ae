import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../../cli/base-command.js'
import {prompts, requireInteractive} from '../../cli/prompts.js'
import {decideDeviceAuthorization, formatUserCode, normalizeUserCode} from '../../core/device.js'

interface DeviceDecision {
  user_code: string
  approved: boolean
  client_id: string
  client_name: string | null
  scopes: string[]
  user_id: string
}

export default class DeviceApprove extends BaseCommand<typeof DeviceApprove> {
  static override args = {
    user_code: Args.string({
      description: 'The code the device shows, XXXX-XXXX (case, spaces and hyphens are ignored).',
    }),
  }

  static override description = `Approve (or with --deny, deny) a pending device authorization from the terminal, as the given user.
The device's next poll then receives tokens for that user, or access_denied. A code can be decided once.`

  static override examples = [
    '<%= config.bin %> device:approve <user-code> --user alice',
    '<%= config.bin %> device:approve <user-code> --user alice --deny',
    '<%= config.bin %> device:approve <user-code> --user alice --json',
  ]

  static override flags = {
    user: Flags.string({description: 'The user (subject) approving the device; its tokens will act for this user.'}),
    deny: Flags.boolean({description: 'Deny the authorization instead of approving it.'}),
  }

  async run(): Promise<DeviceDecision> {
    let userCode = this.args.user_code
    let user = this.flags.user
    if (userCode === undefined || user === undefined) {
      requireInteractive(
        `Missing ${userCode === undefined ? 'the USER_CODE argument' : '--user'}: run passport device:approve USER_CODE --user SUB [--deny]`,
      )
      const {input} = await prompts()
      userCode ??= await input({
        message: 'Code shown on the device (XXXX-XXXX)',
        validate: (v) => normalizeUserCode(v) !== undefined || 'Eight letters, shown as XXXX-XXXX.',
      })
      user ??= await input({
        message: 'Approve as user (subject)',
        validate: (v) => v.trim() !== '' || 'A user is required.',
      })
    }
    const approve = !this.flags.deny
    const store = this.authority().store
    const row = decideDeviceAuthorization(store, userCode, user, approve, this.authority().clock.now())
    const client = store.clients.find(row.clientId)
    const shownCode = formatUserCode(normalizeUserCode(userCode)!)
    if (!this.jsonEnabled()) {
      const scopes = row.scopes.length ? row.scopes.join(' ') : '(none)'
      this.log(
        `${approve ? 'Approved' : 'Denied'} device code ${shownCode} for ${client?.name ?? row.clientId} (${row.clientId}) as ${user}; scopes: ${scopes}.`,
      )
    }
    return {
      user_code: shownCode,
      approved: approve,
      client_id: row.clientId,
      client_name: client?.name ?? null,
      scopes: row.scopes,
      user_id: user,
    }
  }
}
