/**
 * Forward-only schema migrations, in the manner of kysely's migrator: files named
 * `NNNN_name.sql` applied in name order, each recorded with a checksum. Opening refuses a vault
 * whose applied migrations were edited, are missing from this build, or were applied out of order,
 * with a message that says what is wrong and how to fix it. Pending migrations run together in one
 * IMMEDIATE transaction, so two processes creating the same vault at once cannot both run them.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VaultError } from '../errors.js';
import { APPLICATION_ID, assertVaultOrEmpty, readTransaction, writeTransaction, type SqliteDatabase } from './database.js';
import { assertSchema, expectedSchema, MIGRATIONS_TABLE_SQL } from './schema-guard.js';

export interface Migration {
  readonly name: string;
  readonly sql: string;
  readonly checksum: string;
}

export interface MigrationResult {
  readonly name: string;
  readonly status: 'applied' | 'already-applied';
}

const MIGRATION_FILE = /^\d{4}_[a-z0-9_]+\.sql$/;

/** The migrations shipped with this build (the package's `migrations/` folder). */
export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

export function checksumOf(sql: string): string {
  return createHash('sha256').update(sql, 'utf8').digest('hex');
}

/** Reads `dir`; refuses `.sql` files whose names do not follow `NNNN_name.sql`. */
export function loadMigrations(dir: string = DEFAULT_MIGRATIONS_DIR): Migration[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.sql'));
  } catch {
    throw new VaultError('MIGRATION', `migrations folder ${dir} cannot be read; reinstall childvault`);
  }
  const bad = names.find((n) => !MIGRATION_FILE.test(n));
  if (bad !== undefined) throw new VaultError('MIGRATION', `migration file ${bad} is misnamed: use NNNN_lower_snake.sql`);
  return names.sort().map((name) => {
    const sql = readFileSync(join(dir, name), 'utf8');
    return { name, sql, checksum: checksumOf(sql) };
  });
}

interface AppliedRow {
  name: string;
  checksum: string;
}

/**
 * Compares applied migrations with the shipped ones and returns those still to apply.
 * Exported for tests; `migrate` is the entry point.
 */
export function pendingMigrations(applied: readonly AppliedRow[], shipped: readonly Migration[]): Migration[] {
  const shippedByName = new Map(shipped.map((m) => [m.name, m]));
  for (const row of applied) {
    const file = shippedByName.get(row.name);
    if (file === undefined) {
      throw new VaultError('MIGRATION', `migration ${row.name} was applied to this vault but is missing from this childvault build; upgrade childvault to the version that created the vault`);
    }
    if (file.checksum !== row.checksum) {
      throw new VaultError('MIGRATION', `migration ${row.name} was edited after it was applied (checksum differs); restore the released file and add changes as a new migration`);
    }
  }
  const appliedNames = new Set(applied.map((r) => r.name));
  const lastApplied = applied.reduce<string | undefined>((max, r) => (max === undefined || r.name > max ? r.name : max), undefined);
  const pending = shipped.filter((m) => !appliedNames.has(m.name));
  const outOfOrder = pending.find((m) => lastApplied !== undefined && m.name < lastApplied);
  if (outOfOrder !== undefined) {
    throw new VaultError('MIGRATION', `migration ${outOfOrder.name} is not applied but the later ${lastApplied ?? ''} is; migrations must apply in order: rename ${outOfOrder.name} to sort after ${lastApplied ?? ''}`);
  }
  return pending;
}

function readApplied(db: SqliteDatabase): AppliedRow[] {
  const exists = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'").get();
  if (exists === undefined) return [];
  return db.prepare('SELECT name, checksum FROM schema_migrations ORDER BY name').all() as AppliedRow[];
}

/**
 * Brings the database up to date. Checks first in a read transaction (an up-to-date vault needs
 * no write lock), then applies pending migrations under the write lock, re-checking there since
 * another process may have applied them meanwhile.
 */
export async function migrate(db: SqliteDatabase, shipped: readonly Migration[] = loadMigrations(), now: number = Date.now()): Promise<MigrationResult[]> {
  const pendingNow = readTransaction(db, 'checking migrations', () => {
    assertVaultOrEmpty(db);
    return pendingMigrations(readApplied(db), shipped);
  });
  if (pendingNow.length === 0) return shipped.map((m) => ({ name: m.name, status: 'already-applied' }));

  return await writeTransaction(db, 'applying migrations', () => {
    assertVaultOrEmpty(db);
    // Migrations run on the schema their predecessors made, and nothing else: a planted trigger or
    // a deleted schema_migrations row is refused here, not met half-way through a migration.
    const applied = new Set(readApplied(db).map((r) => r.name));
    assertSchema(db, expectedSchema(shipped.filter((m) => applied.has(m.name))));
    db.exec(MIGRATIONS_TABLE_SQL);
    db.pragma(`application_id = ${APPLICATION_ID}`);
    const pending = new Set(pendingMigrations(readApplied(db), shipped).map((m) => m.name));
    const record = db.prepare('INSERT INTO schema_migrations (name, checksum, applied_at) VALUES (?, ?, ?)');
    return shipped.map((m): MigrationResult => {
      if (!pending.has(m.name)) return { name: m.name, status: 'already-applied' };
      try {
        db.exec(m.sql);
      } catch (cause) {
        const detail = cause instanceof Error ? cause.message : 'unknown error';
        throw new VaultError('MIGRATION', `migration ${m.name} failed and was rolled back: ${detail}`, { cause });
      }
      record.run(m.name, m.checksum, now);
      return { name: m.name, status: 'applied' };
    });
  });
}

/** The name of the last applied migration (the schema version), or undefined for a new file. */
export function schemaVersion(db: SqliteDatabase): string | undefined {
  const rows = readApplied(db);
  return rows[rows.length - 1]?.name;
}

/** True when the database has a table of that name. */
export function hasTable(db: SqliteDatabase, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

/** True when the file already holds an initialised vault (its identity row exists). */
export function vaultExists(db: SqliteDatabase): boolean {
  return readTransaction(db, 'reading the vault', () => {
    const table = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'vault_meta'").get();
    return table !== undefined && db.prepare('SELECT 1 FROM vault_meta').get() !== undefined;
  });
}
