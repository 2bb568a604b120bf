/** Stored values: one row per (subject tag, category) holding the wrapped data key and the sealed value. */
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';
import { rowSpec, rowValues, type RowAuthenticator, type Stored } from './rows.js';

/**
 * What a record's MAC covers: what the vault decides without decrypting (that the value exists,
 * its category and write time, its sizes) and the data key id that ties it to its ciphertext. The
 * KEK version and wrapped key are bound by the data key's AAD, the body by its own.
 */
export const RECORD_ROW = rowSpec(
  'records',
  { subjectTag: 'bytes', category: 'text', dekId: 'bytes', format: 'int', chunkCount: 'int', plaintextBytes: 'int', writtenAt: 'int' },
  { extra: ['kek_version', 'wrapped_dek', 'body'] },
);

/** Record format 2 stores its ciphertext in record_chunks (crypto/record-cipher.ts RECORD_FORMAT_STREAM). */
const STREAM_FORMAT = 2;

export interface RecordRow {
  readonly subjectTag: Uint8Array;
  readonly category: string;
  readonly dekId: Uint8Array;
  readonly kekVersion: number;
  readonly wrappedDek: Uint8Array;
  readonly format: number;
  readonly body: Uint8Array;
  readonly chunkCount: number;
  readonly plaintextBytes: number;
  readonly writtenAt: number;
}

/** What `find` returns (the subject tag is the caller's). */
export type StoredValueRow = RecordRow;

export interface ErasedRow {
  readonly dekId: Uint8Array;
  readonly category: string;
  readonly kekVersion: number;
}

export interface CategoryCount {
  readonly category: string;
  readonly count: number;
  readonly bytes: number;
  /** Of `count` and `bytes`: values written at or before their category's cutoff (expired, not yet swept). */
  readonly expired: number;
  readonly expiredBytes: number;
}

interface DeletedRow {
  dekId: Uint8Array;
  category: string;
  kekVersion: number;
  format: number;
}

export class RecordRepository {
  readonly #find: Statement<[Uint8Array, string], StoredValueRow & Stored<typeof RECORD_ROW>>;
  readonly #chunks: Statement<[Uint8Array], { data: Uint8Array }>;
  readonly #deleteOne: Statement<[Uint8Array, string], DeletedRow>;
  readonly #deleteSubject: Statement<[Uint8Array], DeletedRow>;
  readonly #deleteChunks: Statement<[Uint8Array]>;
  readonly #insert: Statement;
  readonly #auth: RowAuthenticator;
  readonly #insertChunk: Statement<[Uint8Array, number, Uint8Array]>;
  readonly #counts: Statement<[string], CategoryCount>;
  readonly #ages: Statement<[number, number], Stored<typeof RECORD_ROW> & { id: number }>;
  readonly #deleteById: Statement<[number, number], DeletedRow>;

  constructor(db: SqliteDatabase, auth: RowAuthenticator) {
    this.#auth = auth;
    this.#find = db.prepare(`SELECT ${RECORD_ROW.select}, kek_version AS kekVersion, wrapped_dek AS wrappedDek, body, mac
      FROM records WHERE subject_tag = ? AND category = ?`);
    this.#chunks = db.prepare('SELECT data FROM record_chunks WHERE dek_id = ? ORDER BY idx');
    this.#deleteOne = db.prepare('DELETE FROM records WHERE subject_tag = ? AND category = ? RETURNING dek_id AS dekId, category, kek_version AS kekVersion, format');
    this.#deleteSubject = db.prepare('DELETE FROM records WHERE subject_tag = ? RETURNING dek_id AS dekId, category, kek_version AS kekVersion, format');
    this.#deleteChunks = db.prepare('DELETE FROM record_chunks WHERE dek_id = ?');
    this.#insert = db.prepare(RECORD_ROW.insert);
    this.#insertChunk = db.prepare('INSERT INTO record_chunks (dek_id, idx, data) VALUES (?, ?, ?)');
    // The cutoffs come as one JSON object {category: ms}; a category without one has nothing expired.
    this.#counts = db.prepare(`SELECT r.category AS category, count(*) AS count, coalesce(sum(r.plaintext_bytes), 0) AS bytes,
        coalesce(sum(r.written_at <= c.value), 0) AS expired, coalesce(sum(CASE WHEN r.written_at <= c.value THEN r.plaintext_bytes END), 0) AS expiredBytes
      FROM records r LEFT JOIN json_each(?) c ON c.key = r.category GROUP BY r.category ORDER BY r.category`);
    this.#ages = db.prepare(`SELECT id, ${RECORD_ROW.select}, mac FROM records WHERE id > ? ORDER BY id LIMIT ?`);
    this.#deleteById = db.prepare('DELETE FROM records WHERE id = ? AND written_at <= ? RETURNING dek_id AS dekId, category, kek_version AS kekVersion, format');
  }

  /** The current value of (subject, category) with its wrapped data key, if any (authenticated). */
  find(subjectTag: Uint8Array, category: string): StoredValueRow | undefined {
    const row = this.#find.get(subjectTag, category);
    if (row === undefined) return undefined;
    this.#auth.check(RECORD_ROW, row, row.mac, `of category ${category}`);
    return row;
  }

  /**
   * The encrypted chunks of a stream record, in order, read lazily: the statement runs only
   * when iteration starts, and stopping early (a failed chunk) closes it.
   */
  chunks(dekId: Uint8Array): Iterable<Uint8Array> {
    const statement = this.#chunks;
    return {
      *[Symbol.iterator]() {
        for (const row of statement.iterate(dekId)) yield row.data;
      },
    };
  }

  /**
   * Replaces the value of (subject, category): the old row and its chunks are deleted (their pages
   * zeroed by secure_delete), then the new row inserted. Chunks are consumed one at a time, so a
   * large value is never held whole. Returns the new row's id and the id of the data key replaced,
   * if any.
   */
  replace(row: RecordRow, chunks: Iterable<Uint8Array>): { readonly id: number; readonly replacedDekId: Uint8Array | undefined } {
    const old = this.#deleteOne.get(row.subjectTag, row.category);
    if (old !== undefined) this.#dropChunks(old);
    const { lastInsertRowid } = this.#insert.run(...rowValues(RECORD_ROW, row, this.#auth.mac(RECORD_ROW, row), row.kekVersion, row.wrappedDek, row.body));
    let idx = 0;
    for (const chunk of chunks) this.#insertChunk.run(row.dekId, idx++, chunk);
    if (idx !== row.chunkCount) throw new Error(`internal: wrote ${idx} chunks, expected ${row.chunkCount}`);
    return { id: Number(lastInsertRowid), replacedDekId: old?.dekId };
  }

  /** Deletes the given categories of a subject (all when `categories` is undefined); returns what was deleted. */
  erase(subjectTag: Uint8Array, categories?: readonly string[]): ErasedRow[] {
    const deleted =
      categories === undefined
        ? this.#deleteSubject.all(subjectTag)
        : categories.flatMap((c) => {
            const row = this.#deleteOne.get(subjectTag, c);
            return row === undefined ? [] : [row];
          });
    for (const row of deleted) this.#dropChunks(row);
    return deleted.map(({ dekId, category, kekVersion }) => ({ dekId, category, kekVersion })).sort((a, b) => (a.category < b.category ? -1 : 1));
  }

  #dropChunks(row: DeletedRow): void {
    if (row.format === STREAM_FORMAT) this.#deleteChunks.run(row.dekId);
  }

  /**
   * Record ids, categories and write times after `afterId`, in id order (for retention sweeps).
   * `authentic` is false for a row whose MAC fails: the sweep leaves it and reports it rather than
   * letting one forged row stop the erasure of every genuine expired value.
   */
  ages(afterId: number, limit: number): { id: number; category: string; writtenAt: number; authentic: boolean }[] {
    return this.#ages.all(afterId, limit).map((row) => {
      let authentic = true;
      try {
        this.#auth.check(RECORD_ROW, row, row.mac, String(row.id), 'scan');
      } catch {
        authentic = false;
      }
      return { id: row.id, category: row.category, writtenAt: row.writtenAt, authentic };
    });
  }

  /** Deletes one record (and its chunks) if it was written at or before `writtenBefore`. */
  deleteExpired(id: number, writtenBefore: number): ErasedRow | undefined {
    const row = this.#deleteById.get(id, writtenBefore);
    if (row === undefined) return undefined;
    this.#dropChunks(row);
    return { dekId: row.dekId, category: row.category, kekVersion: row.kekVersion };
  }

  /**
   * Values stored per category, with how many of them were written at or before the category's
   * cutoff in `expiredAtOrBefore` (ms): expired, still stored until a retention sweep erases them.
   * A statistic read without authentication: a forged row counts until something reads it.
   */
  countByCategory(expiredAtOrBefore: ReadonlyMap<string, number> = new Map()): CategoryCount[] {
    return this.#counts.all(JSON.stringify(Object.fromEntries(expiredAtOrBefore)));
  }
}
