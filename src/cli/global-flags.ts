import {resolve} from 'node:path'

import {Authority, DEFAULT_DATABASE} from '../core/authority.js'
import {type Clock, OffsetClock, parseInstant} from '../core/clock.js'
import type {PassportConfig} from '../core/config.js'
import {keyLocation, type KeyLocation} from '../core/keys.js'

/** The global flags every command takes, with their environment variables already applied. */
export interface GlobalFlags {
  config?: string | undefined
  database?: string | undefined
  'key-path'?: string | undefined
}

/**
 * The database file: flag (or PASSPORT_DATABASE) > config file > default. The default sits next
 * to a configuration file found in a parent directory, else in the working directory.
 */
export function databasePath(flags: GlobalFlags, config: PassportConfig): string {
  if (flags.database === ':memory:') return ':memory:'
  if (flags.database !== undefined) return resolve(flags.database)
  const path = config.database ?? DEFAULT_DATABASE
  return path === ':memory:' ? path : resolve(config.foundIn ?? process.cwd(), path)
}

/** The key directory (or PEMs from the environment): flag (or PASSPORT_KEY_PATH) > config file > default (as for the database). */
export function keyLocationOf(flags: GlobalFlags, config: PassportConfig): KeyLocation {
  if (flags['key-path'] !== undefined) return keyLocation(flags['key-path'])
  return keyLocation(config.keyPath, process.env, config.foundIn ?? process.cwd())
}

/** Says on stderr which configuration file is used when it was found in a parent directory. */
export function noteConfigFound(config: PassportConfig): void {
  if (config.foundIn !== undefined) process.stderr.write(`Using ${config.file!} (found in a parent directory).\n`)
}

/**
 * The CLI's clock: real time, or starting at `now` (a command's `--now`) or PASSPORT_NOW, so that
 * a command agrees with an authority whose clock a test moved. Commands that need no database
 * (keys:jwks, keys:prune) read it without opening one.
 */
export function cliClock(now = process.env.PASSPORT_NOW): Clock {
  return now === undefined || now === ''
    ? new OffsetClock()
    : new OffsetClock(parseInstant(now, '--now (or PASSPORT_NOW)'))
}

/**
 * Opens the database (created on first use) with the configured clients upserted, saying on
 * stderr which clients it removed because they left the configuration file. Its clock is
 * real time, or starts at `now` (`token:verify --now`) or PASSPORT_NOW, so that the CLI agrees
 * with an authority whose clock a test moved.
 */
export function openAuthority(
  flags: GlobalFlags,
  config: PassportConfig,
  issuer?: string,
  now = process.env.PASSPORT_NOW,
): Authority {
  const clock = cliClock(now)
  const authority = Authority.open({
    config,
    database: databasePath(flags, config),
    keys: keyLocationOf(flags, config),
    clock,
    ...(issuer === undefined ? {} : {issuer}),
  })
  // On stderr: stdout stays clean for --json and piped tokens.
  for (const id of authority.removedConfigClients) {
    process.stderr.write(
      `Removed client "${id}" and its tokens: it is no longer in ${config.file ?? 'the configuration'}.\n`,
    )
  }
  return authority
}
