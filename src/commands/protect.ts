import * as Flags from '@oclif/core/flags'

import {ServingCommand} from '../cli/serving-command.js'
import {color} from '../cli/output.js'
import {checkIssuer} from '../cli/tokens.js'

export default class Protect extends ServingCommand<typeof Protect> {
  static override description = `Put passport tokens in front of a local HTTP service (an MCP server, an API): a reverse proxy.

It serves the RFC 9728 protected resource metadata at its own origin, answers requests without a valid token (aud = the resource, the scopes given) with 401/403 challenges, and forwards the others to the upstream with X-Passport-Sub, X-Passport-Client-Id and X-Passport-Scope (such headers sent by clients are removed, and so is the token). Bodies and event streams (SSE) pass through unbuffered. It uses the same config, database and keys as "passport serve": run it beside serve.`

  static override examples = [
    '<%= config.bin %> protect --upstream http://127.0.0.1:3001/mcp --port 3000 --scope mcp',
    '<%= config.bin %> protect --upstream http://127.0.0.1:3001/mcp --issuer http://127.0.0.1:9000 --json',
  ]

  static override flags = {
    upstream: Flags.string({
      description: 'The service to protect, with the resource path (e.g. http://127.0.0.1:3001/mcp).',
      required: true,
    }),
    host: Flags.string({description: 'Interface to listen on.', default: '127.0.0.1'}),
    port: Flags.integer({description: 'Port to listen on (0 picks a free one).', default: 0, min: 0, max: 65535}),
    scope: Flags.string({description: 'Scope every request needs (repeatable).', multiple: true}),
    issuer: Flags.string({
      description:
        'Issuer of the tokens (that of "passport serve"; default: the config file\'s, else http://127.0.0.1:9000).',
      env: 'PASSPORT_ISSUER',
    }),
    quiet: Flags.boolean({description: 'No access log on stderr.'}),
  }

  async run(): Promise<{url: string; resource: string; resource_metadata: string; upstream: string; issuer: string}> {
    const {protect} = await import('../server/protect.js')
    // The issuer rule of every --issuer (core/uris.ts): that of "passport serve".
    const issuer = checkIssuer(this.flags.issuer)
    const authority = this.authority(issuer === undefined ? {} : {issuer})
    await authority.signingKeys()
    const scopes = (this.flags.scope ?? []).flatMap((s) => s.split(' ')).filter(Boolean)
    const running = await protect({
      upstream: this.flags.upstream,
      verify: {authority},
      scopes,
      host: this.flags.host,
      port: this.flags.port,
      ...(this.flags.quiet ? {} : {log: (line: string) => process.stderr.write(`${line}\n`)}),
    })
    const summary = {
      url: running.url,
      resource: running.resource,
      resource_metadata: running.resourceMetadataUrl,
      upstream: this.flags.upstream,
      issuer: authority.issuer,
    }
    if (!this.announceJson(summary)) {
      this.log(
        `${color.bold('passport protect')} guards ${color.cyan(this.flags.upstream)} at ${color.cyan(running.resource)}`,
      )
      this.log(`  Resource metadata:  ${running.resourceMetadataUrl}`)
      this.log(
        `  Tokens from:        ${authority.issuer} (aud ${running.resource}${scopes.length ? `, scopes ${scopes.join(' ')}` : ''})`,
      )
      this.log('Press Ctrl+C to stop.')
    }
    await this.untilSignalled(running)
    return summary
  }
}
