/**
 * A map from names (scopes, users, claims) to values with no prototype, so that a name such as
 * `toString`, `constructor` or `__proto__` is an ordinary key: present only when configured.
 * Look names up with `Object.hasOwn`, never with `in`.
 */
export function nameMap<T>(entries?: Readonly<Record<string, T>>): Record<string, T> {
  const map = Object.create(null) as Record<string, T>
  if (entries) for (const [name, value] of Object.entries(entries)) map[name] = value
  return map
}

/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
export const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/
