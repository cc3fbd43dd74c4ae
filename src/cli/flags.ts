import * as Flags from '@oclif/core/flags'

/** `--issuer` with its environment variable; the config file's `issuer` and the default come after. */
export const issuerFlag = Flags.string({
  description: 'Issuer (iss) to sign or expect (default: "issuer" in the config file, else http://127.0.0.1:9000).',
  env: 'PASSPORT_ISSUER',
})
