/**
 * Group commit: write transactions that arrive while the connection is busy share one commit.
 *
 * better-sqlite3 is synchronous, so a commit (one fsync at durability `full`, ~0.3 ms here) holds
 * the event loop, and a service with 64 requests in flight would pay 64 fsyncs in a row. Instead,
 * `writeTransaction` queues its function; the queue is drained once the event loop has taken in
 * what is ready (setImmediate, after the poll phase), so every operation that arrived meanwhile runs
 * in one IMMEDIATE transaction, each inside its own savepoint:
 *
 * - each keeps its own decision, audit entry and outcome: one that throws is rolled back to its
 *   savepoint (and the rollback listeners undo its in-memory effects) and fails alone;
 * - each promise settles only after the COMMIT that holds its writes, so durability is unchanged:
 *   nothing is acknowledged before it is on disk. A failed COMMIT fails every operation in it;
 * - operations run in arrival order and see the writes of those before them, as if run one by one;
 * - a batch of one runs without a savepoint, exactly as a lone transaction did.
 *
 * While another process holds the write lock, nothing runs: the batch waits (without blocking,
 * like every writer) and is joined by what arrives meanwhile; an operation that has waited
 * `lockTimeoutMs` fails with BUSY on its own.
 */
import { VaultError } from '../errors.js';
import { formatDuration } from '../format/duration.js';
import type { SqliteDatabase } from './database.js';
import { checkSchema } from './schema-guard.js';
import { translateStorageError } from './storage-errors.js';
import { beginImmediate, LockTaken, lockRetryDelay, lockTimeoutOf, runRollbackListeners, transactionStatements, type TransactionStatements } from './transactions.js';

/** At most this many operations share a commit: bounds a batch's transaction and its latency. */
const MAX_BATCH = 256;

interface QueuedWrite {
  readonly what: string;
  readonly fn: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  /** performance.now() when it was queued: its own lock wait is measured from here. */
  readonly since: number;
}

type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

/** A failure as the caller sees it: storage errors translated, anything else unchanged. */
function asFailure(error: unknown, what: string): unknown {
  try {
    return translateStorageError(error, what);
  } catch (unknownError) {
    return unknownError;
  }
}

class GroupCommitter {
  readonly #db: SqliteDatabase;
  readonly #queue: QueuedWrite[] = [];
  #draining = false;

  constructor(db: SqliteDatabase) {
    this.#db = db;
  }

  enqueue(write: QueuedWrite): void {
    this.#queue.push(write);
    if (this.#draining) return;
    this.#draining = true;
    setImmediate(() => void this.#drain());
  }

  async #drain(): Promise<void> {
    try {
      for (let tries = 0; this.#queue.length > 0; ) {
        const batch = this.#queue.splice(0, MAX_BATCH);
        if (this.#run(batch)) {
          tries = 0;
          // Let the settled operations' callers go on, and what arrives meanwhile join the next batch.
          await new Promise<void>((resolve) => setImmediate(resolve));
          continue;
        }
        // The write lock is another process's: nothing ran. Those that waited long enough fail alone.
        const now = performance.now();
        const timeout = lockTimeoutOf(this.#db);
        const waiting = batch.filter((w) => {
          const waited = now - w.since;
          if (waited < timeout) return true;
          w.reject(new VaultError('BUSY', `${w.what}: the vault stayed locked by another process for ${formatDuration(waited)} (the limit is ${formatDuration(timeout)}); retry, or find the process holding it`));
          return false;
        });
        this.#queue.unshift(...waiting);
        if (this.#queue.length > 0) await lockRetryDelay(tries++);
      }
    } finally {
      this.#draining = false;
    }
  }

  /** Runs `batch` in one transaction and settles each; false (nothing ran) when the lock is taken. */
  #run(batch: QueuedWrite[]): boolean {
    const db = this.#db;
    if (!db.open) {
      for (const w of batch) w.reject(new VaultError('CLOSED', `${w.what}: the vault is closed`));
      return true;
    }
    const s = transactionStatements(db);
    try {
      beginImmediate(s);
      checkSchema(db); // a trigger planted since the last check would run inside the batch's writes
    } catch (error) {
      if (error instanceof LockTaken) return false;
      rollbackQuietly(db, s);
      for (const w of batch) w.reject(asFailure(error, w.what));
      return true;
    }
    const outcomes: Outcome[] = [];
    const alone = batch.length === 1;
    for (const w of batch) {
      const outcome = alone ? runAlone(w) : runInSavepoint(db, s, w);
      outcomes.push(outcome);
      if (!outcome.ok && !db.inTransaction) {
        // SQLite rolled the whole transaction back (a full disk, an I/O error): the operations
        // before this one are undone with it, and those after it never ran: they go in the next batch.
        this.#queue.unshift(...batch.slice(outcomes.length));
        if (alone) runRollbackListeners(db); // (a savepoint's failure has run them already)
        return this.#settle(batch.slice(0, outcomes.length), outcomes.map((o) => (o.ok ? { ok: false, error: outcome.error } : o)));
      }
    }
    try {
      if (outcomes.some((o) => o.ok)) s.commit.run();
      else s.rollback.run();
    } catch (error) {
      rollbackQuietly(db, s);
      runRollbackListeners(db);
      return this.#settle(batch, batch.map((w) => ({ ok: false, error: asFailure(error, w.what) })));
    }
    if (alone && outcomes[0]?.ok === false) runRollbackListeners(db);
    return this.#settle(batch, outcomes);
  }

  #settle(batch: readonly QueuedWrite[], outcomes: readonly Outcome[]): true {
    batch.forEach((w, i) => {
      const o = outcomes[i];
      if (o?.ok === true) w.resolve(o.value);
      else w.reject(o?.error);
    });
    return true;
  }
}

/** One operation that has the transaction to itself: a failure rolls the transaction back (by the caller). */
function runAlone(w: QueuedWrite): Outcome {
  try {
    const value = w.fn();
    if (value instanceof Promise) throw new Error('transaction functions must be synchronous');
    return { ok: true, value };
  } catch (error) {
    return { ok: false, error: asFailure(error, w.what) };
  }
}

/** One operation of several: its writes are undone on failure, the others' kept. */
function runInSavepoint(db: SqliteDatabase, s: TransactionStatements, w: QueuedWrite): Outcome {
  try {
    s.savepoint.run();
    const value = w.fn();
    if (value instanceof Promise) throw new Error('transaction functions must be synchronous');
    s.release.run();
    return { ok: true, value };
  } catch (error) {
    if (db.inTransaction) {
      try {
        s.rollbackTo.run();
        s.release.run();
      } catch {
        rollbackQuietly(db, s); // the whole batch fails (the caller sees the transaction gone)
      }
    }
    runRollbackListeners(db);
    return { ok: false, error: asFailure(error, w.what) };
  }
}

function rollbackQuietly(db: SqliteDatabase, s: TransactionStatements): void {
  if (!db.inTransaction) return;
  try {
    s.rollback.run();
  } catch {
    // The original error says what went wrong; a failed rollback must not replace it.
  }
}

const committers = new WeakMap<SqliteDatabase, GroupCommitter>();

/**
 * Runs `fn` in a write transaction taken IMMEDIATE, so two processes serialise at BEGIN instead of
 * failing at COMMIT, and rows chained inside (the audit log) never fork; operations arriving
 * together share the transaction and its commit (above). `fn` must be synchronous: an await inside
 * would let other work interleave with the open transaction. It runs exactly once, once the lock
 * is held; the promise settles after the commit.
 *
 * While another process holds the write lock this waits without blocking the event loop: BEGIN is
 * tried with no busy handler, and on a taken lock a short timer is awaited before the next try.
 * SQLite's own busy wait would hold the thread for up to the whole timeout: a service's unrelated
 * requests, timers and health checks would all stop. After the connection's lock timeout
 * (`lockTimeoutMs`, default 10 s) it fails with BUSY, saying how long it waited.
 */
export function writeTransaction<T>(db: SqliteDatabase, what: string, fn: () => T): Promise<T> {
  let committer = committers.get(db);
  if (committer === undefined) {
    committer = new GroupCommitter(db);
    committers.set(db, committer);
  }
  const queued = committer;
  return new Promise<T>((resolve, reject) => {
    queued.enqueue({ what, fn, resolve: resolve as (value: unknown) => void, reject, since: performance.now() });
  });
}
