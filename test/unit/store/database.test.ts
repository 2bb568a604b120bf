import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VaultError, type ErrorCode } from '../../../src/errors.js';
import { APPLICATION_ID, openDatabase, readTransaction, translateStorageError, writeTransaction, type SqliteDatabase } from '../../../src/store/database.js';
import { makeTempDir, removeTempDir } from '../../helpers/unit-bytes.js';
import { expectVaultError, expectVaultRejection, thrownBy } from '../../helpers/unit-errors.js';

let dir: string;
let db: SqliteDatabase | undefined;

beforeEach(() => {
  dir = makeTempDir();
});

afterEach(() => {
  db?.close();
  db = undefined;
  removeTempDir(dir);
});

function open(durability: 'full' | 'normal' = 'full'): SqliteDatabase {
  db = openDatabase({ path: join(dir, 'vault.db'), durability });
  db.exec('CREATE TABLE IF NOT EXISTS t (v INTEGER NOT NULL)');
  return db;
}

function count(d: SqliteDatabase): number {
  return (d.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n;
}

describe('openDatabase', () => {
  it('sets WAL, synchronous FULL, secure_delete, foreign keys and trusted_schema OFF', () => {
    const d = open('full');
    expect(d.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(d.pragma('synchronous', { simple: true })).toBe(2);
    expect(d.pragma('secure_delete', { simple: true })).toBe(1);
    expect(d.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(d.pragma('trusted_schema', { simple: true })).toBe(0);
  });

  it('sets synchronous NORMAL for normal durability', () => {
    expect(open('normal').pragma('synchronous', { simple: true })).toBe(1);
  });

  it('refuses a file that is not SQLite with CORRUPT', () => {
    const path = join(dir, 'notes.db');
    writeFileSync(path, 'these are not the pages you are looking for, padded to look like a header....');
    const error = expectVaultError(() => openDatabase({ path, durability: 'full' }), 'CORRUPT');
    expect(error.message).toContain(path);
  });

  it('refuses another application\'s SQLite file with CORRUPT before changing its journal mode', () => {
    const path = join(dir, 'app.db');
    const raw = new Database(path);
    raw.exec('CREATE TABLE users (id INTEGER)');
    raw.close();
    expectVaultError(() => openDatabase({ path, durability: 'full' }), 'CORRUPT');
    const check = new Database(path);
    try {
      expect(check.pragma('journal_mode', { simple: true })).toBe('delete');
    } finally {
      check.close();
    }
  });

  it('opens a file that carries the childvault application id', () => {
    const path = join(dir, 'vault.db');
    const raw = new Database(path);
    raw.pragma(`application_id = ${APPLICATION_ID}`);
    raw.exec('CREATE TABLE x (id INTEGER)');
    raw.close();
    db = openDatabase({ path, durability: 'full' });
    expect(db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
  });

  it('reports a missing directory as STORAGE', () => {
    expectVaultError(() => openDatabase({ path: join(dir, 'no', 'such', 'vault.db'), durability: 'full' }), 'STORAGE');
  });
});

describe('writeTransaction / readTransaction', () => {
  /** What `promise` rejected with (the test fails if it resolved). */
  const rejection = async (promise: Promise<unknown>): Promise<unknown> => {
    let resolved = false;
    const error = await promise.then(
      () => {
        resolved = true;
      },
      (e: unknown) => e,
    );
    expect(resolved, 'expected a rejection').toBe(false);
    return error;
  };

  it('commits what the function did and returns its result', async () => {
    const d = open();
    expect(await writeTransaction(d, 'writing', () => d.prepare('INSERT INTO t VALUES (1)').run().changes)).toBe(1);
    expect(count(d)).toBe(1);
    expect(d.inTransaction).toBe(false);
  });

  it('rolls back when the function throws, and rethrows a VaultError unchanged', async () => {
    const d = open();
    const thrown = new VaultError('VALIDATION', 'bad input');
    const error = await rejection(
      writeTransaction(d, 'writing', () => {
        d.prepare('INSERT INTO t VALUES (1)').run();
        throw thrown;
      }),
    );
    expect(error).toBe(thrown);
    expect(count(d)).toBe(0);
    expect(d.inTransaction).toBe(false);
  });

  it('rolls back and rethrows a programming error unchanged', async () => {
    const d = open();
    const thrown = new TypeError('bug');
    expect(
      await rejection(
        writeTransaction(d, 'writing', () => {
          d.prepare('INSERT INTO t VALUES (1)').run();
          throw thrown;
        }),
      ),
    ).toBe(thrown);
    expect(count(d)).toBe(0);
  });

  it('translates a constraint failure inside the function to STORAGE and rolls back', async () => {
    const d = open();
    await expectVaultRejection(
      writeTransaction(d, 'writing', () => {
        d.prepare('INSERT INTO t VALUES (1)').run();
        d.prepare('INSERT INTO t VALUES (NULL)').run();
      }),
      'STORAGE',
    );
    expect(count(d)).toBe(0);
  });

  it('refuses an async function and rolls back what it started', async () => {
    const d = open();
    let promise: Promise<void> | undefined;
    const error = await rejection(
      writeTransaction(d, 'writing', () => {
        d.prepare('INSERT INTO t VALUES (1)').run();
        promise = Promise.resolve();
        return promise;
      }),
    );
    expect((error as Error).message).toBe('transaction functions must be synchronous');
    await promise;
    expect(count(d)).toBe(0);
  });

  it('runs a nested transaction as part of the enclosing one', async () => {
    const d = open();
    await rejection(
      writeTransaction(d, 'outer', () => {
        readTransaction(d, 'inner', () => d.prepare('INSERT INTO t VALUES (1)').run());
        throw new Error('outer fails');
      }),
    );
    expect(count(d)).toBe(0);
  });
});

describe('translateStorageError', () => {
  const fake = (code: string) => Object.assign(new Error(`sqlite says ${code}`), { code });
  const cases: [string, ErrorCode][] = [
    ['SQLITE_BUSY', 'BUSY'],
    ['SQLITE_BUSY_SNAPSHOT', 'BUSY'],
    ['SQLITE_LOCKED', 'BUSY'],
    ['SQLITE_NOTADB', 'CORRUPT'],
    ['SQLITE_CORRUPT', 'CORRUPT'],
    ['SQLITE_CORRUPT_INDEX', 'CORRUPT'],
    ['SQLITE_FULL', 'STORAGE'],
    ['SQLITE_READONLY', 'STORAGE'],
    ['SQLITE_READONLY_DBMOVED', 'STORAGE'],
    ['SQLITE_CANTOPEN', 'STORAGE'],
    ['SQLITE_IOERR_WRITE', 'STORAGE'],
    ['SQLITE_CONSTRAINT_NOTNULL', 'STORAGE'],
  ];

  it.each(cases)('maps %s to %s, saying what was being done and keeping the cause', (code, expected) => {
    const cause = fake(code);
    const error = translateStorageError(cause, 'storing values');
    expect(error.code).toBe(expected);
    expect(error.message.startsWith('storing values: ')).toBe(true);
    expect(error.cause).toBe(cause);
  });

  it('returns a VaultError unchanged and rethrows anything else', () => {
    const vaultError = new VaultError('INTEGRITY', 'x');
    expect(translateStorageError(vaultError, 'w')).toBe(vaultError);
    const bug = new RangeError('bug');
    expect(thrownBy(() => translateStorageError(bug, 'w'))).toBe(bug);
  });
});
