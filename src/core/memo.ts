/**
 * `make(key)` once per key object, kept as long as the key lives (a WeakMap, so nothing outlives
 * what it was made for): the one guard, verification or cache an authority, a server's options, a
 * configuration or a loaded key set owns, built on first use instead of on every request.
 */
export function onePer<K extends object, V>(make: (key: K) => V): (key: K) => V {
  const made = new WeakMap<K, V>()
  return (key) => {
    let value = made.get(key)
    if (value === undefined) made.set(key, (value = make(key)))
    return value
  }
}
