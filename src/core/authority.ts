import {type PassportConfig} from './config.js'
import {syncConfigClients} from './clients.js'
import {type KeyLocation, loadKeys, type SigningKeys} from './keys.js'
import {Store} from '../store/index.js'

export const DEFAULT_DATABASE = 'storage/passport.sqlite'
export const DEFAULT_ISSUER = 'http://127.0.0.1:9000'

export interface AuthorityOptions {
  config: PassportConfig
  /** Database file path or `:memory:`. */
  database: string
  keys: KeyLocation
  /** Overrides `config.issuer`; defaults to {@link DEFAULT_ISSUER}. */
  issuer?: string
}

/**
 * Everything a command or the server needs: configuration, the store, and (loaded on first use)
 * the signing keys. The CLI and the HTTP server are two faces over one of these.
 */
export class Authority {
  readonly config: PassportConfig
  readonly store: Store
  readonly keyLocation: KeyLocation
  issuer: string
  private keys?: Promise<SigningKeys>

  private constructor(options: AuthorityOptions, store: Store) {
    this.config = options.config
    this.store = store
    this.keyLocation = options.keys
    this.issuer = options.issuer ?? options.config.issuer ?? DEFAULT_ISSUER
  }

  /** Opens the database (creating and migrating it) and upserts the configured clients. */
  static open(options: AuthorityOptions): Authority {
    const store = Store.open(options.database)
    try {
      syncConfigClients(store, options.config)
    } catch (error) {
      store.close()
      throw error
    }
    return new Authority(options, store)
  }

  /** The signing keys, loaded once. */
  signingKeys(): Promise<SigningKeys> {
    this.keys ??= loadKeys(this.keyLocation)
    this.keys.catch(() => {
      this.keys = undefined
    })
    return this.keys
  }

  /** Forgets loaded keys so the next use reads them again (after a rotation). */
  reloadKeys(): void {
    this.keys = undefined
  }

  close(): void {
    this.store.close()
  }
}
