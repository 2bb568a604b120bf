/** Key-encryption keys: versions, states, wrapped bytes. */
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';

export type KekState = 'active' | 'retired' | 'destroyed';

export interface KekRow {
  readonly version: number;
  readonly state: KekState;
  readonly wrapped: Uint8Array | null;
  readonly createdAt: number;
  readonly retiredAt: number | null;
  readonly destroyedAt: number | null;
}

export interface KekUsage extends KekRow {
  /** How many data keys this KEK wraps now. */
  readonly dekCount: number;
}

const COLUMNS = 'version, state, wrapped, created_at AS createdAt, retired_at AS retiredAt, destroyed_at AS destroyedAt';

export class KekRepository {
  readonly #active: Statement<[], KekRow>;
  readonly #activeVersion: Statement<[], { version: number }>;
  readonly #get: Statement<[number], KekRow>;
  readonly #insert: Statement<[number, string, Uint8Array | null, number]>;
  readonly #usage: Statement<[], KekUsage>;
  readonly #all: Statement<[], KekRow>;
  readonly #retire: Statement<[number, number]>;
  readonly #destroy: Statement<[number, number]>;
  readonly #setWrapped: Statement<[Uint8Array, number]>;
  readonly #inUse: Statement<[number], { one: number }>;
  readonly #maxVersion: Statement<[], { v: number | null }>;

  constructor(db: SqliteDatabase) {
    this.#active = db.prepare(`SELECT ${COLUMNS} FROM keks WHERE state = 'active'`);
    this.#activeVersion = db.prepare(`SELECT version FROM keks WHERE state = 'active'`);
    this.#get = db.prepare(`SELECT ${COLUMNS} FROM keks WHERE version = ?`);
    this.#insert = db.prepare('INSERT INTO keks (version, state, wrapped, created_at) VALUES (?, ?, ?, ?)');
    // One scan of records grouped by KEK (no index on kek_version: it would cost every write).
    this.#usage = db.prepare(`SELECT ${COLUMNS}, coalesce(used.n, 0) AS dekCount
      FROM keks LEFT JOIN (SELECT kek_version, count(*) AS n FROM records GROUP BY kek_version) used
        ON used.kek_version = keks.version
      ORDER BY version`);
    this.#all = db.prepare(`SELECT ${COLUMNS} FROM keks ORDER BY version`);
    this.#retire = db.prepare("UPDATE keks SET state = 'retired', retired_at = ? WHERE version = ? AND state = 'active'");
    this.#destroy = db.prepare("UPDATE keks SET state = 'destroyed', wrapped = NULL, destroyed_at = ? WHERE version = ? AND state = 'retired'");
    this.#setWrapped = db.prepare('UPDATE keks SET wrapped = ? WHERE version = ? AND wrapped IS NOT NULL');
    this.#inUse = db.prepare('SELECT 1 AS one FROM records WHERE kek_version = ? LIMIT 1');
    this.#maxVersion = db.prepare('SELECT max(version) AS v FROM keks');
  }

  all(): KekRow[] {
    return this.#all.all();
  }

  /** The next version number to create. */
  nextVersion(): number {
    return (this.#maxVersion.get()?.v ?? 0) + 1;
  }

  retire(version: number, now: number): void {
    this.#retire.run(now, version);
  }

  /** Wipes a retired KEK (its wrapped bytes are deleted; secure_delete zeroes the page). */
  destroy(version: number, now: number): boolean {
    return this.#destroy.run(now, version).changes === 1;
  }

  setWrapped(version: number, wrapped: Uint8Array): void {
    this.#setWrapped.run(wrapped, version);
  }

  /** True when some data key is still wrapped by `version` (a scan: no index on kek_version). */
  inUse(version: number): boolean {
    return this.#inUse.get(version) !== undefined;
  }

  active(): KekRow | undefined {
    return this.#active.get();
  }

  /** The active version alone: cheap enough to check inside every write transaction. */
  activeVersion(): number | undefined {
    return this.#activeVersion.get()?.version;
  }

  get(version: number): KekRow | undefined {
    return this.#get.get(version);
  }

  insertActive(version: number, wrapped: Uint8Array, now: number): void {
    this.#insert.run(version, 'active', wrapped, now);
  }

  /** Every version with its state and the number of data keys it wraps. */
  usage(): KekUsage[] {
    return this.#usage.all();
  }
}
