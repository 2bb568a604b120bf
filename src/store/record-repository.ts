/** Data keys, sealed values and their chunks: one (dek, record) pair per (subject tag, category). */
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';

export interface DekRow {
  readonly id: Uint8Array;
  readonly subjectTag: Uint8Array;
  readonly category: string;
  readonly kekVersion: number;
  readonly wrapped: Uint8Array;
  readonly createdAt: number;
}

export interface RecordRow {
  readonly format: number;
  readonly body: Uint8Array;
  readonly chunkCount: number;
  readonly plaintextBytes: number;
  readonly writtenAt: number;
}

/** A data key joined with the record it seals. */
export interface StoredValueRow extends RecordRow {
  readonly dekId: Uint8Array;
  readonly category: string;
  readonly kekVersion: number;
  readonly wrappedDek: Uint8Array;
}

export interface ErasedRow {
  readonly dekId: Uint8Array;
  readonly category: string;
}

export interface CategoryCount {
  readonly category: string;
  readonly count: number;
  readonly bytes: number;
}

export class RecordRepository {
  readonly #find: Statement<[Uint8Array, string], StoredValueRow>;
  readonly #chunks: Statement<[Uint8Array], { data: Uint8Array }>;
  readonly #deleteOne: Statement<[Uint8Array, string], { id: Uint8Array }>;
  readonly #insertDek: Statement<[Uint8Array, Uint8Array, string, number, Uint8Array, number]>;
  readonly #insertRecord: Statement<[Uint8Array, number, Uint8Array, number, number, number]>;
  readonly #insertChunk: Statement<[Uint8Array, number, Uint8Array]>;
  readonly #listForSubject: Statement<[Uint8Array], ErasedRow>;
  readonly #deleteSubject: Statement<[Uint8Array]>;
  readonly #counts: Statement<[], CategoryCount>;

  constructor(db: SqliteDatabase) {
    this.#find = db.prepare(`SELECT d.id AS dekId, d.category, d.kek_version AS kekVersion, d.wrapped AS wrappedDek,
        r.format, r.body, r.chunk_count AS chunkCount, r.plaintext_bytes AS plaintextBytes,
        r.written_at AS writtenAt
      FROM deks d JOIN records r ON r.dek_id = d.id
      WHERE d.subject_tag = ? AND d.category = ?`);
    this.#chunks = db.prepare('SELECT data FROM record_chunks WHERE dek_id = ? ORDER BY idx');
    this.#deleteOne = db.prepare('DELETE FROM deks WHERE subject_tag = ? AND category = ? RETURNING id');
    this.#insertDek = db.prepare('INSERT INTO deks (id, subject_tag, category, kek_version, wrapped, created_at) VALUES (?, ?, ?, ?, ?, ?)');
    this.#insertRecord = db.prepare(`INSERT INTO records (dek_id, format, body, chunk_count, plaintext_bytes, written_at)
      VALUES (?, ?, ?, ?, ?, ?)`);
    this.#insertChunk = db.prepare('INSERT INTO record_chunks (dek_id, idx, data) VALUES (?, ?, ?)');
    this.#listForSubject = db.prepare('SELECT id AS dekId, category FROM deks WHERE subject_tag = ? ORDER BY category');
    this.#deleteSubject = db.prepare('DELETE FROM deks WHERE subject_tag = ?');
    this.#counts = db.prepare(`SELECT d.category, count(*) AS count, coalesce(sum(r.plaintext_bytes), 0) AS bytes
      FROM deks d LEFT JOIN records r ON r.dek_id = d.id GROUP BY d.category ORDER BY d.category`);
  }

  /** The current value of (subject, category) with its wrapped data key, if any. */
  find(subjectTag: Uint8Array, category: string): StoredValueRow | undefined {
    return this.#find.get(subjectTag, category);
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
   * Replaces the value of (subject, category): the old data key, record and chunks are deleted
   * (and their pages zeroed by secure_delete), then the new ones inserted. Chunks are consumed
   * one at a time, so a large value is never held whole. Returns the id of the data key replaced.
   */
  replace(dek: DekRow, record: RecordRow, chunks: Iterable<Uint8Array>): Uint8Array | undefined {
    const replaced = this.#deleteOne.get(dek.subjectTag, dek.category)?.id;
    this.#insertDek.run(dek.id, dek.subjectTag, dek.category, dek.kekVersion, dek.wrapped, dek.createdAt);
    this.#insertRecord.run(dek.id, record.format, record.body, record.chunkCount, record.plaintextBytes, record.writtenAt);
    let idx = 0;
    for (const chunk of chunks) this.#insertChunk.run(dek.id, idx++, chunk);
    if (idx !== record.chunkCount) throw new Error(`internal: wrote ${idx} chunks, expected ${record.chunkCount}`);
    return replaced;
  }

  /** Deletes the given categories of a subject (all when `categories` is undefined); returns what was deleted. */
  erase(subjectTag: Uint8Array, categories?: readonly string[]): ErasedRow[] {
    const held = this.#listForSubject.all(subjectTag);
    if (categories === undefined) {
      if (held.length > 0) this.#deleteSubject.run(subjectTag);
      return held;
    }
    const wanted = new Set(categories);
    const erased = held.filter((row) => wanted.has(row.category));
    for (const row of erased) this.#deleteOne.get(subjectTag, row.category);
    return erased;
  }

  /** Values held per category (expired ones included until a retention sweep erases them). */
  countByCategory(): CategoryCount[] {
    return this.#counts.all();
  }
}
