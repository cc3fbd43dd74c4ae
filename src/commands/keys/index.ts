import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../../cli/base-command.js'
import {interactive, prompts} from '../../cli/prompts.js'
import {generateKeys, KEY_SIZES, keysExist} from '../../core/keys.js'

export default class Keys extends BaseCommand<typeof Keys> {
  static override description = 'Generate the RSA key pair that signs access and id tokens (PKCS#8 / SPKI PEM; private key mode 0600).'

  static override examples = [
    '<%= config.bin %> keys',
    '<%= config.bin %> keys --bits 4096',
    '<%= config.bin %> keys --force --key-path secure/keys',
  ]

  static override flags = {
    force: Flags.boolean({description: 'Overwrite existing keys (tokens they signed stop verifying).'}),
    bits: Flags.integer({description: 'RSA modulus size.', options: KEY_SIZES.map(String), default: 2048}),
  }

  async run(): Promise<{kid: string | null; private_key_path: string; public_key_path: string; bits: number; created: boolean}> {
    const {directory} = this.keyLocation()
    let force = this.flags.force
    if (!force && keysExist(directory) && interactive()) {
      const {confirm} = await prompts()
      force = await confirm({message: `Keys already exist in ${directory}. Overwrite them? Tokens they signed will stop verifying.`, default: false})
      if (!force) {
        this.note('Kept the existing keys.')
        return {kid: null, private_key_path: '', public_key_path: '', bits: 0, created: false}
      }
    }
    const keys = await generateKeys(directory, {bits: this.flags.bits, force})
    if (!this.jsonEnabled()) {
      this.log(`Private key: ${keys.privateKeyPath}`)
      this.log(`Public key:  ${keys.publicKeyPath}`)
      this.log(`Key id:      ${keys.kid}`)
    }
    if (process.env.PASSPORT_PRIVATE_KEY) this.warning('PASSPORT_PRIVATE_KEY is set and takes precedence over these files.')
    return {kid: keys.kid, private_key_path: keys.privateKeyPath, public_key_path: keys.publicKeyPath, bits: keys.bits, created: true}
  }
}
