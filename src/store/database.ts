/**
 * Opens the vault's SQLite file with the settings durability and erasure depend on, and turns
 * SQLite failures into VaultErrors with actionable messages.
 */
import { closeSync, constants, fchmodSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { VaultError } from '../errors.js';
import { checkSchema } from './schema-guard.js';

export type Durability = 'full' | 'normal';
export type SqliteDatabase = Database.Database;

/** `PRAGMA application_id` of childvault files ("CVLT"): tells a vault from any other SQLite file. */
export const APPLICATION_ID = 0x43564c54;
export const BUSY_TIMEOUT_MS = 10_000;
/** How often a writer waiting for another process's write lock tries again. */
const LOCK_POLL_MS = 0.25;

export interface OpenDatabaseOptions {
  readonly path: string;
  /** `full` (default): every commit is fsynced. `normal`: a power loss may drop the last commits. */
  readonly durability: Durability;
  /** Open without write access (status, verification of a copy). */
  readonly readonly?: boolean;
  /** Fail instead of creating a new file. */
  readonly mustExist?: boolean;
}

/** Maps a SQLite (or file system) error to a VaultError; `what` says what was being done. */
export function translateStorageError(error: unknown, what: string): VaultError {
  if (error instanceof VaultError) return error;
  const code = typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : '';
  if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code === 'SQLITE_LOCKED') {
    return new VaultError('BUSY', `${what}: the vault stayed locked by another process for ${BUSY_TIMEOUT_MS / 1000}s; retry, or find the process holding it`, { cause: error });
  }
  if (code === 'SQLITE_NOTADB') return new VaultError('CORRUPT', `${what}: the file is not an SQLite database, so not a childvault vault`, { cause: error });
  if (code === 'SQLITE_CORRUPT' || code.startsWith('SQLITE_CORRUPT_')) {
    return new VaultError('CORRUPT', `${what}: SQLite reports the vault file corrupt; restore it from a backup`, { cause: error });
  }
  if (code === 'SQLITE_FULL') return new VaultError('STORAGE', `${what}: the disk is full; free space and retry (nothing was written)`, { cause: error });
  if (code === 'SQLITE_READONLY' || code.startsWith('SQLITE_READONLY_')) {
    return new VaultError('STORAGE', `${what}: the vault file (or its directory) is read-only; nothing was written`, { cause: error });
  }
  if (code === 'SQLITE_CANTOPEN' || code.startsWith('SQLITE_CANTOPEN_')) {
    return new VaultError('STORAGE', `${what}: the vault file cannot be opened (missing directory or no permission)`, { cause: error });
  }
  if (code.startsWith('SQLITE_IOERR')) return new VaultError('STORAGE', `${what}: an I/O error occurred (${code}); nothing was written`, { cause: error });
  if (code.startsWith('SQLITE_')) return new VaultError('STORAGE', `${what}: SQLite failed (${code})`, { cause: error });
  const message = error instanceof Error ? error.message : String(error);
  if (message.startsWith('Cannot open database because the directory does not exist')) {
    return new VaultError('STORAGE', `${what}: the directory of the vault file does not exist`, { cause: error });
  }
  throw error; // a programming error: let it surface unchanged
}

/**
 * Refuses a database that belongs to another application: one with a different application id,
 * or with tables but no id. (Reading the header also fails early on a file that is not SQLite.)
 */
export function assertVaultOrEmpty(db: SqliteDatabase): void {
  const appId = db.pragma('application_id', { simple: true }) as number;
  if (appId === APPLICATION_ID) return;
  const objects = db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'").get() as { n: number };
  if (appId !== 0 || objects.n > 0) {
    throw new VaultError('CORRUPT', 'this SQLite file is not a childvault vault (another application id, or tables without one); refusing to touch it');
  }
}

/**
 * Creates `path` empty with mode 0600 (owner only, whatever the umask) if it does not exist yet.
 * SQLite would create it 0644 less the umask, and gives the -wal and -shm files it creates later
 * the mode of the database file: created here first, all three are 0600. An existing file is
 * left as it is (O_EXCL: never truncated, never re-moded).
 */
function createPrivateFile(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    const why = code === 'ENOENT' ? 'the directory of the vault file does not exist' : `the vault file cannot be created (${code ?? 'error'}: no permission, or a read-only file system?)`;
    throw new VaultError('STORAGE', `opening ${path}: ${why}`, { cause: error });
  }
  try {
    fchmodSync(fd, 0o600);
  } finally {
    closeSync(fd);
  }
}

/** An in-memory or temporary database: no file of its own to create. */
function isFilePath(path: string): boolean {
  return path !== '' && path !== ':memory:' && !path.startsWith('file:');
}

/**
 * Opens (creating if allowed) the SQLite file with: WAL, `synchronous` FULL or NORMAL,
 * `secure_delete` ON (erased pages are zeroed), foreign keys ON, a busy timeout, and
 * `trusted_schema` OFF. A file it creates is mode 0600, and so are its -wal and -shm files.
 */
export function openDatabase(options: OpenDatabaseOptions): SqliteDatabase {
  let db: SqliteDatabase;
  try {
    if (options.readonly !== true && options.mustExist !== true && isFilePath(options.path)) createPrivateFile(options.path);
    db = new Database(options.path, {
      readonly: options.readonly ?? false,
      fileMustExist: options.mustExist ?? false,
      timeout: BUSY_TIMEOUT_MS,
    });
  } catch (error) {
    throw translateStorageError(error, `opening ${options.path}`);
  }
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // Before any setting is written: never touch another application's database.
    assertVaultOrEmpty(db);
    if (!options.readonly) db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.durability === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma('secure_delete = ON');
    db.pragma('foreign_keys = ON');
    db.pragma('trusted_schema = OFF');
  } catch (error) {
    db.close();
    throw translateStorageError(error, `opening ${options.path}`);
  }
  return db;
}

interface TransactionStatements {
  readonly busyWaitOff: Database.Statement;
  readonly busyWaitOn: Database.Statement;
  readonly immediate: Database.Statement;
  readonly deferred: Database.Statement;
  readonly commit: Database.Statement;
  readonly rollback: Database.Statement;
}
const statements = new WeakMap<SqliteDatabase, TransactionStatements>();

function transactionStatements(db: SqliteDatabase): TransactionStatements {
  let s = statements.get(db);
  if (s === undefined) {
    s = {
      busyWaitOff: db.prepare('PRAGMA busy_timeout = 0'),
      busyWaitOn: db.prepare(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`),
      immediate: db.prepare('BEGIN IMMEDIATE'),
      deferred: db.prepare('BEGIN DEFERRED'),
      commit: db.prepare('COMMIT'),
      rollback: db.prepare('ROLLBACK'),
    };
    statements.set(db, s);
  }
  return s;
}

const rollbackListeners = new WeakMap<SqliteDatabase, (() => void)[]>();

/** Calls `listener` after every rollback on `db` (for in-memory state that mirrors rows written). */
export function onRollback(db: SqliteDatabase, listener: () => void): void {
  const list = rollbackListeners.get(db) ?? [];
  list.push(listener);
  rollbackListeners.set(db, list);
}

const isBusy = (error: unknown): boolean => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_'));
};
const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/**
 * BEGIN IMMEDIATE, retried every LOCK_POLL_MS while another process holds the write lock, for up
 * to BUSY_TIMEOUT_MS. Not SQLite's own busy wait: it backs off to 100 ms sleeps, so a waiting
 * writer keeps missing the short gaps a long job (a KEK rotation) leaves between its batches and
 * waited 0.75 s behind 45 ms batches in the bench. The thread sleeps as SQLite's wait would.
 */
function beginImmediate(s: TransactionStatements): void {
  s.busyWaitOff.get();
  try {
    const deadline = performance.now() + BUSY_TIMEOUT_MS;
    for (;;) {
      try {
        s.immediate.run();
        return;
      } catch (error) {
        if (!isBusy(error) || performance.now() >= deadline) throw error;
      }
      Atomics.wait(sleepCell, 0, 0, LOCK_POLL_MS);
    }
  } finally {
    s.busyWaitOn.get();
  }
}

/**
 * For jobs that write in many batches (rotation, retention): awaited between two batches, leaves
 * the write lock free for a millisecond, four of a waiting writer's polls, so writers in other
 * processes get in between batches instead of waiting for the whole job.
 */
export function pauseBetweenBatches(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 1));
}

function runInTransaction<T>(db: SqliteDatabase, mode: 'immediate' | 'deferred', what: string, fn: () => T): T {
  if (db.inTransaction) return fn(); // nested: part of the enclosing transaction
  const s = transactionStatements(db);
  try {
    if (mode === 'immediate') beginImmediate(s);
    else s.deferred.run();
  } catch (error) {
    throw translateStorageError(error, what);
  }
  let result: T;
  try {
    checkSchema(db); // a trigger planted since the last check would run inside `fn`'s writes
    result = fn();
    if (result instanceof Promise) throw new Error('transaction functions must be synchronous');
    s.commit.run();
  } catch (error) {
    if (db.inTransaction) {
      try {
        s.rollback.run();
      } catch {
        // The original error says what went wrong; a failed rollback must not replace it.
      }
    }
    for (const listener of rollbackListeners.get(db) ?? []) listener();
    throw translateStorageError(error, what);
  }
  return result;
}

/**
 * Runs `fn` in a write transaction taken IMMEDIATE, so two processes serialise at BEGIN instead
 * of failing at COMMIT, and rows chained inside (the audit log) never fork. `fn` must be
 * synchronous: an await inside would let other work interleave with the open transaction.
 */
export function writeTransaction<T>(db: SqliteDatabase, what: string, fn: () => T): T {
  return runInTransaction(db, 'immediate', what, fn);
}

/** Runs `fn` in a read transaction: one consistent snapshot across its statements. */
export function readTransaction<T>(db: SqliteDatabase, what: string, fn: () => T): T {
  return runInTransaction(db, 'deferred', what, fn);
}

/**
 * Best effort after an erasure: copy the write-ahead log into the database and truncate it, so
 * page images of erased rows (ciphertext, wrapped data keys, pseudonym keys) do not linger in the
 * -wal file. Waits at most 100 ms for other connections; returns false if they kept it busy (the
 * WAL is then reused and overwritten later). Never inside a transaction.
 */
export function truncateWal(db: SqliteDatabase): boolean {
  if (db.inTransaction || db.memory) return false;
  try {
    db.pragma('busy_timeout = 100');
    const row = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
    return row[0]?.busy === 0;
  } catch {
    return false;
  } finally {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  }
}
