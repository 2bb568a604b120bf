/**
 * Blind-index rows and canary subjects (migrations/0005_leak_guards.sql). Both are authenticated
 * (rows.ts): a digest or canary someone wrote into the file without the master key is refused
 * with INTEGRITY when it would be acted on, instead of flagging an innocent value or read.
 */
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';
import { rowSpec, rowValues, type RowAuthenticator, type Stored } from './rows.js';

/** A digest row; its AUTOINCREMENT id is not bound (it is assigned on insert), its record and field are. */
export const BLIND_INDEX_ROW = rowSpec('blind_index', { recordId: 'int', field: 'text', digest: 'bytes', canary: 'int' });
export const CANARY_ROW = rowSpec('canaries', { subjectTag: 'bytes', plantedAt: 'int' }, { key: ['subjectTag'] });

export class GuardRepository {
  readonly #auth: RowAuthenticator;
  readonly #insert: Statement;
  readonly #lookup: Statement<[Uint8Array, string], Stored<typeof BLIND_INDEX_ROW> & { id: number }>;
  readonly #digestsAfter: Statement<[number], { id: number; digest: Uint8Array }>;
  readonly #plant: Statement;
  readonly #canary: Statement<[Uint8Array], Stored<typeof CANARY_ROW>>;
  readonly #liveCanaries: Statement<[], Stored<typeof CANARY_ROW>>;
  readonly #inUse: Statement<[Uint8Array, Uint8Array], { one: number }>;
  readonly #anyDigest: Statement<[], { one: number }>;

  constructor(db: SqliteDatabase, auth: RowAuthenticator) {
    this.#auth = auth;
    this.#insert = db.prepare(BLIND_INDEX_ROW.insert);
    this.#lookup = db.prepare(`SELECT id, ${BLIND_INDEX_ROW.select}, mac FROM blind_index WHERE digest = ? AND field = ? LIMIT 1`);
    this.#digestsAfter = db.prepare('SELECT id, digest FROM blind_index WHERE id > ? ORDER BY id');
    this.#plant = db.prepare(CANARY_ROW.insert);
    this.#canary = db.prepare(`SELECT ${CANARY_ROW.select}, mac FROM canaries WHERE subject_tag = ?`);
    // Planted canaries whose values still exist (retention expires canaries like any value).
    this.#liveCanaries = db.prepare(`SELECT ${CANARY_ROW.select}, mac FROM canaries c WHERE EXISTS (SELECT 1 FROM records r WHERE r.subject_tag = c.subject_tag)`);
    this.#inUse = db.prepare('SELECT 1 AS one FROM records WHERE subject_tag = ? UNION ALL SELECT 1 FROM canaries WHERE subject_tag = ? LIMIT 1');
    this.#anyDigest = db.prepare('SELECT 1 AS one FROM blind_index LIMIT 1');
  }

  insert(recordId: number, field: string, digest: Uint8Array, canary: boolean): void {
    const row = { recordId, field, digest, canary: canary ? 1 : 0 };
    this.#insert.run(...rowValues(BLIND_INDEX_ROW, row, this.#auth.mac(BLIND_INDEX_ROW, row)));
  }

  /** The (authenticated) digest row of a stored value, if any. */
  lookup(field: string, digest: Uint8Array): { canary: boolean } | undefined {
    const row = this.#lookup.get(digest, field);
    if (row === undefined) return undefined;
    this.#auth.check(BLIND_INDEX_ROW, row, row.mac, String(row.id));
    return { canary: row.canary === 1 };
  }

  /** Digests added after row `id`, in id order (a streaming read: constant memory). */
  digestsAfter(id: number): IterableIterator<{ id: number; digest: Uint8Array }> {
    return this.#digestsAfter.iterate(id);
  }

  plantCanary(subjectTag: Uint8Array, plantedAt: number): void {
    const row = { subjectTag, plantedAt };
    this.#plant.run(...rowValues(CANARY_ROW, row, this.#auth.mac(CANARY_ROW, row)));
  }

  /** True when the subject is an (authenticated) canary. */
  isCanary(subjectTag: Uint8Array): boolean {
    const row = this.#canary.get(subjectTag);
    if (row === undefined) return false;
    this.#auth.check(CANARY_ROW, row, row.mac, `planted at ${row.plantedAt}`);
    return true;
  }

  /** Canaries whose values still exist, each authenticated. */
  canaries(): number {
    const rows = this.#liveCanaries.all();
    for (const row of rows) this.#auth.check(CANARY_ROW, row, row.mac, `planted at ${row.plantedAt}`);
    return rows.length;
  }

  /**
   * True when the subject holds a value or is a canary already: a new canary must not take its id.
   * Unauthenticated on purpose: a forged row can only make the vault draw another fake id.
   */
  subjectInUse(subjectTag: Uint8Array): boolean {
    return this.#inUse.get(subjectTag, subjectTag) !== undefined;
  }

  /** True once any value has been indexed (a vault in use must not get a fresh blind-index key). */
  hasDigests(): boolean {
    return this.#anyDigest.get() !== undefined;
  }
}
