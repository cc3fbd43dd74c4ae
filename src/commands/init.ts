import {existsSync, rmSync} from 'node:fs'
import {join, relative, resolve} from 'node:path'

import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../cli/base-command.js'
import {interactive, prompts} from '../cli/prompts.js'
import {DEFAULT_CONFIG_FILE, parseConfig} from '../core/config.js'
import {errorCode, writeFileSafely} from '../files.js'
import {randomToken} from '../core/crypto.js'
import {ConflictError, UserError} from '../errors.js'
import {generateKeys, keysExist, loadKeys, PRIVATE_KEY_FILE, PUBLIC_KEY_FILE} from '../core/keys.js'

export default class Init extends BaseCommand<typeof Init> {
  static override description =
    'Set up passport in this directory: write a starter passport.config.json, generate the signing keys (when none exist) and create the database.'

  static override examples = [
    '<%= config.bin %> init',
    '<%= config.bin %> init --yes',
    '<%= config.bin %> init --yes --issuer http://localhost:8080 --json',
  ]

  static override flags = {
    yes: Flags.boolean({char: 'y', description: 'Take the defaults without asking.'}),
    issuer: Flags.string({
      description:
        'Issuer URL written to the configuration (default: none, so the server uses its own http://HOST:PORT).',
    }),
    force: Flags.boolean({description: 'Overwrite an existing configuration file.'}),
  }

  async run(): Promise<{
    config_file: string
    private_key_path: string | null
    public_key_path: string | null
    kid: string
    keys_created: boolean
    database: string
  }> {
    const file = resolve(this.flags.config ?? DEFAULT_CONFIG_FILE)
    if (existsSync(file) && !this.flags.force) {
      throw new ConflictError(`${file} already exists; pass --force to overwrite it.`)
    }
    const ask = interactive() && !this.flags.yes
    let issuer = this.flags.issuer
    let exampleClient = true
    if (ask) {
      const {confirm, input} = await prompts()
      if (this.flags.issuer === undefined) {
        const answer = await input({
          message: "Issuer URL (empty: the server's own http://HOST:PORT)",
          default: '',
          validate: (v) =>
            v === '' || validIssuer(v) || 'An absolute http(s) URL without query or fragment, or nothing.',
        })
        issuer = answer === '' ? undefined : answer
      }
      exampleClient = await confirm({
        message: 'Add an example client "web" (authorization code, redirect http://localhost:3000/callback)?',
        default: true,
      })
    }

    const starter = starterConfig(issuer, exampleClient)
    // Names the bad value (e.g. --issuer) before anything is written; the commands below use it
    // before the file exists, which is written last so that a failed init leaves no config behind.
    this.useConfig(parseConfig(starter, file))

    const location = this.keyLocation()
    let keys: {kid: string; privateKeyPath: string | null; publicKeyPath: string | null}
    let keysCreated = false
    if (location.privateKeyPem || keysExist(location.directory)) {
      const loaded = await loadKeys(location)
      const fromFiles = loaded.source === 'files'
      keys = {
        kid: loaded.kid,
        privateKeyPath: fromFiles ? join(location.directory, PRIVATE_KEY_FILE) : null,
        publicKeyPath: fromFiles ? join(location.directory, PUBLIC_KEY_FILE) : null,
      }
      if (loaded.permissionWarning) this.warning(loaded.permissionWarning)
    } else {
      keys = await generateKeys(location.directory)
      keysCreated = true
    }

    const database = this.databasePath()
    const databaseExisted = database === ':memory:' || existsSync(database)
    try {
      this.authority() // creates and migrates the database, upserts the configured clients
      // 0600: the example client's secret is in it.
      writeFileSafely(file, `${JSON.stringify(starter, null, 2)}\n`, 0o600, {exclusive: !this.flags.force})
    } catch (error) {
      this.closeAuthority()
      if (keysCreated)
        for (const path of [keys.privateKeyPath, keys.publicKeyPath]) if (path) rmSync(path, {force: true})
      if (!databaseExisted) for (const suffix of ['', '-wal', '-shm']) rmSync(`${database}${suffix}`, {force: true})
      if ((error as NodeJS.ErrnoException).code === 'EEXIST')
        throw new ConflictError(`${file} already exists; pass --force to overwrite it.`)
      if (error instanceof Error && 'syscall' in error)
        throw new UserError(`Cannot write ${file} (${errorCode(error)}).`)
      throw error
    }

    if (!this.jsonEnabled()) {
      const show = (path: string) => relative(process.cwd(), path) || path
      this.log(
        `Wrote ${show(file)} (${issuer === undefined ? "issuer: the server's own address" : `issuer ${issuer}`}${exampleClient ? ', example client "web"' : ''}).`,
      )
      if (keys.privateKeyPath === null)
        this.log(`Signing keys come from PASSPORT_PRIVATE_KEY / PASSPORT_PUBLIC_KEY (key id ${keys.kid}).`)
      else
        this.log(
          `${keysCreated ? 'Generated' : 'Kept existing'} signing keys in ${show(location.directory)}/ (key id ${keys.kid}).`,
        )
      this.log(`Database ready: ${database === ':memory:' ? database : show(database)}.`)
      this.log('Next: passport serve')
    }
    return {
      config_file: file,
      private_key_path: keys.privateKeyPath,
      public_key_path: keys.publicKeyPath,
      kid: keys.kid,
      keys_created: keysCreated,
      database,
    }
  }
}

/** What `init` writes as "$schema": the schema the package ships, installed next to the config. */
export const CONFIG_SCHEMA_PATH = './node_modules/passport-authority/passport.config.schema.json'

/** The SPEC §3 example: the seed's scopes and lifetimes, one example user, optionally one client. */
function starterConfig(issuer: string | undefined, exampleClient: boolean): Record<string, unknown> {
  return {
    // Editors resolve "$schema" from the file's folder: where `npm install -D passport-authority` puts it.
    $schema: CONFIG_SCHEMA_PATH,
    // No issuer unless asked: a fixed one would name a port the server may not listen on.
    ...(issuer === undefined ? {} : {issuer}),
    scopes: {read: 'Read access', write: 'Write access', admin: 'Full administrative access'},
    tokensExpireIn: '15d',
    refreshTokensExpireIn: '30d',
    personalAccessTokensExpireIn: '180d',
    users: {alice: {name: 'Alice Example', email: 'alice@example.test', claims: {role: 'admin'}}},
    clients: exampleClient
      ? [
          {
            id: 'web',
            name: 'Web app',
            // A random development secret: the file is the one place it is kept.
            secret: randomToken(24),
            redirectUris: ['http://localhost:3000/callback'],
            grants: ['authorization_code', 'refresh_token'],
            scopes: ['read', 'write'],
            autoApprove: true,
          },
        ]
      : [],
  }
}

function validIssuer(value: string): boolean {
  try {
    parseConfig({issuer: value})
    return true
  } catch {
    return false
  }
}
