import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../../cli/base-command.js'
import {issuerFlag} from '../../cli/flags.js'
import {mintFromFlags, type MintedView} from '../../cli/tokens.js'

export default class Token extends BaseCommand<typeof Token> {
  static override description = `Mint an access token without a server (scripts and CI). Prints the bare JWT, so TOKEN=$(passport token …) works.
The token is recorded in the database: a running server's introspection and revocation see it. Without --user it is a client-credentials token (sub = client id).`

  static override examples = [
    '<%= config.bin %> token --user alice --scope read',
    'TOKEN=$(<%= config.bin %> token --user alice --scope read --scope write --ttl 1h --audience https://api.example.test)',
    '<%= config.bin %> token --client web --scope read --json',
    '<%= config.bin %> token --user alice --claim role=admin --claim tenant=42 --audience https://api.example.test',
    '<%= config.bin %> token --user alice --scope read --resource http://localhost:3000/mcp',
    '<%= config.bin %> token --user alice --scope read --dpop-jkt 0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I',
  ]

  // src/cli/lean-token.ts runs this command without oclif from these definitions (in the manifest).
  static override flags = {
    client: Flags.string({description: 'Client the token is issued to (default: the internal __cli__ client).'}),
    user: Flags.string({description: 'Subject (sub) the token acts for; omit for a client-credentials token.'}),
    scope: Flags.string({
      description: 'Scope to grant (repeatable); must be configured and allowed for the client.',
      multiple: true,
    }),
    ttl: Flags.string({
      description: 'Lifetime: milliseconds or a duration like 90s, 15m, 1h, 30d (default: tokensExpireIn, 15d).',
    }),
    claim: Flags.string({
      description: 'Extra claim name=value (repeatable); JSON values (numbers, true, {"a":1}) are kept as JSON.',
      multiple: true,
    }),
    audience: Flags.string({description: 'Audience (aud) of the token (default: the client id).'}),
    resource: Flags.string({
      description:
        "RFC 8707 resource the token is for (repeatable): its aud; a configured resource's scopes limit --scope.",
      multiple: true,
    }),
    issuer: issuerFlag,
    'dpop-jkt': Flags.string({
      description:
        "Bind the token to a DPoP key (RFC 9449): the base64url SHA-256 JWK thumbprint of the client's public key; the token gets cnf.jkt and token_type DPoP.",
    }),
  }

  async run(): Promise<MintedView> {
    const minted = await mintFromFlags(
      this.flags,
      (issuer) => this.authority(issuer === undefined ? {} : {issuer}),
      (message) => this.warning(message),
    )
    if (!this.jsonEnabled()) this.log(minted.access_token)
    return minted
  }
}
