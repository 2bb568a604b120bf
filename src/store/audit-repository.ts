/** The audit log's tables: entries, checkpoints and per-subject pseudonym keys. */
import type { Statement } from 'better-sqlite3';
import type { AuditEntry, AuditOutcome } from '../audit/entry.js';
import type { ExportEntryRow } from '../audit/export.js';
import type { SqliteDatabase } from './database.js';
import { rowSpec, type Stored } from './rows.js';

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

const ENTRY_COLUMNS = `seq, ts, actor, role, purpose, action, subject, categories, outcome, reason, approval, consent,
  request_id AS requestId, detail, prev_hash AS prevHash, hash`;

type EntryParams = [number, number, string, string, string, string, Uint8Array | null, string, AuditOutcome, string | null, string | null, string | null, string | null, string | null, Uint8Array, Uint8Array, Uint8Array];

/** `ExportEntryRow` followed by the entry's MAC as hex (null before the vault's upgrade). */
export type VerifyEntryRow = [...ExportEntryRow, string | null];

/** Columns a report may group by (whitelisted: they are interpolated into SQL). */
export type GroupColumn = 'action' | 'purpose' | 'role' | 'outcome' | 'reason' | 'actor';

export class AuditRepository {
  readonly #db: SqliteDatabase;
  readonly #head: Statement<[], HeadRow>;
  readonly #insert: Statement<EntryParams>;
  readonly #page: Statement<[number, number, number], AuditEntry>;
  readonly #entry: Statement<[number], AuditEntry>;
  readonly #pageRows: Statement<[number, number, number], ExportEntryRow>;
  readonly #verifyRows: Statement<[number, number, number], VerifyEntryRow>;
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
    this.#insert = db.prepare(`INSERT INTO audit_log (seq, ts, actor, role, purpose, action, subject, categories, outcome, reason,
      approval, consent, request_id, detail, prev_hash, hash, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.#page = db.prepare(`SELECT ${ENTRY_COLUMNS} FROM audit_log WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`);
    this.#entry = db.prepare(`SELECT ${ENTRY_COLUMNS} FROM audit_log WHERE seq = ?`);
    // Raw rows with the bytes already as hex: ~2x faster to export than objects holding buffers.
    this.#pageRows = db
      .prepare<[number, number, number], ExportEntryRow>(`SELECT seq, ts, actor, role, purpose, action, nullif(lower(hex(subject)), ''), categories, outcome,
        reason, approval, consent, request_id, detail, lower(hex(prev_hash)), lower(hex(hash))
        FROM audit_log WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`)
      .raw(true);
    this.#verifyRows = db
      .prepare<[number, number, number], VerifyEntryRow>(`SELECT seq, ts, actor, role, purpose, action, nullif(lower(hex(subject)), ''), categories, outcome,
        reason, approval, consent, request_id, detail, lower(hex(prev_hash)), lower(hex(hash)), lower(hex(mac))
        FROM audit_log WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`)
      .raw(true);
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

  insert(e: AuditEntry, mac: Uint8Array): void {
    this.#insert.run(e.seq, e.ts, e.actor, e.role, e.purpose, e.action, e.subject, e.categories, e.outcome, e.reason, e.approval, e.consent, e.requestId, e.detail, e.prevHash, e.hash, mac);
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

  /** `page`, as raw rows with hex bytes, in the column order of ExportEntryRow. */
  pageRows(afterSeq: number, untilSeq: number, limit: number): ExportEntryRow[] {
    return this.#pageRows.all(afterSeq, untilSeq, limit);
  }

  /** `pageRows`, each followed by the entry's MAC as hex. */
  verifyRows(afterSeq: number, untilSeq: number, limit: number): VerifyEntryRow[] {
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
  insertConfig(checkpointEvery: number, mac: Uint8Array): void {
    this.#setConfig.run(checkpointEvery, mac, 1);
  }

  /** The last checkpoint the vault signed (its MAC is the caller's to check), if any. */
  anchor(): Stored<typeof AUDIT_ANCHOR_ROW> | undefined {
    return this.#anchor.get();
  }

  putAnchor(anchor: { seq: number; hash: Uint8Array }, mac: Uint8Array): void {
    this.#setAnchor.run(anchor.seq, anchor.hash, mac, 1);
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

  /** Entries per value of `column` with since <= ts <= until, optionally only one outcome. */
  countBy(column: GroupColumn, since: number, until: number, outcome?: AuditOutcome): CountRow[] {
    const where = outcome === undefined ? '' : ' AND outcome = ?';
    const params: (number | string)[] = outcome === undefined ? [since, until] : [since, until, outcome];
    return this.#db
      .prepare(`SELECT ${column} AS key, count(*) AS count FROM audit_log WHERE ts >= ? AND ts <= ?${where} GROUP BY ${column} ORDER BY count DESC, key`)
      .all(...params) as CountRow[];
  }
}
