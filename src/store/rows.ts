/**
 * Authenticated rows. Every row the vault decides from (consents, approvals, read counters, KEK
 * states, rotations, canaries, blind-index digests, audit entries) carries a MAC under the vault's
 * integrity key, which only the master key unlocks: someone who can write the file but lacks the
 * key cannot forge, alter or move such a row.
 *
 * Each table declares its authenticated columns once, here, as a `RowSpec`; the SQL column lists,
 * the row types and the MAC input (docs/format.md §9) are all derived from that declaration. The
 * store never holds the key: it calls a `RowAuthenticator` that the vault implements above it, on
 * every row it writes (`mac`) and every row it returns (`check`), so no read path can forget.
 */

/** How a column enters a row's MAC: text as UTF-8, integers as u64, nullable integers as empty when null, bytes raw. */
export type ColumnKind = 'text' | 'int' | 'int?' | 'bytes';

type ValueOf<K extends ColumnKind> = K extends 'text' ? string : K extends 'int' ? number : K extends 'int?' ? number | null : Uint8Array;

export type Columns = Readonly<Record<string, ColumnKind>>;

/** What every table declaration has, whatever its columns. */
export interface AnyRowSpec {
  /** The table; also names the MAC's domain (`row/<table>`). */
  readonly table: string;
  readonly columns: Columns;
  /** Column names (camelCase) in declaration order: the order of the MAC's fields. */
  readonly names: readonly string[];
  /** `col_a AS colA, …` for SELECTs, in declaration order. */
  readonly select: string;
  /** `INSERT INTO table (col_a, …, mac, extra…) VALUES (?, …)`: bind with `rowValues`. */
  readonly insert: string;
  /** The columns that identify a row of a WITHOUT ROWID table (others are found by rowid). */
  readonly key: readonly string[] | null;
  /** True for rows this process reads back soon after writing them (see RowSpecOptions.rereadAfterWrite). */
  readonly rereadAfterWrite: boolean;
}

export interface RowSpec<C extends Columns> extends AnyRowSpec {
  readonly columns: C;
  readonly names: readonly (keyof C & string)[];
  readonly key: readonly (keyof C & string)[] | null;
}

export interface RowSpecOptions<C extends Columns> {
  /**
   * Columns the INSERT also writes that the MAC does not cover, because something else
   * authenticates them (a wrapped key's AAD).
   */
  readonly extra?: readonly string[];
  /** For WITHOUT ROWID tables: the primary key's columns. */
  readonly key?: readonly (keyof C & string)[];
  /**
   * The row is read back by the process that wrote it, usually at its next operation (a read
   * counter, an approval's budget): the authenticator remembers the MAC it wrote, so that read
   * needs no second hash. Other rows are not remembered, which keeps the memo for the rows read
   * again and again.
   */
  readonly rereadAfterWrite?: boolean;
}

/** The typed row a spec declares. */
export type RowOf<S extends AnyRowSpec> = S extends RowSpec<infer C> ? { readonly [K in keyof C]: ValueOf<C[K]> } : never;

/** A row as stored: its columns and its MAC (null only in a vault not yet upgraded to authenticated rows). */
export type Stored<S extends AnyRowSpec> = RowOf<S> & { readonly mac: Uint8Array | null };

import type { SqliteDatabase } from './database.js';

const snake = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Declares a table's authenticated columns (camelCase names; the SQL names are their snake_case). */
export function rowSpec<C extends Columns>(table: string, columns: C, options: RowSpecOptions<C> = {}): RowSpec<C> {
  const names = Object.keys(columns) as (keyof C & string)[];
  const inserted = [...names.map(snake), 'mac', ...(options.extra ?? [])];
  return {
    table,
    columns,
    names,
    select: names.map((n) => (snake(n) === n ? n : `${snake(n)} AS ${n}`)).join(', '),
    insert: `INSERT INTO ${table} (${inserted.join(', ')}) VALUES (${inserted.map(() => '?').join(', ')})`,
    key: options.key ?? null,
    rereadAfterWrite: options.rereadAfterWrite ?? false,
  };
}

/** True when some row of `spec`'s table carries a MAC (a vault upgraded before). */
export function anyMac(db: SqliteDatabase, spec: AnyRowSpec): boolean {
  return db.prepare(`SELECT 1 FROM ${spec.table} WHERE mac IS NOT NULL LIMIT 1`).get() !== undefined;
}

/**
 * Gives every row of `spec`'s table its MAC (`macOf`), in one pass, inside the caller's write
 * transaction: the upgrade of a vault whose rows were written before they were authenticated.
 * Returns the number of rows.
 */
export function backfillMacs<S extends AnyRowSpec>(db: SqliteDatabase, spec: S, macOf: (row: RowOf<S>) => Uint8Array): number {
  const key = spec.key ?? null;
  const where = key === null ? 'rowid = ?' : key.map((k) => `${snake(k)} = ?`).join(' AND ');
  const update = db.prepare(`UPDATE ${spec.table} SET mac = ? WHERE ${where}`);
  const rows = db.prepare(`SELECT ${key === null ? 'rowid AS "rowid", ' : ''}${spec.select} FROM ${spec.table}`).all() as (RowOf<S> & { rowid?: number })[];
  for (const row of rows) {
    const values = row as Record<string, unknown>;
    update.run(macOf(row), ...(key === null ? [row.rowid] : key.map((k) => values[k])));
  }
  return rows.length;
}

/** The parameters of `spec.insert`: the row's columns, its MAC, then the extra columns' values. */
export function rowValues<S extends AnyRowSpec>(spec: S, row: RowOf<S>, mac: Uint8Array, ...extra: unknown[]): unknown[] {
  const values = row as Record<string, unknown>;
  return [...spec.names.map((n) => values[n]), mac, ...extra];
}

/**
 * The port through which the store authenticates rows. Implemented above the store with the
 * vault's integrity key (src/integrity/); the store never sees the key.
 */
export interface RowAuthenticator {
  /** The MAC of `row`: its declared columns, in order, under the table's domain. */
  mac<S extends AnyRowSpec>(spec: S, row: RowOf<S>): Uint8Array;
  /**
   * Returns `row` if `mac` authenticates it; otherwise throws INTEGRITY naming the table and
   * `rowName` (an id, never a value or a subject tag). `scan`: the row is one of many read once
   * in a bulk pass (a sweep, a rotation), so it is not remembered as checked: remembering it would
   * push out the rows the vault reads again and again.
   */
  check<S extends AnyRowSpec>(spec: S, row: RowOf<S>, mac: Uint8Array | null, rowName: string, scan?: 'scan'): RowOf<S>;
}
