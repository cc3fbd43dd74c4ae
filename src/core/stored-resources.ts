import type {ResourceRegistry} from './resources.js'
import type {Store} from '../store/index.js'
import type {ResourceRow} from '../store/resources.js'

/**
 * The configuration's resource registry, plus the resources registered at run time in the
 * database (`passport protect` registers the resource it guards there, from another process).
 * Every read of the registry first picks up database changes (one `PRAGMA data_version` when
 * nothing changed, at most once per synchronous stretch), so the code that checks `resource` parameters needs no change. A resource
 * in the configuration (or `serve --resource`) wins over a stored one with the same URI.
 */
export function withStoredResources(registry: ResourceRegistry, store: Store): ResourceRegistry {
  const fromStore = new Set<string>()
  let seen: readonly ResourceRow[] | undefined
  // One look at the database per synchronous stretch: checking a `resource` parameter reads the
  // registry three or four times, and each look is a `PRAGMA data_version` (~4 µs). Within one
  // stretch nothing else runs, so the registry cannot change between those reads, except
  // through this connection's own writes, which `all()` sees without the pragma.
  let looked = false
  const sync = () => {
    if (looked && !store.resources.wroteHere()) return
    if (!looked) {
      looked = true
      queueMicrotask(() => (looked = false))
    }
    const rows = store.resources.all()
    if (rows === seen) return
    seen = rows
    for (const uri of fromStore) delete registry[uri]
    fromStore.clear()
    for (const row of rows) {
      if (Object.hasOwn(registry, row.uri)) continue
      registry[row.uri] = {name: row.name, scopes: row.scopes}
      fromStore.add(row.uri)
    }
  }
  return new Proxy(registry, {
    get(target, key, receiver): unknown {
      sync()
      return Reflect.get(target, key, receiver)
    },
    has(target, key) {
      sync()
      return Reflect.has(target, key)
    },
    ownKeys(target) {
      sync()
      return Reflect.ownKeys(target)
    },
    getOwnPropertyDescriptor(target, key) {
      sync()
      return Reflect.getOwnPropertyDescriptor(target, key)
    },
  })
}
