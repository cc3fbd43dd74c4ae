import {resolve} from 'node:path'

import {Authority, DEFAULT_DATABASE} from '../core/authority.js'
import type {PassportConfig} from '../core/config.js'
import {keyLocation, type KeyLocation} from '../core/keys.js'

/** The global flags every command takes, with their environment variables already applied. */
export interface GlobalFlags {
  config?: string | undefined
  database?: string | undefined
  'key-path'?: string | undefined
}

/** The database file: flag (or PASSPORT_DATABASE) > config file > default. */
export function databasePath(flags: GlobalFlags, config: PassportConfig): string {
  const path = flags.database ?? config.database ?? DEFAULT_DATABASE
  return path === ':memory:' ? path : resolve(path)
}

/** The key directory (or PEMs from the environment): flag (or PASSPORT_KEY_PATH) > config file > default. */
export function keyLocationOf(flags: GlobalFlags, config: PassportConfig): KeyLocation {
  return keyLocation(flags['key-path'] ?? config.keyPath)
}

/** Opens the database (created on first use) with the configured clients upserted. */
export function openAuthority(flags: GlobalFlags, config: PassportConfig, issuer?: string): Authority {
  return Authority.open({config, database: databasePath(flags, config), keys: keyLocationOf(flags, config), ...(issuer === undefined ? {} : {issuer})})
}
