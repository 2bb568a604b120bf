/**
 * The vault's schema is part of what it trusts: a trigger planted in the file runs inside the
 * vault's own transactions (dropping the audit entry of a read, putting back a revoked approval or
 * an erased value), and a table redefined with `ON CONFLICT IGNORE` silently drops rows. SQLite's
 * `trusted_schema = OFF` does not stop either. So the schema in the file must be exactly the one the
 * shipped migrations produce — every table, index, trigger and view, by its SQL — checked when the
 * vault opens and again whenever the file's schema cookie changes, at the start of a transaction.
 */
import Database from 'better-sqlite3';
import { VaultError } from '../errors.js';
import type { SqliteDatabase } from './database.js';

export interface SchemaObject {
  readonly type: string;
  readonly name: string;
  readonly tblName: string;
  readonly sql: string | null;
}

/** The schema objects of `db`, in a fixed order, their SQL with runs of white space made one space. */
export function schemaOf(db: SqliteDatabase): SchemaObject[] {
  const rows = db.prepare('SELECT type, name, tbl_name AS tblName, sql FROM sqlite_schema ORDER BY type, name').all() as SchemaObject[];
  return rows.map((r) => ({ ...r, sql: r.sql === null ? null : r.sql.replace(/\s+/g, ' ').trim() }));
}

/** The migrator's own table, which it creates before the first migration. */
export const MIGRATIONS_TABLE_SQL = `CREATE TABLE IF NOT EXISTS schema_migrations (
      name       TEXT    PRIMARY KEY,
      checksum   TEXT    NOT NULL,
      applied_at INTEGER NOT NULL
    ) STRICT`;

const built = new Map<string, readonly SchemaObject[]>();

/** The schema the migrations produce on an empty database (built once per list of migrations). */
export function expectedSchema(migrations: readonly { readonly name: string; readonly sql: string; readonly checksum: string }[]): readonly SchemaObject[] {
  const key = migrations.map((m) => m.checksum).join(',');
  let schema = built.get(key);
  if (schema === undefined) {
    const memory = new Database(':memory:');
    try {
      if (migrations.length > 0) memory.exec(MIGRATIONS_TABLE_SQL);
      for (const m of migrations) memory.exec(m.sql);
      schema = schemaOf(memory);
    } finally {
      memory.close();
    }
    built.set(key, schema);
  }
  return schema;
}

const describe = (o: SchemaObject): string => `${o.type} ${o.name}`;

/** Refuses a file whose schema differs from `expected`, naming the first object that differs. */
export function assertSchema(db: SqliteDatabase, expected: readonly SchemaObject[]): void {
  const actual = schemaOf(db);
  const want = new Map(expected.map((o) => [describe(o), o]));
  const have = new Map(actual.map((o) => [describe(o), o]));
  const fail = (what: string): never => {
    throw new VaultError(
      'INTEGRITY',
      `the vault's schema was changed: ${what}. Someone with write access to the file altered it (a planted trigger runs inside the vault's own writes); nothing was done. Restore the vault from a backup, or remove the change after investigating`,
      { field: 'sqlite_schema' },
    );
  };
  for (const [name, o] of have) {
    const w = want.get(name);
    if (w === undefined) fail(`${name} (on ${o.tblName}) is not one the vault creates`);
    else if (w.sql !== o.sql || w.tblName !== o.tblName) fail(`${name} differs from its definition`);
  }
  for (const name of want.keys()) if (!have.has(name)) fail(`${name} is missing`);
}

interface Guard {
  readonly expected: readonly SchemaObject[];
  readonly cookie: Database.Statement<[], number>;
  verified: number | null;
}
const guards = new WeakMap<SqliteDatabase, Guard>();

/**
 * Checks the schema now, and from then on at the start of every transaction in which the file's
 * schema cookie (`PRAGMA schema_version`, a header read) has changed since the last check.
 */
export function guardSchema(db: SqliteDatabase, expected: readonly SchemaObject[]): void {
  const guard: Guard = { expected, cookie: db.prepare<[], number>('PRAGMA schema_version').pluck(), verified: null };
  guards.set(db, guard);
  checkSchema(db);
}

/** Inside a transaction (or before any): re-checks the schema if it changed since last checked. */
export function checkSchema(db: SqliteDatabase): void {
  const guard = guards.get(db);
  if (guard === undefined) return;
  const cookie = guard.cookie.get() ?? 0;
  if (cookie === guard.verified) return;
  assertSchema(db, guard.expected);
  guard.verified = cookie;
}
