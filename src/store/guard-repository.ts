/** Blind-index rows and canary subjects (migrations/0005_leak_guards.sql). */
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';

export class GuardRepository {
  readonly #insert: Statement<[number, string, Uint8Array, number]>;
  readonly #lookup: Statement<[Uint8Array, string], { canary: number }>;
  readonly #digestsAfter: Statement<[number], { id: number; digest: Uint8Array }>;
  readonly #plant: Statement<[Uint8Array, number]>;
  readonly #isCanary: Statement<[Uint8Array], { one: number }>;
  readonly #canaryCount: Statement<[], { n: number }>;
  readonly #inUse: Statement<[Uint8Array, Uint8Array], { one: number }>;
  readonly #anyDigest: Statement<[], { one: number }>;

  constructor(db: SqliteDatabase) {
    this.#insert = db.prepare('INSERT INTO blind_index (record_id, field, digest, canary) VALUES (?, ?, ?, ?)');
    this.#lookup = db.prepare('SELECT canary FROM blind_index WHERE digest = ? AND field = ? LIMIT 1');
    this.#digestsAfter = db.prepare('SELECT id, digest FROM blind_index WHERE id > ? ORDER BY id');
    this.#plant = db.prepare('INSERT INTO canaries (subject_tag, planted_at) VALUES (?, ?)');
    this.#isCanary = db.prepare('SELECT 1 AS one FROM canaries WHERE subject_tag = ?');
    // Planted canaries whose values still exist (retention expires canaries like any value).
    this.#canaryCount = db.prepare('SELECT count(*) AS n FROM canaries c WHERE EXISTS (SELECT 1 FROM records r WHERE r.subject_tag = c.subject_tag)');
    this.#inUse = db.prepare('SELECT 1 AS one FROM records WHERE subject_tag = ? UNION ALL SELECT 1 FROM canaries WHERE subject_tag = ? LIMIT 1');
    this.#anyDigest = db.prepare('SELECT 1 AS one FROM blind_index LIMIT 1');
  }

  insert(recordId: number, field: string, digest: Uint8Array, canary: boolean): void {
    this.#insert.run(recordId, field, digest, canary ? 1 : 0);
  }

  lookup(field: string, digest: Uint8Array): { canary: boolean } | undefined {
    const row = this.#lookup.get(digest, field);
    return row === undefined ? undefined : { canary: row.canary === 1 };
  }

  /** Digests added after row `id`, in id order (a streaming read: constant memory). */
  digestsAfter(id: number): IterableIterator<{ id: number; digest: Uint8Array }> {
    return this.#digestsAfter.iterate(id);
  }

  plantCanary(subjectTag: Uint8Array, now: number): void {
    this.#plant.run(subjectTag, now);
  }

  isCanary(subjectTag: Uint8Array): boolean {
    return this.#isCanary.get(subjectTag) !== undefined;
  }

  canaries(): number {
    return this.#canaryCount.get()?.n ?? 0;
  }

  /** True when the subject holds a value or is a canary already: a new canary must not take its id. */
  subjectInUse(subjectTag: Uint8Array): boolean {
    return this.#inUse.get(subjectTag, subjectTag) !== undefined;
  }

  /** True once any value has been indexed (a vault in use must not get a fresh blind-index key). */
  hasDigests(): boolean {
    return this.#anyDigest.get() !== undefined;
  }
}
