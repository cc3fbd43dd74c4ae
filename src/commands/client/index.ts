import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../../cli/base-command.js'
import {color} from '../../cli/output.js'
import {interactive, prompts, requireInteractive} from '../../cli/prompts.js'
import {readFileSync} from 'node:fs'

import {type ClientKind, type ClientView, clientView, createClient} from '../../core/clients.js'
import {InvalidInputError} from '../../errors.js'

export default class Client extends BaseCommand<typeof Client> {
  static override args = {
    name: Args.string({description: 'Name shown on the consent page.'}),
  }

  static override description =
    "Create an OAuth client. A confidential client's secret is printed once: store it now, it cannot be shown again."

  static override examples = [
    '<%= config.bin %> client "My App" --redirect-uri http://localhost:3000/callback',
    '<%= config.bin %> client "SPA" --public --redirect-uri http://localhost:5173/callback',
    '<%= config.bin %> client "Service" --client-credentials --scope read',
    '<%= config.bin %> client "TV App" --device',
    '<%= config.bin %> client "Web" --id my-web --redirect-uri http://localhost:3000/callback --json',
    '<%= config.bin %> client "Shop" --redirect-uri http://localhost:3000/callback --post-logout-redirect-uri http://localhost:3000/signed-out',
  ]

  static override flags = {
    public: Flags.boolean({
      description: 'A public client (no secret; PKCE required): SPAs, mobile and native apps.',
      exclusive: ['client-credentials', 'device', 'personal'],
    }),
    'client-credentials': Flags.boolean({
      description: 'A machine-to-machine client using the client_credentials grant.',
      exclusive: ['public', 'device', 'personal'],
    }),
    device: Flags.boolean({
      description: 'A public client using the device code grant (CLIs, TVs).',
      exclusive: ['public', 'client-credentials', 'personal'],
    }),
    personal: Flags.boolean({
      description: 'A personal access token issuer.',
      exclusive: ['public', 'client-credentials', 'device'],
    }),
    'redirect-uri': Flags.string({description: 'Allowed redirect URI, matched exactly (repeatable).', multiple: true}),
    'post-logout-redirect-uri': Flags.string({
      description:
        'Where end_session may send the person after signing out (post_logout_redirect_uri), matched exactly (repeatable; redirect URIs count too).',
      multiple: true,
    }),
    scope: Flags.string({description: 'Allowed scope (repeatable; default: every configured scope).', multiple: true}),
    id: Flags.string({description: 'Client id to use instead of a generated one.'}),
    'auto-approve': Flags.boolean({description: 'Skip the consent page for this client.'}),
    'allow-insecure-redirect': Flags.boolean({
      description: 'Allow plain-http redirect URIs on hosts other than localhost and loopback addresses.',
    }),
    jwks: Flags.string({
      description:
        "A JSON file with the client's public JWK Set: it authenticates with private_key_jwt (RFC 7523), no secret.",
      exclusive: ['jwks-uri', 'public', 'device'],
    }),
    'jwks-uri': Flags.string({
      description:
        "The https URL (http on loopback) of the client's JWK Set: it authenticates with private_key_jwt, no secret.",
      exclusive: ['jwks', 'public', 'device'],
    }),
  }

  async run(): Promise<ClientView> {
    let name = this.args.name
    let kind: ClientKind = this.flags.public
      ? 'public'
      : this.flags['client-credentials']
        ? 'client-credentials'
        : this.flags.device
          ? 'device'
          : this.flags.personal
            ? 'personal'
            : 'standard'
    let redirectUris = this.flags['redirect-uri'] ?? []
    if (name === undefined) {
      requireInteractive('Missing the client NAME argument: run passport client "My App" [flags]')
      ;({name, kind, redirectUris} = await this.ask(kind, redirectUris))
    }
    const {client, secret} = createClient(this.authority().store, this.config_, {
      name,
      kind,
      redirectUris,
      postLogoutRedirectUris: this.flags['post-logout-redirect-uri'] ?? [],
      scopes: this.flags.scope ?? [],
      ...(this.flags.id === undefined ? {} : {id: this.flags.id}),
      autoApprove: this.flags['auto-approve'],
      allowInsecureRedirects: this.flags['allow-insecure-redirect'],
      ...(this.flags.jwks === undefined ? {} : {jwks: readJwksFile(this.flags.jwks)}),
      ...(this.flags['jwks-uri'] === undefined ? {} : {jwksUri: this.flags['jwks-uri']}),
    })
    const view = clientView(client, secret)
    if (!this.jsonEnabled()) {
      this.log(`Client created: ${client.name}`)
      this.log(`  Client ID:     ${client.id}`)
      if (secret)
        this.log(`  Client secret: ${secret}\n  ${color.yellow('Store the secret now; it cannot be shown again.')}`)
      this.log(`  Type:          ${client.type}`)
      this.log(`  Grants:        ${client.grantTypes.join(', ')}`)
      if (client.redirectUris.length) this.log(`  Redirect URIs: ${client.redirectUris.join(', ')}`)
      if (client.postLogoutRedirectUris?.length)
        this.log(`  Post-logout:   ${client.postLogoutRedirectUris.join(', ')}`)
      if (this.flags.jwks !== undefined || this.flags['jwks-uri'] !== undefined)
        this.log(`  Authenticates: private_key_jwt, keys from ${this.flags['jwks-uri'] ?? this.flags.jwks}`)
    }
    return view
  }

  private async ask(
    kind: ClientKind,
    redirectUris: string[],
  ): Promise<{name: string; kind: ClientKind; redirectUris: string[]}> {
    const {input, select} = await prompts()
    const name = await input({message: 'Client name', validate: (v) => v.trim() !== '' || 'A name is required.'})
    if (interactive() && kind === 'standard') {
      kind = await select<ClientKind>({
        message: 'Client type',
        choices: [
          {name: 'Web app (confidential, authorization code)', value: 'standard'},
          {name: 'SPA / mobile / native (public, PKCE)', value: 'public'},
          {name: 'Service (client credentials)', value: 'client-credentials'},
          {name: 'Device (device code)', value: 'device'},
        ],
      })
    }
    if (redirectUris.length === 0 && (kind === 'standard' || kind === 'public')) {
      const answer = await input({
        message: 'Redirect URIs (space-separated)',
        default: 'http://localhost:3000/callback',
      })
      redirectUris = answer.split(/\s+/).filter(Boolean)
    }
    return {name, kind, redirectUris}
  }
}

/** The JWK Set of `passport client --jwks FILE`. */
function readJwksFile(path: string): unknown {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new InvalidInputError(
      `--jwks ${path}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? 'error'}).`,
    )
  }
  try {
    return JSON.parse(text)
  } catch {
    throw new InvalidInputError(`--jwks ${path}: the file is not JSON (expected a JWK Set: {"keys": [...]}).`)
  }
}
