import {join} from 'node:path'

import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../../cli/base-command.js'
import {UsageError} from '../../errors.js'
import {interactive, prompts} from '../../cli/prompts.js'
import {
  generateKeys,
  isRsaAlgorithm,
  KEY_SIZES,
  keysExist,
  PRIVATE_KEY_FILE,
  PUBLIC_KEY_FILE,
  SIGNING_ALGORITHMS,
  type SigningAlgorithm,
} from '../../core/keys.js'

export default class Keys extends BaseCommand<typeof Keys> {
  static override description =
    'Generate the key pair that signs access and id tokens (PKCS#8 / SPKI PEM; private key mode 0600): RSA for RS256 (default) and PS256, EC P-256 for ES256, Ed25519 for EdDSA.'

  static override examples = [
    '<%= config.bin %> keys --if-missing',
    '<%= config.bin %> keys --force --bits 4096',
    '<%= config.bin %> keys --force --alg ES256',
    '<%= config.bin %> keys --key-path secure/keys',
  ]

  static override flags = {
    force: Flags.boolean({
      description: 'Overwrite existing keys (tokens they signed stop verifying).',
      exclusive: ['if-missing'],
    }),
    'if-missing': Flags.boolean({
      description:
        'Keep existing keys and succeed (exit 0); generate only when there are none. For scripts under set -e.',
    }),
    alg: Flags.string({
      description: 'Signing algorithm of the key.',
      options: [...SIGNING_ALGORITHMS],
      default: 'RS256',
    }),
    bits: Flags.integer({
      description: 'RSA modulus size (RS256 and PS256 only; default 2048).',
      options: KEY_SIZES.map(String),
    }),
  }

  async run(): Promise<{
    kid: string | null
    alg: string | null
    private_key_path: string
    public_key_path: string
    bits: number | null
    created: boolean
  }> {
    if (this.flags.bits !== undefined && !isRsaAlgorithm(this.flags.alg as SigningAlgorithm)) {
      throw new UsageError(`--bits applies to RSA keys (RS256, PS256) only; ${this.flags.alg} keys have a fixed size.`)
    }
    const {directory} = this.keyLocation()
    if (this.flags['if-missing'] && keysExist(directory)) {
      this.note(`Keys already exist in ${directory}; kept them.`)
      return {
        kid: null,
        alg: null,
        private_key_path: join(directory, PRIVATE_KEY_FILE),
        public_key_path: join(directory, PUBLIC_KEY_FILE),
        bits: null,
        created: false,
      }
    }
    let force = this.flags.force
    if (!force && keysExist(directory) && interactive()) {
      const {confirm} = await prompts()
      force = await confirm({
        message: `Keys already exist in ${directory}. Overwrite them? Tokens they signed will stop verifying.`,
        default: false,
      })
      if (!force) {
        this.note('Kept the existing keys.')
        return {kid: null, alg: null, private_key_path: '', public_key_path: '', bits: 0, created: false}
      }
    }
    const keys = await generateKeys(directory, {
      alg: this.flags.alg,
      ...(this.flags.bits === undefined ? {} : {bits: this.flags.bits}),
      force,
    })
    if (!this.jsonEnabled()) {
      this.log(`Private key: ${keys.privateKeyPath}`)
      this.log(`Public key:  ${keys.publicKeyPath}`)
      this.log(`Key id:      ${keys.kid}`)
      this.log(`Algorithm:   ${keys.alg}${keys.bits === null ? '' : ` (RSA ${keys.bits} bits)`}`)
    }
    if (process.env.PASSPORT_PRIVATE_KEY)
      this.warning('PASSPORT_PRIVATE_KEY is set and takes precedence over these files.')
    return {
      kid: keys.kid,
      alg: keys.alg,
      private_key_path: keys.privateKeyPath,
      public_key_path: keys.publicKeyPath,
      bits: keys.bits,
      created: true,
    }
  }
}
