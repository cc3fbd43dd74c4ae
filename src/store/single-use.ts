import {type Db, prepareWrite} from './database.js'

/**
 * The one way a single-use row is spent (an authorization code, a pushed request's
 * `request_uri`): a single conditional `UPDATE … SET {column} = now WHERE id = ? AND {column} IS
 * NULL AND expires_at > now` (plus `AND {also}`, e.g. `revoked_at IS NULL`). SQLite runs it
 * atomically, so of callers racing for the same row exactly one sees the change and gets true;
 * an expired row, or one already spent, gives false to everyone. Never read-then-write.
 *
 * `table`, `column` and `also` are this module's callers' constants, never input.
 */
export function singleUse(db: Db, table: string, column: string, also?: string): (id: string, now: number) => boolean {
  const statement = prepareWrite<[number, string, number]>(
    db,
    `UPDATE ${table} SET ${column} = ? WHERE id = ? AND ${column} IS NULL${also === undefined ? '' : ` AND ${also}`} AND expires_at > ?`,
  )
  return (id, now) => statement.run(now, id, now).changes === 1
}
