import Database from 'better-sqlite3';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { APPLICATION_ID, openDatabase, type SqliteDatabase } from '../../../src/store/database.js';
import { MetaRepository } from '../../../src/store/meta-repository.js';
import { DEFAULT_MIGRATIONS_DIR, checksumOf, loadMigrations, migrate, pendingMigrations, schemaVersion, vaultExists } from '../../../src/store/migrator.js';
import { makeTempDir, removeTempDir } from '../../helpers/unit-bytes.js';
import { expectVaultError, expectVaultRejection } from '../../helpers/unit-errors.js';

let dir: string;
let migrationsDir: string;
let db: SqliteDatabase | undefined;

const M1 = 'CREATE TABLE alpha (id INTEGER PRIMARY KEY, v TEXT NOT NULL) STRICT;';
const M2 = 'CREATE TABLE beta (id INTEGER PRIMARY KEY) STRICT;\nCREATE INDEX beta_id ON beta (id);';
const M3 = 'ALTER TABLE alpha ADD COLUMN w TEXT;';

beforeEach(async () => {
  dir = makeTempDir();
  migrationsDir = join(dir, 'migrations');
  mkdirSync(migrationsDir);
});

afterEach(() => {
  db?.close();
  db = undefined;
  removeTempDir(dir);
});

function writeMigration(name: string, sql: string): void {
  writeFileSync(join(migrationsDir, name), sql);
}

function open(): SqliteDatabase {
  db = openDatabase({ path: join(dir, 'vault.db'), durability: 'normal' });
  return db;
}

function tables(d: SqliteDatabase): string[] {
  return (d.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
}

function applied(d: SqliteDatabase): { name: string; checksum: string; applied_at: number }[] {
  return d.prepare('SELECT name, checksum, applied_at FROM schema_migrations ORDER BY name').all() as { name: string; checksum: string; applied_at: number }[];
}

describe('loadMigrations', () => {
  it('reads NNNN_name.sql files in name order with their SHA-256 checksums, ignoring other files', async () => {
    writeMigration('0002_beta.sql', M2);
    writeMigration('0001_alpha.sql', M1);
    writeFileSync(join(migrationsDir, 'README.md'), 'notes');
    const loaded = loadMigrations(migrationsDir);
    expect(loaded.map((m) => m.name)).toEqual(['0001_alpha.sql', '0002_beta.sql']);
    expect(loaded[0]?.sql).toBe(M1);
    expect(loaded[0]?.checksum).toBe(checksumOf(M1));
    expect(checksumOf('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it.each(['1_alpha.sql', '0001-alpha.sql', '0001_Alpha.sql', '00001_alpha.sql', '0001_.sql', 'alpha.sql'])('refuses the misnamed file %s with MIGRATION naming it', (name) => {
    writeMigration('0001_alpha.sql', M1);
    writeMigration(name, M2);
    const error = expectVaultError(() => loadMigrations(migrationsDir), 'MIGRATION');
    expect(error.message).toContain(`migration file ${name} is misnamed`);
    expect(error.message).toContain('NNNN_lower_snake.sql');
  });

  it('refuses a folder that cannot be read with MIGRATION', async () => {
    const error = expectVaultError(() => loadMigrations(join(dir, 'missing')), 'MIGRATION');
    expect(error.message).toContain('cannot be read');
  });

  it('finds the shipped migrations by default', async () => {
    const shipped = loadMigrations();
    expect(shipped.length).toBeGreaterThan(0);
    expect(shipped[0]?.name).toBe('0001_init.sql');
    expect(loadMigrations(DEFAULT_MIGRATIONS_DIR)).toEqual(shipped);
  });
});

describe('migrate', () => {
  it('applies every migration to a fresh file, records each with its checksum, and marks the file as a vault', async () => {
    writeMigration('0001_alpha.sql', M1);
    writeMigration('0002_beta.sql', M2);
    const d = open();
    const results = await migrate(d, loadMigrations(migrationsDir), 1234);
    expect(results).toEqual([
      { name: '0001_alpha.sql', status: 'applied' },
      { name: '0002_beta.sql', status: 'applied' },
    ]);
    expect(tables(d)).toEqual(['alpha', 'beta', 'schema_migrations']);
    expect(applied(d)).toEqual([
      { name: '0001_alpha.sql', checksum: checksumOf(M1), applied_at: 1234 },
      { name: '0002_beta.sql', checksum: checksumOf(M2), applied_at: 1234 },
    ]);
    expect(d.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
    expect(schemaVersion(d)).toBe('0002_beta.sql');
  });

  it('is idempotent: a second run applies nothing and changes nothing', async () => {
    writeMigration('0001_alpha.sql', M1);
    const d = open();
    await migrate(d, loadMigrations(migrationsDir), 1);
    const results = await migrate(d, loadMigrations(migrationsDir), 2);
    expect(results).toEqual([{ name: '0001_alpha.sql', status: 'already-applied' }]);
    expect(applied(d).map((r) => r.applied_at)).toEqual([1]);
  });

  it('applies only the new migration when one is added later', async () => {
    writeMigration('0001_alpha.sql', M1);
    const d = open();
    await migrate(d, loadMigrations(migrationsDir), 1);
    d.prepare("INSERT INTO alpha (v) VALUES ('kept')").run();
    writeMigration('0002_alpha_w.sql', M3);
    expect(await migrate(d, loadMigrations(migrationsDir), 2)).toEqual([
      { name: '0001_alpha.sql', status: 'already-applied' },
      { name: '0002_alpha_w.sql', status: 'applied' },
    ]);
    expect(d.prepare('SELECT v, w FROM alpha').all()).toEqual([{ v: 'kept', w: null }]);
  });

  it('refuses a vault whose applied migration was edited, with MIGRATION naming the file', async () => {
    writeMigration('0001_alpha.sql', M1);
    const d = open();
    await migrate(d, loadMigrations(migrationsDir));
    writeMigration('0001_alpha.sql', `${M1}\n-- a harmless-looking edit`);
    const error = await expectVaultRejection(migrate(d, loadMigrations(migrationsDir)), 'MIGRATION');
    expect(error.message).toContain('migration 0001_alpha.sql was edited after it was applied');
    expect(error.message).toContain('add changes as a new migration');
  });

  it('refuses a vault whose applied migration is missing from the build, with MIGRATION naming it', async () => {
    writeMigration('0001_alpha.sql', M1);
    writeMigration('0002_beta.sql', M2);
    const d = open();
    await migrate(d, loadMigrations(migrationsDir));
    rmSync(join(migrationsDir, '0002_beta.sql'));
    const error = await expectVaultRejection(migrate(d, loadMigrations(migrationsDir)), 'MIGRATION');
    expect(error.message).toContain('migration 0002_beta.sql was applied to this vault but is missing from this childvault build');
  });

  it('refuses a pending migration that sorts before an applied one, naming both', async () => {
    writeMigration('0001_alpha.sql', M1);
    writeMigration('0003_beta.sql', M2);
    const d = open();
    await migrate(d, loadMigrations(migrationsDir));
    writeMigration('0002_alpha_w.sql', M3);
    const error = await expectVaultRejection(migrate(d, loadMigrations(migrationsDir)), 'MIGRATION');
    expect(error.message).toContain('migration 0002_alpha_w.sql is not applied but the later 0003_beta.sql is');
    expect(applied(d).map((r) => r.name)).toEqual(['0001_alpha.sql', '0003_beta.sql']);
    expect(d.prepare("SELECT count(*) AS n FROM pragma_table_info('alpha') WHERE name = 'w'").get()).toEqual({ n: 0 });
  });

  it('rolls back every migration of a failed run on a fresh file: no tables, no record, no application id', async () => {
    writeMigration('0001_alpha.sql', M1);
    writeMigration('0002_beta.sql', `${M2}\nCREATE TABLE broken (;`);
    writeMigration('0003_gamma.sql', 'CREATE TABLE gamma (id INTEGER);');
    const d = open();
    const error = await expectVaultRejection(migrate(d, loadMigrations(migrationsDir)), 'MIGRATION');
    expect(error.message).toContain('migration 0002_beta.sql failed and was rolled back');
    expect(tables(d)).toEqual([]);
    expect(d.prepare('SELECT count(*) AS n FROM sqlite_schema').get()).toEqual({ n: 0 });
    expect(d.pragma('application_id', { simple: true })).toBe(0);
    expect(d.inTransaction).toBe(false);
  });

  it('rolls back a failing migration that already ran some statements, keeping earlier runs', async () => {
    writeMigration('0001_alpha.sql', M1);
    const d = open();
    await migrate(d, loadMigrations(migrationsDir));
    d.prepare("INSERT INTO alpha (v) VALUES ('a')").run();
    // The second statement fails on a constraint after the first created a table and wrote a row.
    writeMigration('0002_beta.sql', "CREATE TABLE beta (id INTEGER PRIMARY KEY) STRICT;\nINSERT INTO beta VALUES (1);\nINSERT INTO alpha (v) VALUES (NULL);");
    await expectVaultRejection(migrate(d, loadMigrations(migrationsDir)), 'MIGRATION');
    expect(tables(d)).toEqual(['alpha', 'schema_migrations']);
    expect(applied(d).map((r) => r.name)).toEqual(['0001_alpha.sql']);
    expect(d.prepare('SELECT v FROM alpha').all()).toEqual([{ v: 'a' }]);
  });

  it('refuses a foreign SQLite file (tables but no application id) with CORRUPT and leaves it untouched', async () => {
    const path = join(dir, 'other.db');
    const raw = new Database(path);
    raw.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, phone TEXT); INSERT INTO users (phone) VALUES ('x');");
    writeMigration('0001_alpha.sql', M1);
    try {
      const error = await expectVaultRejection(migrate(raw, loadMigrations(migrationsDir)), 'CORRUPT');
      expect(error.message).toContain('not a childvault vault');
      expect(tables(raw)).toEqual(['users']);
      expect(raw.pragma('application_id', { simple: true })).toBe(0);
    } finally {
      raw.close();
    }
  });

  it('refuses a SQLite file with another application id even when it has no tables', async () => {
    const raw = new Database(join(dir, 'other.db'));
    raw.pragma('application_id = 1234');
    writeMigration('0001_alpha.sql', M1);
    try {
      await expectVaultRejection(migrate(raw, loadMigrations(migrationsDir)), 'CORRUPT');
      expect(tables(raw)).toEqual([]);
    } finally {
      raw.close();
    }
  });

  it('applies the shipped migrations to a fresh file, after which it is not yet a vault (no identity row)', async () => {
    const d = open();
    const results = await migrate(d);
    expect(results.every((r) => r.status === 'applied')).toBe(true);
    expect(tables(d)).toEqual(expect.arrayContaining(['vault_meta', 'vault_keys', 'keks', 'records', 'record_chunks', 'schema_migrations']));
    expect(vaultExists(d)).toBe(false);
  });
});

describe('pendingMigrations', () => {
  const m = (name: string, sql = name) => ({ name, sql, checksum: checksumOf(sql) });

  it('returns the shipped migrations not applied yet, in order', async () => {
    const shipped = [m('0001_a.sql'), m('0002_b.sql'), m('0003_c.sql')];
    const applied = [{ name: '0001_a.sql', checksum: checksumOf('0001_a.sql') }];
    expect(pendingMigrations(applied, shipped).map((x) => x.name)).toEqual(['0002_b.sql', '0003_c.sql']);
    expect(pendingMigrations([], shipped)).toEqual(shipped);
  });

  it('returns nothing when every shipped migration is applied', async () => {
    const shipped = [m('0001_a.sql')];
    expect(pendingMigrations([{ name: '0001_a.sql', checksum: checksumOf('0001_a.sql') }], shipped)).toEqual([]);
  });

  it('refuses an applied migration whose checksum differs', async () => {
    expectVaultError(() => pendingMigrations([{ name: '0001_a.sql', checksum: 'f'.repeat(64) }], [m('0001_a.sql')]), 'MIGRATION');
  });
});

describe('vaultExists', () => {
  it('is false for an empty file and true once the identity row exists', async () => {
    const d = open();
    expect(vaultExists(d)).toBe(false);
    await migrate(d);
    new MetaRepository(d).insert({
      vaultId: new Uint8Array(16),
      formatVersion: 1,
      createdAt: 0,
      masterProvider: 'raw-key',
      masterParams: null,
      masterCheck: Uint8Array.of(0),
    });
    expect(vaultExists(d)).toBe(true);
  });
});
