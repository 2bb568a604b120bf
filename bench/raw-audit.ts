/** Raw reads of the audit log, shared by the parent and the export child. */
import type Database from 'better-sqlite3';

/**
 * Raw iteration of every audit_log row (all columns, in seq order) with better-sqlite3's
 * `.iterate()`: the floor for anything that reads the whole log. Returns the rows read.
 */
export function rawIterate(db: Database.Database): number {
  let rows = 0;
  for (const row of db.prepare('SELECT * FROM audit_log ORDER BY seq').iterate()) {
    if (row === undefined) throw new Error('no row');
    rows++;
  }
  return rows;
}
