/**
 * Transactions on the vault's connection: IMMEDIATE write transactions that wait for another
 * process's write lock without blocking the event loop, read snapshots, and the listeners that
 * undo in-memory state when a transaction (or one operation's savepoint) rolls back.
 */
import type Database from 'better-sqlite3';
import { VaultError } from '../errors.js';
import { formatDuration } from '../format/duration.js';
import type { SqliteDatabase } from './database.js';
import { checkSchema } from './schema-guard.js';
import { translateStorageError } from './storage-errors.js';

/** How long a writer waits, by default, for another process to release the write lock. */
export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;
/**
 * SQLite's own busy wait, which blocks the thread: kept only for the rare lock a reader or the
 * file's setup meets (WAL recovery after a crash), never for the write lock (see `writeTransaction`).
 */
export const SQLITE_BUSY_WAIT_MS = 20;

export interface TransactionStatements {
  readonly busyWaitOff: Database.Statement;
  readonly busyWaitOn: Database.Statement;
  readonly immediate: Database.Statement;
  readonly deferred: Database.Statement;
  readonly commit: Database.Statement;
  readonly rollback: Database.Statement;
  /** One operation of a group commit (group-commit.ts): its own savepoint inside the batch's transaction. */
  readonly savepoint: Database.Statement;
  readonly release: Database.Statement;
  readonly rollbackTo: Database.Statement;
}
const statements = new WeakMap<SqliteDatabase, TransactionStatements>();

export function transactionStatements(db: SqliteDatabase): TransactionStatements {
  let s = statements.get(db);
  if (s === undefined) {
    s = {
      busyWaitOff: db.prepare('PRAGMA busy_timeout = 0'),
      busyWaitOn: db.prepare(`PRAGMA busy_timeout = ${SQLITE_BUSY_WAIT_MS}`),
      immediate: db.prepare('BEGIN IMMEDIATE'),
      deferred: db.prepare('BEGIN DEFERRED'),
      commit: db.prepare('COMMIT'),
      rollback: db.prepare('ROLLBACK'),
      savepoint: db.prepare('SAVEPOINT operation'),
      release: db.prepare('RELEASE operation'),
      rollbackTo: db.prepare('ROLLBACK TO operation'),
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

/** After a rollback of the transaction, or of one operation's savepoint in it. */
export function runRollbackListeners(db: SqliteDatabase): void {
  for (const listener of rollbackListeners.get(db) ?? []) listener();
}

const isBusy = (error: unknown): boolean => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_'));
};

/** Thrown by a transaction attempt whose BEGIN IMMEDIATE found the write lock taken: nothing ran. */
export class LockTaken extends Error {}

/** BEGIN IMMEDIATE without any wait: throws LockTaken while another process holds the write lock. */
export function beginImmediate(s: TransactionStatements): void {
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
export function lockRetryDelay(attempt: number): Promise<void> {
  return new Promise((resolve) => {
    if (attempt < 3) setImmediate(resolve);
    else setTimeout(resolve, 1);
  });
}

/** Per connection: how long a writer waits for the write lock (`OpenDatabaseOptions.lockTimeoutMs`). */
const lockTimeouts = new WeakMap<SqliteDatabase, number>();

export function setLockTimeout(db: SqliteDatabase, ms: number): void {
  lockTimeouts.set(db, ms);
}

export function lockTimeoutOf(db: SqliteDatabase): number {
  return lockTimeouts.get(db) ?? DEFAULT_LOCK_TIMEOUT_MS;
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
    runRollbackListeners(db);
    throw translateStorageError(error, what);
  }
  return result;
}

/**
 * Runs `attempt` until it does not fail with a lock another process holds (`locked`), awaiting
 * lockRetryDelay between tries; after `timeoutMs`, BUSY saying how long it waited.
 */
export async function whileLocked<T>(what: string, timeoutMs: number, attempt: () => T, locked: (error: unknown) => boolean): Promise<T> {
  const started = performance.now();
  for (let tries = 0; ; tries++) {
    try {
      return attempt();
    } catch (error) {
      if (!locked(error)) throw error;
    }
    const waited = performance.now() - started;
    if (waited >= timeoutMs) {
      throw new VaultError('BUSY', `${what}: the vault stayed locked by another process for ${formatDuration(waited)} (the limit is ${formatDuration(timeoutMs)}); retry, or find the process holding it`);
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

/** Runs `fn` in a read transaction: one consistent snapshot across its statements. */
export function readTransaction<T>(db: SqliteDatabase, what: string, fn: () => T): T {
  return runInTransaction(db, 'deferred', what, fn);
}
