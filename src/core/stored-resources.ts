import type {ResourceRegistry} from './resources.js'
import type {Store} from '../store/index.js'

/**
 * The configuration's resource registry, plus the resources registered at run time in the
 * database (`passport protect` registers the resource it guards there, from another process).
 * Every read of the registry first picks up database changes (one `PRAGMA data_version` when
 * nothing changed), so the code that checks `resource` parameters needs no change. A resource
 * in the configuration (or `serve --resource`) wins over a stored one with the same URI.
 */
export function withStoredResources(registry: ResourceRegistry, store: Store): ResourceRegistry {
  const fromStore = new Set<string>()
  let seen = ''
  const sync = () => {
    const version = store.resources.version()
    if (version === seen) return
    seen = version
    for (const uri of fromStore) delete registry[uri]
    fromStore.clear()
    for (const row of store.resources.all()) {
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
