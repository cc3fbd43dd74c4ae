import {type Db, prepareWrite} from './database.js'

/**
 * The revocation rule of a token table (access tokens, refresh tokens), written once: a row is
 * revoked once (`revoked_at` is set only while NULL, so the first revocation's time stays), a
 * family together, and a user's tokens only while live (an expired one is already unusable and
 * keeps what it was). Each is one conditional UPDATE, atomic in SQLite.
 *
 * `table` is a subclass's constant, never input.
 */
export abstract class RevocableTable {
  private readonly revokeStmt
  private readonly revokeFamilyStmt
  private readonly revokeUserStmt

  protected constructor(db: Db, table: string) {
    this.revokeStmt = prepareWrite<[number, string]>(
      db,
      `UPDATE ${table} SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`,
    )
    this.revokeFamilyStmt = prepareWrite<[number, string]>(
      db,
      `UPDATE ${table} SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL`,
    )
    this.revokeUserStmt = prepareWrite<[number, string, number]>(
      db,
      `UPDATE ${table} SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?`,
    )
  }

  /** True when this call revoked the row (false: unknown, or already revoked). */
  revoke(id: string, now: number): boolean {
    return this.revokeStmt.run(now, id).changes > 0
  }

  /** Revokes every not yet revoked row of the family; returns how many. */
  revokeFamily(familyId: string, now: number): number {
    return this.revokeFamilyStmt.run(now, familyId).changes
  }

  /** Revokes the user's live rows; returns how many. */
  revokeAllForUser(userId: string, now: number): number {
    return this.revokeUserStmt.run(now, userId, now).changes
  }
}
