/**
 * Key-encryption keys: versions, states, wrapped bytes. The wrapped key is bound to its version by
 * its AAD; the state (which KEK wraps new data keys, which may be destroyed) and its times are
 * authenticated by the row's MAC.
 */
import type { Statement } from 'better-sqlite3';
import { VaultError } from '../errors.js';
import type { SqliteDatabase } from './database.js';
import { rowSpec, rowValues, type RowAuthenticator, type RowOf, type Stored } from './rows.js';

export type KekState = 'active' | 'retired' | 'destroyed';

export const KEK_ROW = rowSpec('keks', { version: 'int', state: 'text', createdAt: 'int', retiredAt: 'int?', destroyedAt: 'int?' }, { extra: ['wrapped'] });

export interface KekRow extends RowOf<typeof KEK_ROW> {
  readonly state: KekState;
  readonly wrapped: Uint8Array | null;
}

export interface KekUsage extends KekRow {
  /** How many data keys this KEK wraps now. */
  readonly dekCount: number;
}

type StoredKek = Stored<typeof KEK_ROW> & KekRow;
const COLUMNS = `${KEK_ROW.select}, wrapped, mac`;

export class KekRepository {
  readonly #auth: RowAuthenticator;
  readonly #active: Statement<[], StoredKek>;
  readonly #activeState: Statement<[], Stored<typeof KEK_ROW>>;
  readonly #get: Statement<[number], StoredKek>;
  readonly #insert: Statement;
  readonly #usage: Statement<[], StoredKek & { dekCount: number }>;
  readonly #all: Statement<[], StoredKek>;
  readonly #transition: Statement<[string, number | null, number | null, Uint8Array | null, Uint8Array, number, string]>;
  readonly #setWrapped: Statement<[Uint8Array, number]>;
  readonly #inUse: Statement<[number], { one: number }>;
  readonly #maxVersion: Statement<[], { v: number | null }>;

  constructor(db: SqliteDatabase, auth: RowAuthenticator) {
    this.#auth = auth;
    this.#active = db.prepare(`SELECT ${COLUMNS} FROM keks WHERE state = 'active'`);
    this.#activeState = db.prepare(`SELECT ${KEK_ROW.select}, mac FROM keks WHERE state = 'active'`);
    this.#get = db.prepare(`SELECT ${COLUMNS} FROM keks WHERE version = ?`);
    this.#insert = db.prepare(KEK_ROW.insert);
    // One scan of records grouped by KEK (no index on kek_version: it would cost every write).
    this.#usage = db.prepare(`SELECT ${COLUMNS}, coalesce(used.n, 0) AS dekCount
      FROM keks LEFT JOIN (SELECT kek_version, count(*) AS n FROM records GROUP BY kek_version) used
        ON used.kek_version = keks.version
      ORDER BY version`);
    this.#all = db.prepare(`SELECT ${COLUMNS} FROM keks ORDER BY version`);
    // Guarded by the state read: a concurrent transition (another process) is never overwritten.
    this.#transition = db.prepare('UPDATE keks SET state = ?, retired_at = ?, destroyed_at = ?, wrapped = ?, mac = ? WHERE version = ? AND state = ?');
    this.#setWrapped = db.prepare('UPDATE keks SET wrapped = ? WHERE version = ? AND wrapped IS NOT NULL');
    this.#inUse = db.prepare('SELECT 1 AS one FROM records WHERE kek_version = ? LIMIT 1');
    this.#maxVersion = db.prepare('SELECT max(version) AS v FROM keks');
  }

  #checked<R extends StoredKek>(row: R): R {
    this.#auth.check(KEK_ROW, row, row.mac, `v${row.version}`);
    // A destroyed KEK keeps no key; any other keeps one (the table's CHECK says the same).
    if ((row.state === 'destroyed') !== (row.wrapped === null)) throw new VaultError('INTEGRITY', `keks row v${row.version} holds a key its state does not allow`);
    return row;
  }

  all(): KekRow[] {
    return this.#all.all().map((row) => this.#checked(row));
  }

  /** The next version number to create. */
  nextVersion(): number {
    return (this.#maxVersion.get()?.v ?? 0) + 1;
  }

  /** Retires the active KEK `version` (false if it is not the active one). */
  retire(version: number, now: number): boolean {
    const row = this.get(version);
    if (row?.state !== 'active') return false;
    return this.#move(row, { ...row, state: 'retired', retiredAt: now });
  }

  /** Wipes a retired KEK (its wrapped bytes are deleted; secure_delete zeroes the page). */
  destroy(version: number, now: number): boolean {
    const row = this.get(version);
    if (row?.state !== 'retired') return false;
    return this.#move(row, { ...row, state: 'destroyed', destroyedAt: now, wrapped: null });
  }

  #move(before: KekRow, after: KekRow): boolean {
    const mac = this.#auth.mac(KEK_ROW, after);
    return this.#transition.run(after.state, after.retiredAt, after.destroyedAt, after.wrapped, mac, after.version, before.state).changes === 1;
  }

  setWrapped(version: number, wrapped: Uint8Array): void {
    this.#setWrapped.run(wrapped, version);
  }

  /** True when some data key is still wrapped by `version` (a scan: no index on kek_version). */
  inUse(version: number): boolean {
    return this.#inUse.get(version) !== undefined;
  }

  active(): KekRow | undefined {
    const row = this.#active.get();
    return row === undefined ? undefined : this.#checked(row);
  }

  /** The active version (authenticated, without its key bytes): read inside every write transaction. */
  activeVersion(): number | undefined {
    const row = this.#activeState.get();
    return row === undefined ? undefined : this.#auth.check(KEK_ROW, row, row.mac, `v${row.version}`).version;
  }

  get(version: number): KekRow | undefined {
    const row = this.#get.get(version);
    return row === undefined ? undefined : this.#checked(row);
  }

  insertActive(version: number, wrapped: Uint8Array, now: number): void {
    const row = { version, state: 'active', createdAt: now, retiredAt: null, destroyedAt: null } as const;
    this.#insert.run(...rowValues(KEK_ROW, row, this.#auth.mac(KEK_ROW, row), wrapped));
  }

  /** Every version with its state and the number of data keys it wraps. */
  usage(): KekUsage[] {
    return this.#usage.all().map((row) => this.#checked(row));
  }
}
