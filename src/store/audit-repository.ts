/**
 * The audit log's tables: entries, checkpoints, per-subject pseudonym keys, waiting entries.
 *
 * The `audit_log` SQL is derived from the entry's declaration (audit/entry.ts `ENTRY_FIELDS`)
 * followed by {@link INTERNAL_COLUMNS}: adding a field to either adds it to every statement here.
 */
import type { Statement } from 'better-sqlite3';
import { ENTRY_FIELDS, isBytesKind, type AuditEntry, type AuditOutcome, type EntryColumn, type EntryRow, type EntryRowValues } from '../format/audit-entry.js';
import type { SqliteDatabase } from './database.js';
import { rowSpec, type RowAuthenticator, type Stored } from './rows.js';

/** An entry's MAC binds its seq and chain hash (which binds every field and the chain before it). */
export const AUDIT_ENTRY_ROW = rowSpec('audit_log', { seq: 'int', hash: 'bytes' }, { key: ['seq'] });
/** The last checkpoint the vault signed: the log must reach it (one row). */
export const AUDIT_ANCHOR_ROW = rowSpec('audit_anchor', { seq: 'int', hash: 'bytes' }, { extra: ['singleton'] });
/** The checkpoint interval, fixed when the vault is made (one row). */
export const AUDIT_CONFIG_ROW = rowSpec('audit_config', { checkpointEvery: 'int' }, { extra: ['singleton'] });

/** The last entry: where the next one chains on. */
export interface HeadRow {
  readonly seq: number;
  readonly ts: number;
  readonly hash: Uint8Array;
  readonly mac: Uint8Array | null;
}

export interface CheckpointRow {
  readonly seq: number;
  readonly ts: number;
  readonly hash: Uint8Array;
  readonly signature: Uint8Array;
}

export interface PendingRow {
  readonly id: number;
  readonly ts: number;
  readonly actor: string;
  readonly role: string;
  readonly purpose: string;
  readonly action: string;
  readonly reason: string;
}

export interface CountRow {
  readonly key: string | null;
  readonly count: number;
}

/** Entries sharing one value of a detail field (see `AuditRepository.countByDetail`). */
export interface DetailCountRow {
  /** The detail field's value (JSON true/false as 1/0), or null where the entry has none. */
  readonly key: string | number | null;
  readonly count: number;
  /** The sum of the numeric detail field asked for over these entries (0 where none has it). */
  readonly sum: number;
}

/** A column of `audit_log` that the log keeps beside an entry but neither hashes nor exports. */
export interface InternalColumnSpec {
  /** Its name in {@link STORED_ROW} and as an argument of `insert`. */
  readonly name: string;
  readonly column: string;
  /** A BLOB (bytes on insert, lower-case hex in a {@link StoredRow}), or an INTEGER. */
  readonly kind: 'bytes' | 'integer';
  readonly nullable: boolean;
}

/**
 * The internal columns of `audit_log`, after the entry's own in every statement that has them:
 * passed after the entry to `insert`, and read after its fields in raw rows (`verifyRows`, at
 * `row[STORED_ROW.mac]`), where the export and the chain verifier, which read only the entry's
 * indices, never see them. Adding one is a line here (with its migration).
 */
export const INTERNAL_COLUMNS = [
  /** The entry's MAC under the vault's integrity key (AUDIT_ENTRY_ROW); NULL only before the format-2 upgrade. */
  { name: 'mac', column: 'mac', kind: 'bytes', nullable: true },
] as const satisfies readonly InternalColumnSpec[];

type InternalValue<C extends InternalColumnSpec, Bytes> = (C['kind'] extends 'bytes' ? Bytes : number) | (C['nullable'] extends true ? null : never);

// Mapped over a type parameter, so that the tuple maps to a tuple.
type InternalValuesOf<T extends readonly InternalColumnSpec[], Bytes> = { readonly [I in keyof T]: T[I] extends InternalColumnSpec ? InternalValue<T[I], Bytes> : never };

/** The internal columns' values on insert (bytes as bytes), in order. */
export type InternalValues = InternalValuesOf<typeof INTERNAL_COLUMNS, Uint8Array>;

/** A raw row of `audit_log`: an {@link EntryRow} (bytes as hex), then the internal columns (hex). */
export type StoredRow = readonly [...EntryRowValues, ...InternalValuesOf<typeof INTERNAL_COLUMNS, string>];

/** [name, index in a StoredRow] of each of `T`, counting on from `Before` (the entry's fields). */
type IndexPairs<T extends readonly InternalColumnSpec[], Before extends readonly unknown[]> = T extends readonly [infer H extends InternalColumnSpec, ...infer R extends readonly InternalColumnSpec[]]
  ? [H['name'], Before['length']] | IndexPairs<R, [...Before, unknown]>
  : never;

/** The index of each of `columns` in a {@link StoredRow} (after the entry's fields), typed as its literal. */
function internalIndices<T extends readonly InternalColumnSpec[]>(columns: T): { readonly [P in IndexPairs<T, EntryRowValues> as P[0]]: P[1] } {
  return Object.freeze(Object.fromEntries(columns.map((c, i) => [c.name, ENTRY_FIELDS.length + i]))) as { readonly [P in IndexPairs<T, EntryRowValues> as P[0]]: P[1] };
}

/** The index of each internal column in a {@link StoredRow}: `row[STORED_ROW.mac]`. */
export const STORED_ROW = internalIndices(INTERNAL_COLUMNS);

const ENTRY = ENTRY_FIELDS.map((f) => ({ name: f.name, column: f.column, bytes: isBytesKind(f.kind) }));
const STORED = [...ENTRY, ...(INTERNAL_COLUMNS as readonly InternalColumnSpec[]).map((c) => ({ name: c.name, column: c.column, bytes: c.kind === 'bytes' }))];

/** `column AS name` for each entry field: rows as AuditEntry objects. */
const OBJECT_COLUMNS = ENTRY.map((c) => (c.column === c.name ? c.column : `${c.column} AS ${c.name}`)).join(', ');
/**
 * Columns with their bytes as lower-case hex (`hex(NULL)` is '', hence the nullif), for raw mode:
 * reading rows like this is ~2.5x faster than objects with a buffer per blob, and the hex is what
 * the export writes and the verifiers compare.
 */
const rowColumns = (columns: readonly { column: string; bytes: boolean }[]): string => columns.map((c) => (c.bytes ? `nullif(lower(hex(${c.column})), '')` : c.column)).join(', ');
const INSERT = `INSERT INTO audit_log (${STORED.map((c) => c.column).join(', ')}) VALUES (${STORED.map(() => '?').join(', ')})`;
const ENTRY_NAMES = ENTRY.map((c) => c.name);

/** Columns a report may group by (whitelisted: they are interpolated into SQL). */
export type GroupColumn = Extract<EntryColumn, 'action' | 'purpose' | 'role' | 'outcome' | 'reason' | 'actor'>;

export class AuditRepository {
  readonly #db: SqliteDatabase;
  readonly #head: Statement<[], HeadRow>;
  readonly #insert: Statement;
  readonly #page: Statement<[number, number, number], AuditEntry>;
  readonly #entry: Statement<[number], AuditEntry>;
  readonly #pageRows: Statement<[number, number, number], EntryRow>;
  readonly #verifyRows: Statement<[number, number, number], StoredRow>;
  readonly #mac: Statement<[number], { mac: Uint8Array | null }>;
  readonly #insertCheckpoint: Statement<[number, number, Uint8Array, Uint8Array]>;
  readonly #checkpoint: Statement<[number], CheckpointRow>;
  readonly #lastCheckpoint: Statement<[], CheckpointRow>;
  readonly #checkpointPage: Statement<[number, number, number], CheckpointRow>;
  readonly #checkpointAtOrBefore: Statement<[number], CheckpointRow>;
  readonly #subjectKey: Statement<[Uint8Array], { sealedKey: Uint8Array }>;
  readonly #insertSubjectKey: Statement<[Uint8Array, Uint8Array]>;
  readonly #deleteSubjectKey: Statement<[Uint8Array]>;
  readonly #config: Statement<[], Stored<typeof AUDIT_CONFIG_ROW>>;
  readonly #setConfig: Statement;
  readonly #anchor: Statement<[], Stored<typeof AUDIT_ANCHOR_ROW>>;
  readonly #setAnchor: Statement;
  readonly #insertPending: Statement<[number, string, string, string, string, string]>;
  readonly #pending: Statement<[number], PendingRow>;
  readonly #deletePending: Statement<[number]>;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    this.#head = db.prepare('SELECT seq, ts, hash, mac FROM audit_log ORDER BY seq DESC LIMIT 1');
    this.#insert = db.prepare(INSERT);
    this.#page = db.prepare(`SELECT ${OBJECT_COLUMNS} FROM audit_log WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`);
    this.#entry = db.prepare(`SELECT ${OBJECT_COLUMNS} FROM audit_log WHERE seq = ?`);
    this.#pageRows = db.prepare<[number, number, number], EntryRow>(`SELECT ${rowColumns(ENTRY)} FROM audit_log WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`).raw(true);
    this.#verifyRows = db.prepare<[number, number, number], StoredRow>(`SELECT ${rowColumns(STORED)} FROM audit_log WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`).raw(true);
    this.#mac = db.prepare('SELECT mac FROM audit_log WHERE seq = ?');
    this.#insertCheckpoint = db.prepare('INSERT INTO audit_checkpoints (seq, ts, hash, signature) VALUES (?, ?, ?, ?)');
    this.#checkpoint = db.prepare('SELECT seq, ts, hash, signature FROM audit_checkpoints WHERE seq = ?');
    this.#lastCheckpoint = db.prepare('SELECT seq, ts, hash, signature FROM audit_checkpoints ORDER BY seq DESC LIMIT 1');
    this.#checkpointPage = db.prepare('SELECT seq, ts, hash, signature FROM audit_checkpoints WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?');
    this.#checkpointAtOrBefore = db.prepare('SELECT seq, ts, hash, signature FROM audit_checkpoints WHERE seq <= ? ORDER BY seq DESC LIMIT 1');
    this.#subjectKey = db.prepare('SELECT sealed_key AS sealedKey FROM audit_subjects WHERE subject_tag = ?');
    this.#insertSubjectKey = db.prepare('INSERT INTO audit_subjects (subject_tag, sealed_key) VALUES (?, ?)');
    this.#deleteSubjectKey = db.prepare('DELETE FROM audit_subjects WHERE subject_tag = ?');
    this.#config = db.prepare(`SELECT ${AUDIT_CONFIG_ROW.select}, mac FROM audit_config WHERE singleton = 1`);
    this.#setConfig = db.prepare(AUDIT_CONFIG_ROW.insert.replace('INSERT INTO', 'INSERT OR REPLACE INTO'));
    this.#anchor = db.prepare(`SELECT ${AUDIT_ANCHOR_ROW.select}, mac FROM audit_anchor WHERE singleton = 1`);
    this.#setAnchor = db.prepare(AUDIT_ANCHOR_ROW.insert.replace('INSERT INTO', 'INSERT OR REPLACE INTO'));
    this.#insertPending = db.prepare('INSERT INTO audit_pending (ts, actor, role, purpose, action, reason) VALUES (?, ?, ?, ?, ?, ?)');
    this.#pending = db.prepare('SELECT id, ts, actor, role, purpose, action, reason FROM audit_pending ORDER BY id LIMIT ?');
    this.#deletePending = db.prepare('DELETE FROM audit_pending WHERE id = ?');
  }

  /** The last entry's seq, time, hash and MAC, or undefined for an empty log. */
  head(): HeadRow | undefined {
    return this.#head.get();
  }

  /** Stores an entry, with the values of the internal columns (the MAC) after it. */
  insert(e: AuditEntry, ...internal: InternalValues): void {
    const fields = e as unknown as Readonly<Record<string, unknown>>;
    this.#insert.run([...ENTRY_NAMES.map((name) => fields[name]), ...internal]);
  }

  /** The MAC stored with entry `seq` (null if it has none; undefined if there is no such entry). */
  mac(seq: number): Uint8Array | null | undefined {
    return this.#mac.get(seq)?.mac;
  }

  entry(seq: number): AuditEntry | undefined {
    return this.#entry.get(seq);
  }

  /** Up to `limit` entries with afterSeq < seq <= untilSeq, in order. */
  page(afterSeq: number, untilSeq: number, limit: number): AuditEntry[] {
    return this.#page.all(afterSeq, untilSeq, limit);
  }

  /** `page`, as raw rows: the entry's fields in declaration order, bytes as hex (what the export reads). */
  pageRows(afterSeq: number, untilSeq: number, limit: number): EntryRow[] {
    return this.#pageRows.all(afterSeq, untilSeq, limit);
  }

  /** `pageRows`, each followed by the internal columns (the entry's MAC as hex): what the verifiers read. */
  verifyRows(afterSeq: number, untilSeq: number, limit: number): StoredRow[] {
    return this.#verifyRows.all(afterSeq, untilSeq, limit);
  }

  insertCheckpoint(c: CheckpointRow): void {
    this.#insertCheckpoint.run(c.seq, c.ts, c.hash, c.signature);
  }

  checkpoint(seq: number): CheckpointRow | undefined {
    return this.#checkpoint.get(seq);
  }

  lastCheckpoint(): CheckpointRow | undefined {
    return this.#lastCheckpoint.get();
  }

  /** The last checkpoint at or before `seq`. */
  checkpointAtOrBefore(seq: number): CheckpointRow | undefined {
    return this.#checkpointAtOrBefore.get(seq);
  }

  checkpointPage(afterSeq: number, untilSeq: number, limit: number): CheckpointRow[] {
    return this.#checkpointPage.all(afterSeq, untilSeq, limit);
  }

  subjectKey(subjectTag: Uint8Array): Uint8Array | undefined {
    return this.#subjectKey.get(subjectTag)?.sealedKey;
  }

  insertSubjectKey(subjectTag: Uint8Array, sealedKey: Uint8Array): void {
    this.#insertSubjectKey.run(subjectTag, sealedKey);
  }

  deleteSubjectKey(subjectTag: Uint8Array): void {
    this.#deleteSubjectKey.run(subjectTag);
  }

  /** The checkpoint interval row (its MAC is the caller's to check), if any. */
  config(): Stored<typeof AUDIT_CONFIG_ROW> | undefined {
    return this.#config.get();
  }

  /** Sets the interval once, when the vault is made. */
  /** The audit settings row, with its MAC under `rows` (at a vault's creation or upgrade). */
  insertConfig(checkpointEvery: number, rows: RowAuthenticator): void {
    this.#setConfig.run(checkpointEvery, rows.mac(AUDIT_CONFIG_ROW, { checkpointEvery }), 1);
  }

  /** The last checkpoint the vault signed (its MAC is the caller's to check), if any. */
  anchor(): Stored<typeof AUDIT_ANCHOR_ROW> | undefined {
    return this.#anchor.get();
  }

  /** Names `anchor` the last checkpoint the vault signed, with its MAC under `rows`. */
  putAnchor(anchor: { seq: number; hash: Uint8Array }, rows: RowAuthenticator): void {
    this.#setAnchor.run(anchor.seq, anchor.hash, rows.mac(AUDIT_ANCHOR_ROW, anchor), 1);
  }

  /** Records an event that cannot be signed yet (a wrong-key open); it enters the chain later. */
  insertPending(p: Omit<PendingRow, 'id'>): void {
    this.#insertPending.run(p.ts, p.actor, p.role, p.purpose, p.action, p.reason);
  }

  /** Up to `limit` waiting events, oldest first. */
  pending(limit: number): PendingRow[] {
    return this.#pending.all(limit);
  }

  deletePending(id: number): void {
    this.#deletePending.run(id);
  }

  /** True when some entry records `action` (a one-off scan: no index on action). */
  hasAction(action: string): boolean {
    return this.#db.prepare('SELECT 1 FROM audit_log WHERE action = ? LIMIT 1').get(action) !== undefined;
  }

  /** Reads in the period whose entry marks the subject a canary (`detail.canary`): proof of a leak path. */
  canaryReads(since: number, until: number): number {
    const row = this.#db
      .prepare("SELECT count(*) AS n FROM audit_log WHERE ts >= ? AND ts <= ? AND action IN ('get', 'export') AND json_extract(detail, '$.canary') = 1")
      .get(since, until) as { n: number };
    return row.n;
  }

  /**
   * Allowed entries of `action` with since <= ts <= until, per value of the detail field at the
   * JSON path `groupPath` (`$.phase`), each with the sum of the one at `sumPath` (`$.erased`): the
   * report's figures that an entry's columns cannot give (completed rotations, repeated grants,
   * values swept). The paths are bound parameters, never SQL.
   */
  countByDetail(action: string, since: number, until: number, groupPath: string, sumPath: string = groupPath): DetailCountRow[] {
    return this.#db
      .prepare(
        "SELECT json_extract(detail, ?) AS key, count(*) AS count, total(json_extract(detail, ?)) AS sum FROM audit_log WHERE action = ? AND outcome = 'allowed' AND ts >= ? AND ts <= ? GROUP BY 1 ORDER BY 1",
      )
      .all(groupPath, sumPath, action, since, until) as DetailCountRow[];
  }

  /** Entries per value of `column` with since <= ts <= until, optionally only one outcome. */
  countBy(column: GroupColumn, since: number, until: number, outcome?: AuditOutcome): CountRow[] {
    const where = outcome === undefined ? '' : ' AND outcome = ?';
    const params: (number | string)[] = outcome === undefined ? [since, until] : [since, until, outcome];
    return this.#db
      .prepare(`SELECT ${column} AS key, count(*) AS count FROM audit_log WHERE ts >= ? AND ts <= ?${where} GROUP BY ${column} ORDER BY count DESC, key`)
      .all(...params) as CountRow[];
  }
}
