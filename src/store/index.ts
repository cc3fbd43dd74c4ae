import {AccessTokenRepository} from './access-tokens.js'
import {AuthCodeRepository} from './auth-codes.js'
import {ClientRepository} from './clients.js'
import {ResourceRepository} from './resources.js'
import {type Db, limitLockWait, openDatabase, writeTransactions} from './database.js'
import {DeviceCodeRepository} from './device-codes.js'
import {PushedRequestRepository} from './pushed-requests.js'
import {RefreshTokenRepository} from './refresh-tokens.js'

/** The database and one repository per table. */
export class Store {
  readonly clients: ClientRepository
  readonly accessTokens: AccessTokenRepository
  readonly refreshTokens: RefreshTokenRepository
  readonly authCodes: AuthCodeRepository
  readonly deviceCodes: DeviceCodeRepository
  readonly pushedRequests: PushedRequestRepository
  readonly resources: ResourceRepository

  private readonly writeTransaction: <T>(fn: () => T) => T

  constructor(readonly db: Db) {
    this.writeTransaction = writeTransactions(db)
    this.clients = new ClientRepository(db)
    this.accessTokens = new AccessTokenRepository(db)
    this.refreshTokens = new RefreshTokenRepository(db)
    this.authCodes = new AuthCodeRepository(db)
    this.deviceCodes = new DeviceCodeRepository(db)
    this.pushedRequests = new PushedRequestRepository(db)
    this.resources = new ResourceRepository(db)
  }

  static open(path: string): Store {
    return new Store(openDatabase(path))
  }

  /** Runs `fn` in one `BEGIN IMMEDIATE` transaction: all of it happens, or none. */
  transaction<T>(fn: () => T): T {
    return this.writeTransaction(fn)
  }

  /**
   * Caps SQLite's page cache of this connection (better-sqlite3 builds SQLite with 16 MB). A
   * long-running server only needs the pages its writes and lookups keep touching; the rest of a
   * cache that fills up as the tables grow would only count in its memory.
   */
  limitPageCache(kib: number): void {
    this.db.pragma(`cache_size = ${-Math.floor(kib)}`)
  }

  /** Bounds how long this connection waits for another's lock ({@link limitLockWait}). */
  limitLockWait(ms: number): void {
    limitLockWait(this.db, ms)
  }

  close(): void {
    if (this.db.open) this.db.close()
  }
}

export type {AccessTokenRow} from './access-tokens.js'
export type {AuthCodeRow} from './auth-codes.js'
export type {ClientRow} from './clients.js'
export type {DeviceCodeRow, DeviceCodeStatus} from './device-codes.js'
export type {PushedRequestRow} from './pushed-requests.js'
export type {RefreshTokenRow} from './refresh-tokens.js'
