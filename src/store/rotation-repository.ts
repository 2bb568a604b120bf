/** Key rotations (their progress, for resuming) and the erasure record that backup safety reads. */
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';

export interface RotationRow {
  readonly id: number;
  readonly toVersion: number;
  readonly reencrypt: boolean;
  readonly startedAt: number;
  readonly finishedAt: number | null;
  readonly cursor: number;
  readonly rewrapped: number;
}

/** A record as rotation sees it: enough to rewrap (and re-encrypt) without the subject id. */
/** What a rewrap reads: the data key and what its AAD binds. */
export interface RotatableRow {
  readonly id: number;
  readonly subjectTag: Uint8Array;
  readonly category: string;
  readonly dekId: Uint8Array;
  readonly kekVersion: number;
  readonly wrappedDek: Uint8Array;
}

/** What a re-encryption reads besides: the sealed value. */
export interface ResealableRow extends RotatableRow {
  readonly format: number;
  readonly body: Uint8Array;
  readonly chunkCount: number;
  readonly plaintextBytes: number;
  readonly writtenAt: number;
}

export interface ErasureSummary {
  readonly erasures: number;
  readonly values: number;
  /**
   * Erasures made since the last master-key rotation: a backup taken before them still decrypts
   * the erased values with the current master key. Rotating the master key (and destroying the
   * old one) makes them backup-safe.
   */
  readonly notBackupSafe: number;
  readonly lastMasterRotation: number | null;
}

const ROTATION_COLUMNS = `id, to_version AS toVersion, reencrypt, started_at AS startedAt, finished_at AS finishedAt, cursor, rewrapped`;

export class RotationRepository {
  readonly #running: Statement<[], Omit<RotationRow, 'reencrypt'> & { reencrypt: number }>;
  readonly #start: Statement<[number, number, number]>;
  readonly #advance: Statement<[number, number, number]>;
  readonly #finish: Statement<[number, number]>;
  readonly #pageKeys: Statement<[number, number, number], RotatableRow>;
  readonly #pageValues: Statement<[number, number, number], ResealableRow>;
  readonly #remaining: Statement<[number], { n: number }>;
  readonly #rewrap: Statement<[number, Uint8Array, number, Uint8Array]>;
  readonly #reseal: Statement<[Uint8Array, number, Uint8Array, Uint8Array, number, number, Uint8Array]>;
  readonly #chunk: Statement<[Uint8Array, number], { data: Uint8Array }>;
  readonly #insertChunk: Statement<[Uint8Array, number, Uint8Array]>;
  readonly #deleteChunks: Statement<[Uint8Array]>;
  readonly #insertErasure: Statement<[number, string, number]>;
  readonly #erasureCounts: Statement<[], { erasures: number; values: number | null }>;
  readonly #erasuresSince: Statement<[number], { n: number }>;
  readonly #lastMasterRotation: Statement<[], { at: number | null }>;
  readonly #recordMasterRotation: Statement<[number]>;

  constructor(db: SqliteDatabase) {
    this.#running = db.prepare(`SELECT ${ROTATION_COLUMNS} FROM key_rotations WHERE finished_at IS NULL`);
    this.#start = db.prepare('INSERT INTO key_rotations (to_version, reencrypt, started_at) VALUES (?, ?, ?)');
    this.#advance = db.prepare('UPDATE key_rotations SET cursor = ?, rewrapped = rewrapped + ? WHERE id = ?');
    this.#finish = db.prepare('UPDATE key_rotations SET finished_at = ? WHERE id = ?');
    // Rowid order from the cursor: no index on kek_version, the scan passes each row once.
    const keyColumns = 'id, subject_tag AS subjectTag, category, dek_id AS dekId, kek_version AS kekVersion, wrapped_dek AS wrappedDek';
    const pageOf = 'FROM records WHERE id > ? AND kek_version != ? ORDER BY id LIMIT ?';
    // A rewrap never reads the bodies: they are most of each row.
    this.#pageKeys = db.prepare(`SELECT ${keyColumns} ${pageOf}`);
    this.#pageValues = db.prepare(`SELECT ${keyColumns}, format, body, chunk_count AS chunkCount, plaintext_bytes AS plaintextBytes, written_at AS writtenAt ${pageOf}`);
    this.#remaining = db.prepare('SELECT count(*) AS n FROM records WHERE kek_version != ?');
    // Guarded by dek_id: a value replaced since the page was read is left alone (it has a new key already).
    this.#rewrap = db.prepare('UPDATE records SET kek_version = ?, wrapped_dek = ? WHERE id = ? AND dek_id = ?');
    this.#reseal = db.prepare('UPDATE records SET dek_id = ?, kek_version = ?, wrapped_dek = ?, body = ? WHERE id = ? AND format = ? AND dek_id = ?');
    this.#chunk = db.prepare('SELECT data FROM record_chunks WHERE dek_id = ? AND idx = ?');
    this.#insertChunk = db.prepare('INSERT INTO record_chunks (dek_id, idx, data) VALUES (?, ?, ?)');
    this.#deleteChunks = db.prepare('DELETE FROM record_chunks WHERE dek_id = ?');
    this.#insertErasure = db.prepare('INSERT INTO erasures (erased_at, reason, values_count) VALUES (?, ?, ?)');
    this.#erasureCounts = db.prepare('SELECT count(*) AS erasures, sum(values_count) AS "values" FROM erasures');
    this.#erasuresSince = db.prepare('SELECT count(*) AS n FROM erasures WHERE erased_at > ?');
    this.#lastMasterRotation = db.prepare('SELECT max(rotated_at) AS at FROM master_rotations');
    this.#recordMasterRotation = db.prepare('INSERT INTO master_rotations (rotated_at) VALUES (?)');
  }

  running(): RotationRow | undefined {
    const row = this.#running.get();
    return row === undefined ? undefined : { ...row, reencrypt: row.reencrypt === 1 };
  }

  start(toVersion: number, reencrypt: boolean, now: number): void {
    this.#start.run(toVersion, reencrypt ? 1 : 0, now);
  }

  advance(id: number, cursor: number, rewrapped: number): void {
    this.#advance.run(cursor, rewrapped, id);
  }

  finish(id: number, now: number): void {
    this.#finish.run(now, id);
  }

  /** Records after `cursor` not yet under `toVersion`, in id order. */
  /** The next records after `cursor` (by id) not yet on `toVersion`: their keys only. */
  pageKeys(cursor: number, toVersion: number, limit: number): RotatableRow[] {
    return this.#pageKeys.all(cursor, toVersion, limit);
  }

  /** As pageKeys, with the sealed values. */
  pageValues(cursor: number, toVersion: number, limit: number): ResealableRow[] {
    return this.#pageValues.all(cursor, toVersion, limit);
  }

  remaining(toVersion: number): number {
    return this.#remaining.get(toVersion)?.n ?? 0;
  }

  /** Points a record's data key at another KEK; false if the record changed meanwhile. */
  rewrap(row: RotatableRow, toVersion: number, wrapped: Uint8Array): boolean {
    return this.#rewrap.run(toVersion, wrapped, row.id, row.dekId).changes === 1;
  }

  /** Replaces a record's data key and sealed body (and, for streams, its chunks already inserted under the new id). */
  reseal(row: ResealableRow, dekId: Uint8Array, toVersion: number, wrapped: Uint8Array, body: Uint8Array): boolean {
    const changed = this.#reseal.run(dekId, toVersion, wrapped, body, row.id, row.format, row.dekId).changes === 1;
    if (changed) this.#deleteChunks.run(row.dekId);
    return changed;
  }

  /** One chunk, read alone: no iterator stays open while new chunks are written. */
  chunk(dekId: Uint8Array, idx: number): Uint8Array | undefined {
    return this.#chunk.get(dekId, idx)?.data;
  }

  insertChunk(dekId: Uint8Array, idx: number, data: Uint8Array): void {
    this.#insertChunk.run(dekId, idx, data);
  }

  dropChunks(dekId: Uint8Array): void {
    this.#deleteChunks.run(dekId);
  }

  /** Records that `values` values were erased (no subject): status tells which erasures old backups can undo. */
  recordErasure(now: number, reason: string, values: number): void {
    this.#insertErasure.run(now, reason, values);
  }

  recordMasterRotation(now: number): void {
    this.#recordMasterRotation.run(now);
  }

  /** How many erasures a backup taken before them could still undo (see ErasureSummary). */
  erasureSummary(): ErasureSummary {
    const counts = this.#erasureCounts.get();
    const last = this.#lastMasterRotation.get()?.at ?? null;
    return {
      erasures: counts?.erasures ?? 0,
      values: counts?.values ?? 0,
      notBackupSafe: this.#erasuresSince.get(last ?? -1)?.n ?? 0,
      lastMasterRotation: last,
    };
  }
}
