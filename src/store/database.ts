/**
 * Opens the vault's SQLite file with the settings durability and erasure depend on, and turns
 * SQLite failures into VaultErrors with actionable messages.
 */
import { closeSync, constants, fchmodSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { VaultError } from '../errors.js';
import { translateStorageError } from './storage-errors.js';
import { DEFAULT_LOCK_TIMEOUT_MS, setLockTimeout, SQLITE_BUSY_WAIT_MS, whileLocked } from './transactions.js';

export { translateStorageError } from './storage-errors.js';
export { onRollback, pauseBetweenBatches, readTransaction, writeTransactionNow } from './transactions.js';
export { writeTransaction } from './group-commit.js';

export type Durability = 'full' | 'normal';
export type SqliteDatabase = Database.Database;

/** `PRAGMA application_id` of childvault files ("CVLT"): tells a vault from any other SQLite file. */
export const APPLICATION_ID = 0x43564c54;

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
    setLockTimeout(db, options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS);
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
