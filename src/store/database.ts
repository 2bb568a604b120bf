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
/** How long a writer waits, by default, for another process to release the write lock. */
const DEFAULT_LOCK_TIMEOUT_MS = 10_000;
/**
 * SQLite's own busy wait, which blocks the thread: kept only for the rare lock a reader or the
 * file's setup meets (WAL recovery after a crash), never for the write lock (see `writeTransaction`).
 */
const SQLITE_BUSY_WAIT_MS = 20;

export interface OpenDatabaseOptions {
  readonly path: string;
  /** `full` (default): every commit is fsynced. `normal`: a power loss may drop the last commits. */
  readonly durability: Durability;
  /** Open without write access (status, verification of a copy). */
  readonly readonly?: boolean;
  /** Fail instead of creating a new file. */
  readonly mustExist?: boolean;
  /** How long a write waits for another process's write lock before BUSY (default 10 s; the event loop keeps running). */
  readonly lockTimeoutMs?: number;
}

/** Maps a SQLite (or file system) error to a VaultError; `what` says what was being done. */
export function translateStorageError(error: unknown, what: string): VaultError {
  if (error instanceof VaultError) return error;
  const code = typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : '';
  if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code === 'SQLITE_LOCKED') {
    return new VaultError('BUSY', `${what}: the vault is locked by another process; retry, or find the process holding it`, { cause: error });
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
      timeout: SQLITE_BUSY_WAIT_MS,
    });
  } catch (error) {
    throw translateStorageError(error, `opening ${options.path}`);
  }
  try {
    db.pragma(`busy_timeout = ${SQLITE_BUSY_WAIT_MS}`);
    // Before any setting is written: never touch another application's database.
    assertVaultOrEmpty(db);
    if (!options.readonly) db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.durability === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma('secure_delete = ON');
    db.pragma('foreign_keys = ON');
    db.pragma('trusted_schema = OFF');
    lockTimeouts.set(db, options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS);
  } catch (error) {
    db.close();
    throw translateStorageError(error, `opening ${options.path}`);
  }
  return db;
}

/**
 * `openDatabase`, waiting without blocking while another process holds a lock the setup needs
 * (a vault being created or migrated, a WAL checkpoint): each BUSY attempt is retried after a
 * short timer, for up to `lockTimeoutMs`.
 */
export async function openDatabaseWaiting(options: OpenDatabaseOptions): Promise<SqliteDatabase> {
  return whileLocked(`opening ${options.path}`, options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS, () => openDatabase(options), (error) => error instanceof VaultError && error.code === 'BUSY');
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
      busyWaitOn: db.prepare(`PRAGMA busy_timeout = ${SQLITE_BUSY_WAIT_MS}`),
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

/** Thrown by a transaction attempt whose BEGIN IMMEDIATE found the write lock taken: nothing ran. */
class LockTaken extends Error {}

/** BEGIN IMMEDIATE without any wait: throws LockTaken while another process holds the write lock. */
function beginImmediate(s: TransactionStatements): void {
  s.busyWaitOff.get();
  try {
    s.immediate.run();
  } catch (error) {
    if (isBusy(error)) throw new LockTaken();
    throw error;
  } finally {
    s.busyWaitOn.get();
  }
}

/**
 * The waits between two tries for the write lock: the next turn of the event loop three times
 * (a lock released within microseconds), then every millisecond. Capped that low because a long
 * job (a KEK rotation) leaves the lock free for only a millisecond between its batches; a try
 * costs a few microseconds.
 */
function lockRetryDelay(attempt: number): Promise<void> {
  return new Promise((resolve) => {
    if (attempt < 3) setImmediate(resolve);
    else setTimeout(resolve, 1);
  });
}

/** Per connection: how long a writer waits for the write lock (`OpenDatabaseOptions.lockTimeoutMs`). */
const lockTimeouts = new WeakMap<SqliteDatabase, number>();

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
    if (error instanceof LockTaken) throw error;
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
 *
 * While another process holds the write lock this waits without blocking the event loop: BEGIN
 * is tried with no busy handler, and on a taken lock the promise awaits a short timer and tries
 * again (`fn` runs only once the lock is held, so it runs exactly once). SQLite's own busy wait
 * would hold the thread for up to the whole timeout: a service's unrelated requests, timers and
 * health checks would all stop. After the connection's lock timeout (`lockTimeoutMs`, default
 * 10 s) it fails with BUSY, saying how long it waited.
 */
export async function writeTransaction<T>(db: SqliteDatabase, what: string, fn: () => T): Promise<T> {
  return whileLocked(what, lockTimeouts.get(db) ?? DEFAULT_LOCK_TIMEOUT_MS, () => runInTransaction(db, 'immediate', what, fn), (error) => error instanceof LockTaken);
}

/**
 * Runs `attempt` until it does not fail with a lock another process holds (`locked`), awaiting
 * lockRetryDelay between tries; after `timeoutMs`, BUSY saying how long it waited.
 */
async function whileLocked<T>(what: string, timeoutMs: number, attempt: () => T, locked: (error: unknown) => boolean): Promise<T> {
  const started = performance.now();
  for (let tries = 0; ; tries++) {
    try {
      return attempt();
    } catch (error) {
      if (!locked(error)) throw error;
    }
    const waited = performance.now() - started;
    if (waited >= timeoutMs) {
      throw new VaultError('BUSY', `${what}: the vault stayed locked by another process for ${formatWait(waited)} (the limit is ${formatWait(timeoutMs)}); retry, or find the process holding it`);
    }
    await lockRetryDelay(tries);
  }
}

/**
 * `writeTransaction` for the few writers that must stay synchronous (the leak guard's refusal
 * entry, written from inside a service's synchronous INSERT): it never waits, and fails with BUSY
 * at once while another process holds the write lock.
 */
export function writeTransactionNow<T>(db: SqliteDatabase, what: string, fn: () => T): T {
  try {
    return runInTransaction(db, 'immediate', what, fn);
  } catch (error) {
    if (error instanceof LockTaken) throw new VaultError('BUSY', `${what}: the vault is locked by another process`);
    throw error;
  }
}

function formatWait(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** Runs `fn` in a read transaction: one consistent snapshot across its statements. */
export function readTransaction<T>(db: SqliteDatabase, what: string, fn: () => T): T {
  return runInTransaction(db, 'deferred', what, fn);
}

/**
 * Best effort after an erasure: copy the write-ahead log into the database and truncate it, so
 * page images of erased rows (ciphertext, wrapped data keys, pseudonym keys) do not linger in the
 * -wal file. Waits at most SQLITE_BUSY_WAIT_MS for other connections; returns false if they kept
 * it busy (the WAL is then reused and overwritten later). Never inside a transaction.
 */
export function truncateWal(db: SqliteDatabase): boolean {
  if (db.inTransaction || db.memory) return false;
  try {
    const row = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
    return row[0]?.busy === 0;
  } catch {
    return false;
  }
}
