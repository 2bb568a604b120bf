/** Consents, approvals and read counters: the state the access decisions read and update. */
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';

export interface ConsentRow {
  readonly id: string;
  readonly purpose: string;
  readonly categories: string;
  readonly guardianRef: string;
  readonly verification: string;
  readonly noticeVersion: string;
  readonly grantedAt: number;
  readonly expiresAt: number | null;
  readonly withdrawnAt: number | null;
}

export interface NewConsent extends ConsentRow {
  readonly subjectTag: Uint8Array;
}

export interface ApprovalRow {
  readonly id: string;
  readonly officer: string;
  readonly actor: string;
  readonly purpose: string;
  readonly categories: string;
  readonly reason: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly readBudget: number;
  readonly readsUsed: number;
  readonly revokedAt: number | null;
}

const CONSENT_COLUMNS = `id, purpose, categories, guardian_ref AS guardianRef, verification, notice_version AS noticeVersion,
  granted_at AS grantedAt, expires_at AS expiresAt, withdrawn_at AS withdrawnAt`;
const APPROVAL_COLUMNS = `id, officer, actor, purpose, categories, reason, created_at AS createdAt, expires_at AS expiresAt,
  read_budget AS readBudget, reads_used AS readsUsed, revoked_at AS revokedAt`;

export class AccessRepository {
  readonly #consents: Statement<[Uint8Array], ConsentRow>;
  readonly #insertConsent: Statement<[string, Uint8Array, string, string, string, string, string, number, number | null]>;
  readonly #withdraw: Statement<[number, Uint8Array, string]>;
  readonly #deleteConsents: Statement<[Uint8Array]>;
  readonly #approval: Statement<[string], ApprovalRow>;
  readonly #approvals: Statement<[], ApprovalRow>;
  readonly #insertApproval: Statement<[string, string, string, string, string, string, number, number, number]>;
  readonly #insertApprovalSubject: Statement<[string, Uint8Array]>;
  readonly #approvalCovers: Statement<[string, Uint8Array], { one: number }>;
  readonly #useApproval: Statement<[string]>;
  readonly #revokeApproval: Statement<[number, string]>;
  readonly #deleteApprovalSubjects: Statement<[Uint8Array]>;
  readonly #readsSince: Statement<[string, number], { reads: number | null }>;
  readonly #countRead: Statement<[string, number, number]>;
  readonly #pruneCounters: Statement<[number]>;

  constructor(db: SqliteDatabase) {
    this.#consents = db.prepare(`SELECT ${CONSENT_COLUMNS} FROM consents WHERE subject_tag = ? ORDER BY granted_at, id`);
    this.#insertConsent = db.prepare(`INSERT INTO consents (id, subject_tag, purpose, categories, guardian_ref, verification, notice_version, granted_at, expires_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.#withdraw = db.prepare('UPDATE consents SET withdrawn_at = ? WHERE subject_tag = ? AND id = ? AND withdrawn_at IS NULL');
    this.#deleteConsents = db.prepare('DELETE FROM consents WHERE subject_tag = ?');
    this.#approval = db.prepare(`SELECT ${APPROVAL_COLUMNS} FROM approvals WHERE id = ?`);
    this.#approvals = db.prepare(`SELECT ${APPROVAL_COLUMNS} FROM approvals ORDER BY created_at, id`);
    this.#insertApproval = db.prepare(`INSERT INTO approvals (id, officer, actor, purpose, categories, reason, created_at, expires_at, read_budget)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.#insertApprovalSubject = db.prepare('INSERT OR IGNORE INTO approval_subjects (approval_id, subject_tag) VALUES (?, ?)');
    this.#approvalCovers = db.prepare('SELECT 1 AS one FROM approval_subjects WHERE approval_id = ? AND subject_tag = ?');
    this.#useApproval = db.prepare('UPDATE approvals SET reads_used = reads_used + 1 WHERE id = ?');
    this.#revokeApproval = db.prepare('UPDATE approvals SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
    this.#deleteApprovalSubjects = db.prepare('DELETE FROM approval_subjects WHERE subject_tag = ?');
    this.#readsSince = db.prepare('SELECT sum(reads) AS reads FROM read_counters WHERE actor = ? AND minute > ?');
    this.#countRead = db.prepare(`INSERT INTO read_counters (actor, minute, reads) VALUES (?, ?, ?)
      ON CONFLICT (actor, minute) DO UPDATE SET reads = reads + excluded.reads`);
    this.#pruneCounters = db.prepare('DELETE FROM read_counters WHERE minute < ?');
  }

  consents(subjectTag: Uint8Array): ConsentRow[] {
    return this.#consents.all(subjectTag);
  }

  insertConsent(c: NewConsent): void {
    this.#insertConsent.run(c.id, c.subjectTag, c.purpose, c.categories, c.guardianRef, c.verification, c.noticeVersion, c.grantedAt, c.expiresAt);
  }

  /** Marks a consent withdrawn; false if it was not an active consent of this subject. */
  withdraw(subjectTag: Uint8Array, id: string, now: number): boolean {
    return this.#withdraw.run(now, subjectTag, id).changes === 1;
  }

  /** Forgets a subject's consents and approval scopes (whole-subject erasure). */
  forgetSubject(subjectTag: Uint8Array): void {
    this.#deleteConsents.run(subjectTag);
    this.#deleteApprovalSubjects.run(subjectTag);
  }

  approval(id: string): ApprovalRow | undefined {
    return this.#approval.get(id);
  }

  approvals(): ApprovalRow[] {
    return this.#approvals.all();
  }

  insertApproval(a: Omit<ApprovalRow, 'readsUsed' | 'revokedAt'>, subjectTags: readonly Uint8Array[]): void {
    this.#insertApproval.run(a.id, a.officer, a.actor, a.purpose, a.categories, a.reason, a.createdAt, a.expiresAt, a.readBudget);
    for (const tag of subjectTags) this.#insertApprovalSubject.run(a.id, tag);
  }

  approvalCovers(id: string, subjectTag: Uint8Array): boolean {
    return this.#approvalCovers.get(id, subjectTag) !== undefined;
  }

  useApproval(id: string): void {
    this.#useApproval.run(id);
  }

  revokeApproval(id: string, now: number): boolean {
    return this.#revokeApproval.run(now, id).changes === 1;
  }

  /** Reads by `actor` in the minutes after `sinceMinute`. */
  readsSince(actor: string, sinceMinute: number): number {
    return this.#readsSince.get(actor, sinceMinute)?.reads ?? 0;
  }

  countRead(actor: string, minute: number, reads: number): void {
    this.#countRead.run(actor, minute, reads);
  }

  pruneCounters(beforeMinute: number): void {
    this.#pruneCounters.run(beforeMinute);
  }
}
