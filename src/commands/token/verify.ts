import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../../cli/base-command.js'
import {color} from '../../cli/output.js'
import {prompts, requireInteractive} from '../../cli/prompts.js'
import {issuerFlag, nowFlag} from '../../cli/flags.js'
import {checkIssuer} from '../../cli/tokens.js'
import {loadPublicKeys} from '../../core/keys.js'
import {type AccessTokenClaims, verifyAccessToken} from '../../core/verify.js'

export default class TokenVerify extends BaseCommand<typeof TokenVerify> {
  static override args = {
    token: Args.string({description: 'The access token (JWT) to verify.'}),
  }

  static override description = `Verify an access token as a resource server would: signature (RS256, PS256, ES256 or EdDSA, as each key is published) against the current and still-published earlier keys, typ at+jwt, issuer, expiry, revocation in the database, and the scopes given with --scope (* grants all).
Exit 0 and print the claims when valid; exit 1 with the reason when not.`

  static override examples = [
    '<%= config.bin %> token:verify "$TOKEN"',
    '<%= config.bin %> token:verify "$TOKEN" --scope read --scope write',
    '<%= config.bin %> token:verify "$TOKEN" --audience https://api.example.test',
    '<%= config.bin %> token:verify "$TOKEN" --issuer http://127.0.0.1:9000 --json',
    '<%= config.bin %> token:verify "$TOKEN" --dpop <dpop-proof> --htm GET --htu http://localhost:3000/api',
    '<%= config.bin %> token:verify "$TOKEN" --now 2027-01-01T00:00:00Z',
  ]

  static override flags = {
    scope: Flags.string({description: 'Scope the token must grant (repeatable).', multiple: true}),
    issuer: issuerFlag,
    audience: Flags.string({
      description: 'Audience (aud) the token must name, as an API checks it (repeatable: any one of them).',
      multiple: true,
    }),
    dpop: Flags.string({
      description:
        "The DPoP proof (RFC 9449) a DPoP-bound token came with; needs --htu (and --htm, default GET). It must carry the token's hash (ath).",
      dependsOn: ['htu'],
    }),
    htm: Flags.string({description: 'HTTP method of the request the DPoP proof is for.', default: 'GET'}),
    htu: Flags.string({
      description: 'URL of the request the DPoP proof is for (query and fragment ignored).',
      dependsOn: ['dpop'],
    }),
    now: nowFlag('Verify as'),
  }

  async run(): Promise<{active: true; claims: AccessTokenClaims}> {
    let token = this.args.token
    if (token === undefined) {
      requireInteractive('Missing the TOKEN argument: run passport token:verify TOKEN [--scope S]…')
      const {password} = await prompts()
      token = await password({message: 'Access token to verify', mask: true})
    }
    const issuer = checkIssuer(this.flags.issuer)
    const authority = this.authority({
      ...(issuer === undefined ? {} : {issuer}),
      ...(this.flags.now === undefined ? {} : {now: this.flags.now}),
    })
    // Public keys only: a resource server's copy of oauth-public.key is enough.
    const keys = await loadPublicKeys(authority.keyLocation, authority.clock.now())
    const verified = await verifyAccessToken(token.trim(), {
      issuer: authority.issuer,
      publicKey: keys.publicKeys,
      store: authority.store,
      now: authority.clock.now(),
      scopes: (this.flags.scope ?? []).flatMap((s) => s.split(' ')).filter(Boolean),
      ...(this.flags.audience === undefined ? {} : {audience: this.flags.audience}),
      ...(this.flags.dpop === undefined
        ? {}
        : {dpop: {proof: this.flags.dpop.trim(), method: this.flags.htm, url: this.flags.htu!}}),
    })
    const {claims} = verified
    if (!this.jsonEnabled()) {
      const who =
        verified.userId === null
          ? `client ${verified.clientId} (client credentials)`
          : `user ${verified.userId} via client ${verified.clientId}`
      this.log(color.green(`Valid access token for ${who}, expires ${new Date(claims.exp * 1000).toISOString()}.`))
      const width = Math.max(...Object.keys(claims).map((k) => k.length))
      for (const [name, value] of Object.entries(claims)) {
        const shown = typeof value === 'string' ? value : JSON.stringify(value)
        const time =
          (name === 'iat' || name === 'exp' || name === 'nbf') && typeof value === 'number'
            ? `  (${new Date(value * 1000).toISOString()})`
            : ''
        this.log(`  ${name.padEnd(width)}  ${shown}${time}`)
      }
    }
    return {active: true, claims}
  }
}
