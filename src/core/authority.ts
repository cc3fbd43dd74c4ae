import {statSync} from 'node:fs'
import {join} from 'node:path'

import {type Clock, OffsetClock} from './clock.js'
import {LoginClaims} from './login-claims.js'
import {type PassportConfig} from './config.js'
import {syncConfigClients} from './clients.js'
import {
  KEY_META_FILE,
  type KeyLocation,
  loadKeys,
  PRIVATE_KEY_FILE,
  PUBLIC_KEY_FILE,
  RETIRED_KEYS_FILE,
  type SigningKeys,
} from './keys.js'
import {publishedKeysWindow} from './keys/rotation.js'
import {withStoredResources} from './stored-resources.js'
import {ASSERTION_REPLAY_LIMITS, DPOP_REPLAY_LIMITS, ReplayCache, type ReplayLimits} from './replay-cache.js'
import {Store} from '../store/index.js'

export const DEFAULT_DATABASE = 'storage/passport.sqlite'
export const DEFAULT_ISSUER = 'http://127.0.0.1:9000'

/** How often a running authority looks whether the key files changed (keys:rotate, keys:prune). */
const KEY_CHECK_INTERVAL = 1000

export interface AuthorityOptions {
  config: PassportConfig
  /** Database file path or `:memory:`. */
  database: string
  keys: KeyLocation
  /** Overrides `config.issuer`; defaults to {@link DEFAULT_ISSUER}. */
  issuer?: string
  /** The clock every expiry and timestamp reads; default real time. */
  clock?: Clock
  /** Bounds of the replay caches (default {@link DPOP_REPLAY_LIMITS}, {@link ASSERTION_REPLAY_LIMITS}); small ones for tests. */
  replayLimits?: {dpop?: ReplayLimits; assertions?: ReplayLimits}
}

/**
 * Everything a command or the server needs: configuration, the store, and (loaded on first use)
 * the signing keys. The CLI and the HTTP server are two faces over one of these.
 */
export class Authority {
  readonly config: PassportConfig
  readonly store: Store
  readonly keyLocation: KeyLocation
  /** The one clock every expiry, `iat`/`exp`/`auth_time` and purge decision reads. */
  readonly clock: Clock
  /** Claims added at sign-in, by token family (in memory). */
  readonly loginClaims = new LoginClaims()
  issuer: string
  /** DPoP proof jtis seen by the token and PAR endpoints, /userinfo and this authority's guards. */
  readonly dpopReplay: ReplayCache
  /** private_key_jwt assertion jtis seen (SPEC §10.6: a replay is invalid_client). */
  readonly assertionReplay: ReplayCache
  /** Clients deleted on opening because they left the configuration file (see syncConfigClients). */
  removedConfigClients: string[] = []
  private keys: Promise<SigningKeys> | undefined
  /** What the key files looked like when {@link keys} was loaded. */
  private keysStamp: string | undefined
  private keysCheckedAt = 0
  /** The clock time span in which {@link keys} publishes the right retired keys. */
  private keysWindow: {from: number; until: number} | undefined

  private constructor(options: AuthorityOptions, store: Store) {
    // Resources registered at run time in the database (passport protect) join the configured ones.
    this.config = {...options.config, resources: withStoredResources(options.config.resources, store)}
    this.store = store
    this.keyLocation = options.keys
    this.clock = options.clock ?? new OffsetClock()
    this.issuer = options.issuer ?? options.config.issuer ?? DEFAULT_ISSUER
    this.dpopReplay = new ReplayCache(options.replayLimits?.dpop ?? DPOP_REPLAY_LIMITS, 'evict')
    this.assertionReplay = new ReplayCache(options.replayLimits?.assertions ?? ASSERTION_REPLAY_LIMITS, 'refuse')
  }

  /** Opens the database (creating and migrating it) and upserts the configured clients. */
  static open(options: AuthorityOptions): Authority {
    const clock = options.clock ?? new OffsetClock()
    const store = Store.open(options.database)
    let removed: string[]
    try {
      removed = syncConfigClients(store, options.config, clock.now())
    } catch (error) {
      store.close()
      throw error
    }
    const authority = new Authority({...options, clock}, store)
    authority.removedConfigClients = removed
    return authority
  }

  /**
   * The signing keys, loaded once and again whenever the key files change, so that a
   * `passport keys:rotate` next to a running server takes effect without a restart. A rotation
   * caught half-written keeps the keys loaded before and looks again on the next call.
   */
  signingKeys(): Promise<SigningKeys> {
    // A retired key leaves the JWKS (and stops verifying) when the authority's clock passes its
    // publishUntil, and is back if the clock is set before it: no file changes then, so the
    // clock decides when the loaded set is stale.
    const at = this.clock.now()
    if (this.keys && this.keysWindow && (at < this.keysWindow.from || at >= this.keysWindow.until)) this.reloadKeys()
    // Looking at the files costs three stat calls: at most every KEY_CHECK_INTERVAL (real time) on the hot path.
    const now = Date.now()
    if (this.keys && now - this.keysCheckedAt < KEY_CHECK_INTERVAL) return this.keys
    this.keysCheckedAt = now
    const stamp = keyFilesStamp(this.keyLocation)
    if (this.keys && stamp === this.keysStamp) return this.keys
    const previous = this.keys
    this.keysStamp = stamp
    this.keysWindow = undefined
    const loading: Promise<SigningKeys> = loadKeys(this.keyLocation, at).then(
      (keys) => {
        if (this.keys === loading) this.keysWindow = publishedKeysWindow(keys.retirements ?? [], at)
        return keys
      },
      (error: unknown) => {
        if (this.keys === loading) this.keysStamp = undefined
        if (previous) return previous
        if (this.keys === loading) this.keys = undefined
        throw error
      },
    )
    this.keys = loading
    return loading
  }

  /** Forgets loaded keys so the next use reads them again (after a rotation, or when the clock passes a retirement). */
  reloadKeys(): void {
    this.keysCheckedAt = 0
    this.keys = undefined
    this.keysStamp = undefined
    this.keysWindow = undefined
  }

  close(): void {
    this.store.close()
  }
}

/** Identity and modification time of the key files (keys from the environment never change). */
function keyFilesStamp(location: KeyLocation): string {
  if (location.privateKeyPem || location.publicKeyPem) return 'env'
  return [PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, RETIRED_KEYS_FILE, KEY_META_FILE]
    .map((file) => {
      try {
        const stat = statSync(join(location.directory, file))
        return `${stat.ino}:${stat.mtimeMs}:${stat.size}`
      } catch {
        return '-'
      }
    })
    .join('|')
}
