import {knownScopes} from './config.js'
import {InvalidInputError} from '../errors.js'
import type {ClientRow} from '../store/clients.js'

/** The wildcard of the seed: grants every scope; only for personal access tokens. */
export const WILDCARD_SCOPE = '*'

/** Splits an RFC 6749 §3.3 scope string (space-separated) into unique scopes, keeping order. */
export function parseScope(value: string | undefined | null): string[] {
  if (!value) return []
  return [...new Set(value.split(' ').filter((s) => s !== ''))]
}

export function formatScope(scopes: readonly string[]): string {
  return scopes.join(' ')
}

/** Why a requested set of scopes is not acceptable for a client, or undefined when it is. */
export function scopeProblem(
  requested: readonly string[],
  client: Pick<ClientRow, 'id' | 'scopes'>,
  known: Record<string, string>,
  options: {allowWildcard?: boolean} = {},
): string | undefined {
  for (const scope of requested) {
    if (scope === WILDCARD_SCOPE) {
      if (options.allowWildcard) continue
      return 'The wildcard scope "*" is only allowed for personal access tokens.'
    }
    // Own properties only: `toString` or `__proto__` is not a scope because objects inherit it.
    if (!Object.hasOwn(known, scope)) return `Unknown scope "${scope}"; known scopes: ${Object.keys(known).join(', ')}.`
    if (client.scopes !== null && !client.scopes.includes(scope)) {
      return `Scope "${scope}" is not allowed for client ${client.id}; allowed: ${client.scopes.length ? client.scopes.join(', ') : '(none)'}.`
    }
  }
  return undefined
}

/** Validates scopes for the CLI and the library: throws one clear sentence. */
export function assertScopes(
  requested: readonly string[],
  client: Pick<ClientRow, 'id' | 'scopes'>,
  config: Parameters<typeof knownScopes>[0],
  options: {allowWildcard?: boolean} = {},
): void {
  const problem = scopeProblem(requested, client, knownScopes(config), options)
  if (problem) throw new InvalidInputError(problem)
}

/** The seed's `tokenCan`: does a token's scope list grant `needed`? `*` grants everything. */
export function tokenCan(granted: readonly string[], needed: string): boolean {
  return granted.includes(WILDCARD_SCOPE) || granted.includes(needed)
}
