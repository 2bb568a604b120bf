/**
 * Key rotations (their progress, for resuming) and the erasure record that backup safety reads.
 * A rotation's row and the erasure totals are authenticated (rows.ts): a forged cursor cannot make
 * a rotation skip data keys, nor forged totals make `status` call old backups harmless.
 */
import type { Statement } from 'better-sqlite3';
import { VaultError } from '../errors.js';
import type { SqliteDatabase } from './database.js';
import { RECORD_ROW } from './record-repository.js';
import { rowSpec, rowValues, type RowAuthenticator, type RowOf, type Stored } from './rows.js';

export const ROTATION_ROW = rowSpec('key_rotations', {
  id: 'int',
  toVersion: 'int',
  reencrypt: 'int',
  startedAt: 'int',
  finishedAt: 'int?',
  cursor: 'int',
  rewrapped: 'int',
});

export interface RotationRow extends Omit<RowOf<typeof ROTATION_ROW>, 'reencrypt'> {
  readonly reencrypt: boolean;
}

/**
 * What `status` reports about erasures, kept as one row updated with every erasure and master-key
 * rotation (the `erasures` and `master_rotations` tables stay as a history for people).
 */
export const ERASURE_TOTALS_ROW = rowSpec('erasure_totals', { erasures: 'int', valuesCount: 'int', sinceMasterRotation: 'int', lastMasterRotation: 'int?' }, { extra: ['singleton'] });
type ErasureTotals = RowOf<typeof ERASURE_TOTALS_ROW>;
const NO_ERASURES: ErasureTotals = { erasures: 0, valuesCount: 0, sinceMasterRotation: 0, lastMasterRotation: null };

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

export class RotationRepository {
  readonly #auth: RowAuthenticator;
  readonly #running: Statement<[], Stored<typeof ROTATION_ROW>>;
  readonly #nextId: Statement<[], { id: number }>;
  readonly #start: Statement;
  readonly #update: Statement<[number | null, number, number, Uint8Array, number, number]>;
  readonly #pageKeys: Statement<[number, number, number], RotatableRow>;
  readonly #pageValues: Statement<[number, number, number], ResealableRow & { mac: Uint8Array | null }>;
  readonly #remaining: Statement<[number], { n: number }>;
  readonly #rewrap: Statement<[number, Uint8Array, number, Uint8Array]>;
  readonly #reseal: Statement<[Uint8Array, number, Uint8Array, Uint8Array, Uint8Array, number, number, Uint8Array]>;
  readonly #chunk: Statement<[Uint8Array, number], { data: Uint8Array }>;
  readonly #insertChunk: Statement<[Uint8Array, number, Uint8Array]>;
  readonly #deleteChunks: Statement<[Uint8Array]>;
  readonly #insertErasure: Statement<[number, string, number]>;
  readonly #recordMasterRotation: Statement<[number]>;
  readonly #erasureCounts: Statement<[], { erasures: number; values: number | null }>;
  readonly #erasuresSince: Statement<[number], { n: number }>;
  readonly #lastMasterRotation: Statement<[], { at: number | null }>;
  readonly #totals: Statement<[], Stored<typeof ERASURE_TOTALS_ROW>>;
  readonly #putTotals: Statement;

  constructor(db: SqliteDatabase, auth: RowAuthenticator) {
    this.#auth = auth;
    this.#running = db.prepare(`SELECT ${ROTATION_ROW.select}, mac FROM key_rotations WHERE finished_at IS NULL`);
    // Ids are chosen inside the write transaction, so the MAC can bind them.
    this.#nextId = db.prepare('SELECT coalesce(max(id), 0) + 1 AS id FROM key_rotations');
    this.#start = db.prepare(ROTATION_ROW.insert);
    this.#update = db.prepare('UPDATE key_rotations SET finished_at = ?, cursor = ?, rewrapped = ?, mac = ? WHERE id = ? AND cursor = ?');
    // Rowid order from the cursor: no index on kek_version, the scan passes each row once.
    const keyColumns = 'id, subject_tag AS subjectTag, category, dek_id AS dekId, kek_version AS kekVersion, wrapped_dek AS wrappedDek';
    const pageOf = 'FROM records WHERE id > ? AND kek_version != ? ORDER BY id LIMIT ?';
    // A rewrap never reads the bodies: they are most of each row.
    this.#pageKeys = db.prepare(`SELECT ${keyColumns} ${pageOf}`);
    this.#pageValues = db.prepare(`SELECT ${keyColumns}, format, body, chunk_count AS chunkCount, plaintext_bytes AS plaintextBytes, written_at AS writtenAt, mac ${pageOf}`);
    this.#remaining = db.prepare('SELECT count(*) AS n FROM records WHERE kek_version != ?');
    // Guarded by dek_id: a value replaced since the page was read is left alone (it has a new key already).
    this.#rewrap = db.prepare('UPDATE records SET kek_version = ?, wrapped_dek = ? WHERE id = ? AND dek_id = ?');
    this.#reseal = db.prepare('UPDATE records SET dek_id = ?, kek_version = ?, wrapped_dek = ?, body = ?, mac = ? WHERE id = ? AND format = ? AND dek_id = ?');
    this.#chunk = db.prepare('SELECT data FROM record_chunks WHERE dek_id = ? AND idx = ?');
    this.#insertChunk = db.prepare('INSERT INTO record_chunks (dek_id, idx, data) VALUES (?, ?, ?)');
    this.#deleteChunks = db.prepare('DELETE FROM record_chunks WHERE dek_id = ?');
    this.#insertErasure = db.prepare('INSERT INTO erasures (erased_at, reason, values_count) VALUES (?, ?, ?)');
    this.#recordMasterRotation = db.prepare('INSERT INTO master_rotations (rotated_at) VALUES (?)');
    this.#erasureCounts = db.prepare('SELECT count(*) AS erasures, sum(values_count) AS "values" FROM erasures');
    this.#erasuresSince = db.prepare('SELECT count(*) AS n FROM erasures WHERE erased_at > ?');
    this.#lastMasterRotation = db.prepare('SELECT max(rotated_at) AS at FROM master_rotations');
    this.#totals = db.prepare(`SELECT ${ERASURE_TOTALS_ROW.select}, mac FROM erasure_totals WHERE singleton = 1`);
    this.#putTotals = db.prepare(ERASURE_TOTALS_ROW.insert.replace('INSERT INTO', 'INSERT OR REPLACE INTO'));
  }

  /** The rotation a crash interrupted (authenticated), if any. */
  running(): RotationRow | undefined {
    const row = this.#running.get();
    if (row === undefined) return undefined;
    this.#auth.check(ROTATION_ROW, row, row.mac, String(row.id));
    return { ...row, reencrypt: row.reencrypt === 1 };
  }

  start(toVersion: number, reencrypt: boolean, now: number): void {
    const id = this.#nextId.get()?.id ?? 1;
    const row = { id, toVersion, reencrypt: reencrypt ? 1 : 0, startedAt: now, finishedAt: null, cursor: 0, rewrapped: 0 };
    this.#start.run(...rowValues(ROTATION_ROW, row, this.#auth.mac(ROTATION_ROW, row)));
  }

  /** Records progress of the running rotation: its cursor moved, `rewrapped` more keys done. */
  advance(id: number, cursor: number, rewrapped: number): void {
    const row = this.#runningOrThrow(id);
    this.#write(row, { ...row, cursor, rewrapped: row.rewrapped + rewrapped });
  }

  finish(id: number, now: number): void {
    const row = this.#runningOrThrow(id);
    this.#write(row, { ...row, finishedAt: now });
  }

  #runningOrThrow(id: number): RotationRow {
    const row = this.running();
    if (row?.id !== id) throw new VaultError('CONFLICT', 'the key rotation finished or vanished meanwhile (another process?); run it again');
    return row;
  }

  #write(before: RotationRow, after: RotationRow): void {
    const row = { ...after, reencrypt: after.reencrypt ? 1 : 0 };
    if (this.#update.run(row.finishedAt, row.cursor, row.rewrapped, this.#auth.mac(ROTATION_ROW, row), row.id, before.cursor).changes !== 1) {
      throw new VaultError('CONFLICT', 'the key rotation changed meanwhile (another process?); run it again');
    }
  }

  /** Records after `cursor` not yet under `toVersion`, in id order. */
  /** The next records after `cursor` (by id) not yet on `toVersion`: their keys only. */
  pageKeys(cursor: number, toVersion: number, limit: number): RotatableRow[] {
    return this.#pageKeys.all(cursor, toVersion, limit);
  }

  /** As pageKeys, with the sealed values (each row authenticated: its sizes and times are re-MACed under its new data key). */
  pageValues(cursor: number, toVersion: number, limit: number): ResealableRow[] {
    return this.#pageValues.all(cursor, toVersion, limit).map((row) => {
      this.#auth.check(RECORD_ROW, row, row.mac, String(row.id), 'scan');
      return row;
    });
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
    const mac = this.#auth.mac(RECORD_ROW, { ...row, dekId });
    const changed = this.#reseal.run(dekId, toVersion, wrapped, body, mac, row.id, row.format, row.dekId).changes === 1;
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
    const t = this.#readTotals();
    this.#writeTotals({ ...t, erasures: t.erasures + 1, valuesCount: t.valuesCount + values, sinceMasterRotation: t.sinceMasterRotation + 1 });
  }

  recordMasterRotation(now: number): void {
    this.#recordMasterRotation.run(now);
    this.#writeTotals({ ...this.#readTotals(), sinceMasterRotation: 0, lastMasterRotation: now });
  }

  /** The first totals of a vault (at creation, or computed from the history at its upgrade). */
  initTotals(totals: ErasureTotals = NO_ERASURES): void {
    this.#writeTotals(totals);
  }

  /** The totals recomputed from the history tables (for a vault upgraded from format 1, which had no totals row). */
  totalsFromHistory(): ErasureTotals {
    const last = this.#lastMasterRotation.get()?.at ?? null;
    const all = this.#erasureCounts.get();
    return { erasures: all?.erasures ?? 0, valuesCount: all?.values ?? 0, sinceMasterRotation: this.#erasuresSince.get(last ?? -1)?.n ?? 0, lastMasterRotation: last };
  }

  /** How many erasures a backup taken before them could still undo (see ErasureSummary). */
  erasureSummary(): ErasureSummary {
    const t = this.#readTotals();
    return { erasures: t.erasures, values: t.valuesCount, notBackupSafe: t.sinceMasterRotation, lastMasterRotation: t.lastMasterRotation };
  }

  #readTotals(): ErasureTotals {
    const row = this.#totals.get();
    // The row exists from the vault's creation (or upgrade) on: a missing one was deleted.
    if (row === undefined) throw new VaultError('INTEGRITY', 'erasure_totals row 1 is missing: it was deleted by someone without the vault\'s master key');
    return this.#auth.check(ERASURE_TOTALS_ROW, row, row.mac, '1');
  }

  #writeTotals(t: ErasureTotals): void {
    this.#putTotals.run(...rowValues(ERASURE_TOTALS_ROW, t, this.#auth.mac(ERASURE_TOTALS_ROW, t), 1));
  }
}
