/**
 * Consents, approvals and read counters: the state the access decisions read and update. Every
 * row is authenticated (rows.ts): a consent, approval, approval scope or counter someone wrote into
 * the file without the master key fails with INTEGRITY instead of granting anything.
 */
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';
import { rowSpec, rowValues, type RowAuthenticator, type RowOf, type Stored } from './rows.js';

export const CONSENT_ROW = rowSpec('consents', {
  id: 'text',
  subjectTag: 'bytes',
  purpose: 'text',
  categories: 'text',
  guardianRef: 'text',
  verification: 'text',
  noticeVersion: 'text',
  grantedAt: 'int',
  expiresAt: 'int?',
  withdrawnAt: 'int?',
});
export type ConsentRow = RowOf<typeof CONSENT_ROW>;

export const APPROVAL_ROW = rowSpec('approvals', {
  id: 'text',
  officer: 'text',
  actor: 'text',
  purpose: 'text',
  categories: 'text',
  reason: 'text',
  createdAt: 'int',
  expiresAt: 'int',
  readBudget: 'int',
  readsUsed: 'int',
  revokedAt: 'int?',
}, { rereadAfterWrite: true });
export type ApprovalRow = RowOf<typeof APPROVAL_ROW>;

export const APPROVAL_SUBJECT_ROW = rowSpec('approval_subjects', { approvalId: 'text', subjectTag: 'bytes' }, { key: ['approvalId', 'subjectTag'] });

/** One actor's reads in each of the 60 minutes up to `minute` (60 × u32 big-endian, oldest first). */
export const READ_COUNTER_ROW = rowSpec('read_counters', { actor: 'text', minute: 'int', counts: 'bytes' }, { key: ['actor'], rereadAfterWrite: true });
export type ReadCounterRow = RowOf<typeof READ_COUNTER_ROW>;

export class AccessRepository {
  readonly #auth: RowAuthenticator;
  readonly #consents: Statement<[Uint8Array], Stored<typeof CONSENT_ROW>>;
  readonly #insertConsent: Statement;
  readonly #withdraw: Statement<[number, Uint8Array, Uint8Array, string]>;
  readonly #deleteConsents: Statement<[Uint8Array]>;
  readonly #approval: Statement<[string], Stored<typeof APPROVAL_ROW>>;
  readonly #approvals: Statement<[], Stored<typeof APPROVAL_ROW>>;
  readonly #insertApproval: Statement;
  readonly #insertApprovalSubject: Statement<[string, Uint8Array, Uint8Array]>;
  readonly #approvalSubject: Statement<[string, Uint8Array], Stored<typeof APPROVAL_SUBJECT_ROW>>;
  readonly #updateApproval: Statement<[number, number | null, Uint8Array, string, number]>;
  readonly #deleteApprovalSubjects: Statement<[Uint8Array]>;
  readonly #counter: Statement<[string], Stored<typeof READ_COUNTER_ROW>>;
  readonly #putCounter: Statement<[string, number, Uint8Array, Uint8Array]>;
  readonly #pruneCounters: Statement<[number]>;

  constructor(db: SqliteDatabase, auth: RowAuthenticator) {
    this.#auth = auth;
    this.#consents = db.prepare(`SELECT ${CONSENT_ROW.select}, mac FROM consents WHERE subject_tag = ? ORDER BY granted_at, id`);
    this.#insertConsent = db.prepare(CONSENT_ROW.insert);
    this.#withdraw = db.prepare('UPDATE consents SET withdrawn_at = ?, mac = ? WHERE subject_tag = ? AND id = ? AND withdrawn_at IS NULL');
    this.#deleteConsents = db.prepare('DELETE FROM consents WHERE subject_tag = ?');
    this.#approval = db.prepare(`SELECT ${APPROVAL_ROW.select}, mac FROM approvals WHERE id = ?`);
    this.#approvals = db.prepare(`SELECT ${APPROVAL_ROW.select}, mac FROM approvals ORDER BY created_at, id`);
    this.#insertApproval = db.prepare(APPROVAL_ROW.insert);
    this.#insertApprovalSubject = db.prepare('INSERT OR IGNORE INTO approval_subjects (approval_id, subject_tag, mac) VALUES (?, ?, ?)');
    this.#approvalSubject = db.prepare(`SELECT ${APPROVAL_SUBJECT_ROW.select}, mac FROM approval_subjects WHERE approval_id = ? AND subject_tag = ?`);
    // Guarded by the counter read: a concurrent change (another process) is never overwritten.
    this.#updateApproval = db.prepare('UPDATE approvals SET reads_used = ?, revoked_at = ?, mac = ? WHERE id = ? AND reads_used = ?');
    this.#deleteApprovalSubjects = db.prepare('DELETE FROM approval_subjects WHERE subject_tag = ?');
    this.#counter = db.prepare(`SELECT ${READ_COUNTER_ROW.select}, mac FROM read_counters WHERE actor = ?`);
    this.#putCounter = db.prepare('INSERT OR REPLACE INTO read_counters (actor, minute, counts, mac) VALUES (?, ?, ?, ?)');
    this.#pruneCounters = db.prepare('DELETE FROM read_counters WHERE minute < ?');
  }

  /** The subject's consents, each authenticated. */
  consents(subjectTag: Uint8Array): ConsentRow[] {
    return this.#consents.all(subjectTag).map((row) => this.#auth.check(CONSENT_ROW, row, row.mac, row.id));
  }

  insertConsent(c: ConsentRow): void {
    this.#insertConsent.run(...rowValues(CONSENT_ROW, c, this.#auth.mac(CONSENT_ROW, c)));
  }

  /** Marks an (authenticated, active) consent withdrawn; false if it changed meanwhile. */
  withdraw(c: ConsentRow, now: number): boolean {
    const row = { ...c, withdrawnAt: now };
    return this.#withdraw.run(now, this.#auth.mac(CONSENT_ROW, row), c.subjectTag, c.id).changes === 1;
  }

  /** Forgets a subject's consents and approval scopes (whole-subject erasure); returns how many rows went. */
  forgetSubject(subjectTag: Uint8Array): number {
    return this.#deleteConsents.run(subjectTag).changes + this.#deleteApprovalSubjects.run(subjectTag).changes;
  }

  approval(id: string): ApprovalRow | undefined {
    const row = this.#approval.get(id);
    return row === undefined ? undefined : this.#auth.check(APPROVAL_ROW, row, row.mac, row.id);
  }

  approvals(): ApprovalRow[] {
    return this.#approvals.all().map((row) => this.#auth.check(APPROVAL_ROW, row, row.mac, row.id));
  }

  insertApproval(a: ApprovalRow, subjectTags: readonly Uint8Array[]): void {
    this.#insertApproval.run(...rowValues(APPROVAL_ROW, a, this.#auth.mac(APPROVAL_ROW, a)));
    for (const subjectTag of subjectTags) this.#insertApprovalSubject.run(a.id, subjectTag, this.#auth.mac(APPROVAL_SUBJECT_ROW, { approvalId: a.id, subjectTag }));
  }

  /** True when the approval's (authenticated) scope holds the subject. */
  approvalCovers(id: string, subjectTag: Uint8Array): boolean {
    const row = this.#approvalSubject.get(id, subjectTag);
    if (row === undefined) return false;
    this.#auth.check(APPROVAL_SUBJECT_ROW, row, row.mac, `of approval ${id}`);
    return true;
  }

  /** Writes an approval's new counter or revocation; false if another process changed it meanwhile. */
  updateApproval(before: ApprovalRow, after: ApprovalRow): boolean {
    return this.#updateApproval.run(after.readsUsed, after.revokedAt, this.#auth.mac(APPROVAL_ROW, after), before.id, before.readsUsed).changes === 1;
  }

  /** The actor's authenticated read counter, if it has one. */
  readCounter(actor: string): ReadCounterRow | undefined {
    const row = this.#counter.get(actor);
    return row === undefined ? undefined : this.#auth.check(READ_COUNTER_ROW, row, row.mac, actor);
  }

  putReadCounter(row: ReadCounterRow): void {
    this.#putCounter.run(row.actor, row.minute, row.counts, this.#auth.mac(READ_COUNTER_ROW, row));
  }

  /** Drops counters of actors idle since `beforeMinute`. */
  pruneCounters(beforeMinute: number): void {
    this.#pruneCounters.run(beforeMinute);
  }
}

