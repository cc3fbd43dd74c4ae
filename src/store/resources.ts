import {type Db, prepareWrite} from './database.js'

/** A resource registered at run time (`passport protect`), beside the configuration's. */
export interface ResourceRow {
  uri: string
  name: string
  /** Scopes that may be granted for it; null means every scope. */
  scopes: string[] | null
  source: string
  createdAt: number
}

interface Raw {
  uri: string
  name: string
  scopes: string | null
  source: string
  created_at: number
}

export class ResourceRepository {
  private readonly allStmt
  private readonly upsertStmt
  private readonly deleteStmt
  private readonly dataVersion
  private cached: ResourceRow[] = []
  private cachedVersion = -1
  private wrote = true

  constructor(db: Db) {
    this.allStmt = db.prepare<[], Raw>('SELECT * FROM oauth_resources ORDER BY created_at, uri')
    this.upsertStmt = prepareWrite(
      db,
      `INSERT INTO oauth_resources (uri, name, scopes, source, created_at) VALUES (@uri, @name, @scopes, @source, @created_at)
       ON CONFLICT (uri) DO UPDATE SET name = excluded.name, scopes = excluded.scopes, source = excluded.source`,
    )
    this.deleteStmt = prepareWrite<[string, string]>(db, 'DELETE FROM oauth_resources WHERE uri = ? AND source = ?')
    this.dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck()
  }

  /**
   * Every registered resource, read again only when the database changed (`PRAGMA data_version`
   * moves when another connection commits; this connection's own writes reset the cache). The
   * same array until then, so a caller can tell a change by identity.
   */
  all(): ResourceRow[] {
    const version = this.dataVersion.get()!
    if (version !== this.cachedVersion || this.wrote) {
      this.cached = this.allStmt.all().map((r) => ({
        uri: r.uri,
        name: r.name,
        scopes: r.scopes === null ? null : (JSON.parse(r.scopes) as string[]),
        source: r.source,
        createdAt: r.created_at,
      }))
      this.cachedVersion = version
      this.wrote = false
    }
    return this.cached
  }

  /** Did this connection write since `all()` last read? (`all()` then reads again, whatever the version says.) */
  wroteHere(): boolean {
    return this.wrote
  }

  upsert(row: ResourceRow): void {
    this.wrote = true
    this.upsertStmt.run({
      uri: row.uri,
      name: row.name,
      scopes: row.scopes === null ? null : JSON.stringify(row.scopes),
      source: row.source,
      created_at: row.createdAt,
    })
  }

  delete(uri: string, source: string): boolean {
    this.wrote = true
    return this.deleteStmt.run(uri, source).changes > 0
  }
}
