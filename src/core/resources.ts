import {OIDC_SCOPES} from './config.js'
import {OAuthError, invalidScope} from '../errors.js'
import {resourceUriProblem} from './uris.js'

/**
 * RFC 8707 resource indicators. A resource is registered (config `resources`, `serve --resource`,
 * or a library call) with an optional list of the scopes that may be granted for it; a token asked
 * for one or more resources carries them as its `aud`.
 */

/** A registered resource: its display name and the scopes that may be granted for it (null: every scope). */
export interface ResourceConfig {
  name: string
  scopes: string[] | null
}

/** Registered resources by URI (a null-prototype object: keys come from users). */
export type ResourceRegistry = Record<string, ResourceConfig>

export function emptyResources(): ResourceRegistry {
  return Object.create(null) as ResourceRegistry
}

/**
 * Checks the requested resources of an authorization, token, device or pushed authorization
 * request: each must be an absolute URI without a fragment and registered (`invalid_target`
 * otherwise). Returns them without duplicates, in the order sent.
 */
export function validateResources(registry: ResourceRegistry, requested: readonly string[]): string[] {
  const unique = [...new Set(requested)]
  for (const resource of unique) {
    const problem = resourceUriProblem(resource)
    if (problem) throw new OAuthError('invalid_target', problem)
    if (!Object.hasOwn(registry, resource)) {
      const known = Object.keys(registry)
      throw new OAuthError(
        'invalid_target',
        `resource ${resource} is not registered with this authority (${known.length ? `registered: ${known.join(', ')}` : 'none is registered'}); add it to resources in the configuration or start passport serve with --resource ${resource}.`,
      )
    }
  }
  return unique
}

/**
 * A resource's `scopes` limit what may be granted for it: with several resources, a scope must be
 * allowed by each (the token is good at all of them). The OpenID Connect scopes concern the
 * authority itself (id token, userinfo) and are never limited by a resource.
 */
export function resourceScopeProblem(
  registry: ResourceRegistry,
  resources: readonly string[],
  scopes: readonly string[],
): string | undefined {
  for (const resource of resources) {
    const allowed = Object.hasOwn(registry, resource) ? registry[resource]!.scopes : null
    if (allowed === null) continue
    const refused = scopes.filter((scope) => !Object.hasOwn(OIDC_SCOPES, scope) && !allowed.includes(scope))
    if (refused.length > 0) {
      return `Scope${refused.length > 1 ? 's' : ''} ${refused.join(', ')} may not be granted for resource ${resource}; allowed: ${allowed.length ? allowed.join(', ') : '(none)'}.`
    }
  }
  return undefined
}

/** {@link resourceScopeProblem} as an `invalid_scope` error. */
export function assertResourceScopes(
  registry: ResourceRegistry,
  resources: readonly string[],
  scopes: readonly string[],
): void {
  const problem = resourceScopeProblem(registry, resources, scopes)
  if (problem) throw invalidScope(problem)
}

/**
 * The resources of a token request made from an earlier grant (a code, a device code, a refresh
 * token): none asked means all of the grant's; those asked must be a subset (`invalid_target`).
 */
export function narrowResources(
  granted: readonly string[] | null,
  requested: readonly string[],
  what: string,
): string[] {
  const unique = [...new Set(requested)]
  if (unique.length === 0) return granted ? [...granted] : []
  for (const resource of unique) {
    const problem = resourceUriProblem(resource)
    if (problem) throw new OAuthError('invalid_target', problem)
    if (!granted || !granted.includes(resource)) {
      throw new OAuthError(
        'invalid_target',
        `resource ${resource} was not part of the ${what} (${granted && granted.length ? `granted: ${granted.join(', ')}` : 'it named no resource'}); a token request may only ask for the same resources or fewer.`,
      )
    }
  }
  return unique
}

/** The `aud` of a token for these resources: one as a string, several as an array; none → undefined. */
export function audienceOf(resources: readonly string[]): string | string[] | undefined {
  if (resources.length === 0) return undefined
  return resources.length === 1 ? resources[0]! : [...resources]
}

/** Adds a resource to a registry (config `resources`, `serve --resource`); throws a plain sentence for a bad URI. */
export function registerResource(registry: ResourceRegistry, uri: string, options: Partial<ResourceConfig> = {}): void {
  const problem = resourceUriProblem(uri)
  if (problem) throw new Error(problem)
  const existing = Object.hasOwn(registry, uri) ? registry[uri] : undefined
  registry[uri] = {name: options.name ?? existing?.name ?? uri, scopes: options.scopes ?? existing?.scopes ?? null}
}

/**
 * Storage form of an audience or resource list in one TEXT column: a single value as itself, a
 * list (or a value that starts with "[") as a JSON array. Resource URIs never start with "[".
 */
export function encodeAudience(value: string | readonly string[] | null): string | null {
  if (value === null) return null
  if (typeof value === 'string') return value.startsWith('[') ? JSON.stringify([value]) : value
  return JSON.stringify(value)
}

/** Reads a column written by {@link encodeAudience}: a list of one comes back as a string. */
export function decodeAudience(text: string | null): string | string[] | null {
  if (text === null) return null
  if (!text.startsWith('[')) return text
  const list = JSON.parse(text) as string[]
  return list.length === 1 ? list[0]! : list
}

/** An audience as a list. */
export function audienceList(value: string | readonly string[] | null | undefined): string[] {
  if (value === null || value === undefined) return []
  return typeof value === 'string' ? [value] : [...value]
}
