import type * as Inquirer from '@inquirer/prompts'

import {UsageError} from '../errors.js'

/** True when a person can answer a prompt: stdin and stdout are both terminals. */
export function interactive(): boolean {
  return Boolean(process.stdin.isTTY && process.stdout.isTTY) && !process.env.CI
}

/** Fails with a usage error naming what is missing, when nobody can be asked. */
export function requireInteractive(what: string): void {
  if (!interactive()) throw new UsageError(`${what} (no terminal to ask on).`)
}

/** `@inquirer/prompts`, loaded only when a prompt is really shown. */
export async function prompts(): Promise<typeof Inquirer> {
  return import('@inquirer/prompts')
}
