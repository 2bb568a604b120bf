/**
 * `vault.approvals`: the children's-PI protection officer's approvals of staff access. An
 * approval lets one actor (never the officer themself) read named subjects, for one purpose and
 * named categories, until it expires or its read budget is spent.
 */
import { z } from 'zod';
import { canonicalCategories, splitCategories, type AuditAction, type AuditDetail, type AuditRecord } from '../audit/entry.js';
import { VaultError } from '../errors.js';
import { newId } from '../crypto/random.js';
import { idToUuid } from '../format/ids.js';
import type { AccessContext } from '../schema/access-context.js';
import { actorSkeleton, approvalActorSchema } from '../schema/actor-ids.js';
import { categoryNameSchema } from '../schema/categories.js';
import { subjectIdSchema } from '../schema/subject.js';
import { DAY_MS } from '../schema/categories.js';
import { parseOrThrow, safe } from '../schema/zod-errors.js';
import type { AccessRepository, ApprovalRow } from '../store/access-repository.js';
import { readTransaction, writeTransaction, type SqliteDatabase } from '../store/database.js';
import type { FreeTextField } from '../guard/free-text.js';
import type { AccessController } from './access-controller.js';

/** Approvals are short-lived by design. */
export const MAX_APPROVAL_DAYS = 30;

export interface ApprovalRequest {
  /** The staff actor who may read. */
  readonly actor: string;
  readonly subjects: readonly string[];
  readonly categories: readonly string[];
  readonly purpose: string;
  /** Why: the ticket or case this serves. */
  readonly reason: string;
  readonly expiresAt: Date;
  /** How many reads (subjects read) it allows in all. */
  readonly readBudget: number;
}

export interface ApprovalRecord {
  readonly id: string;
  readonly officer: string;
  readonly actor: string;
  readonly purpose: string;
  readonly categories: readonly string[];
  readonly reason: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly readBudget: number;
  readonly readsUsed: number;
  readonly revokedAt: Date | null;
  readonly state: 'active' | 'expired' | 'revoked' | 'spent';
}

const requestSchema = z.strictObject({
  actor: approvalActorSchema,
  subjects: z.array(subjectIdSchema).min(1).max(1000),
  categories: z.array(categoryNameSchema).min(1).max(32),
  purpose: z.string().min(1).max(64),
  reason: z.string().min(1).max(200).regex(/^[^\p{Cc}]+$/u, safe('must be one line of text')),
  expiresAt: z.date(),
  readBudget: z.number().int().min(1).max(10_000),
});

const APPROVAL_ID = /^apv_[0-9a-f-]{36}$/;

export interface VaultApprovalsDeps {
  readonly db: SqliteDatabase;
  readonly repo: AccessRepository;
  readonly controller: AccessController | null;
  run<T>(ctx: AccessContext, action: AuditAction, fn: (c: { actor: string; role: string; purpose: string }, attempt: { tag: Uint8Array | null; categories: readonly string[] }) => Promise<T>): Promise<T>;
  record(c: { actor: string; role: string; purpose: string }, action: AuditAction, what: { categories: readonly string[]; approval?: string; detail?: AuditDetail }): AuditRecord;
  append(record: AuditRecord): void;
  /** Refuses names and text that hold a contact (they are kept for good: audit log, approvals). */
  checkFreeText(fields: readonly FreeTextField[]): void;
  tagOf(subject: string): Uint8Array;
  now(): number;
}

export class VaultApprovals {
  readonly #deps: VaultApprovalsDeps;

  /** @internal Created by the vault. */
  constructor(deps: VaultApprovalsDeps) {
    this.#deps = deps;
  }

  /**
   * Only an officer named in the policy may approve, revoke or list, acting in a role the policy
   * grants `approval` for the purpose given.
   */
  #officer(c: { actor: string; role: string; purpose: string }): AccessController {
    const controller = this.#deps.controller;
    if (controller === null) throw new VaultError('ACCESS_DENIED', 'no policy was given to openVault: approvals need one (default deny)');
    controller.decideManagement('approval', c.role, c.purpose);
    if (!controller.policy.officers.has(c.actor)) throw new VaultError('ACCESS_DENIED', `actor ${c.actor} is not a children's-PI protection officer of the policy`);
    return controller;
  }

  /** Creates an approval; the caller (ctx.actor) must be an officer, and not the actor approved. */
  async create(request: ApprovalRequest, ctx: AccessContext): Promise<ApprovalRecord> {
    return this.#deps.run(ctx, 'approval.create', async (c, attempt) => {
      const r = parseOrThrow(requestSchema, request, 'approval');
      attempt.categories = r.categories;
      const controller = this.#officer(c);
      // One actor, however spelt: never the officer, nor an id that looks like any officer's.
      const approved = actorSkeleton(r.actor);
      if (approved === actorSkeleton(c.actor) || [...controller.policy.officers].some((o) => actorSkeleton(o) === approved)) {
        throw new VaultError('ACCESS_DENIED', 'an officer cannot approve their own access, nor an actor id that looks like an officer\'s');
      }
      this.#deps.checkFreeText([
        { field: 'approval.actor', value: r.actor, kind: 'name' },
        { field: 'approval.reason', value: r.reason, kind: 'text' },
      ]);
      const purpose = controller.policy.purposes.get(r.purpose);
      if (purpose === undefined) throw new VaultError('VALIDATION', 'approval.purpose: not a purpose of the policy', { field: 'approval.purpose' });
      r.categories.forEach((cat, i) => {
        if (!purpose.categories.has(cat)) throw new VaultError('VALIDATION', `approval.categories[${i}]: purpose ${r.purpose} does not cover this category`, { field: `approval.categories[${i}]` });
      });
      const now = this.#deps.now();
      const expires = r.expiresAt.getTime();
      if (expires <= now || expires > now + MAX_APPROVAL_DAYS * DAY_MS) {
        throw new VaultError('VALIDATION', `approval.expiresAt: must be in the next ${MAX_APPROVAL_DAYS} days`, { field: 'approval.expiresAt' });
      }
      const row = {
        id: `apv_${idToUuid(newId(now))}`,
        officer: c.actor,
        actor: r.actor,
        purpose: r.purpose,
        categories: canonicalCategories(r.categories),
        reason: r.reason,
        createdAt: now,
        expiresAt: expires,
        readBudget: r.readBudget,
        readsUsed: 0,
        revokedAt: null,
      };
      await writeTransaction(this.#deps.db, 'creating an approval', () => {
        this.#deps.repo.insertApproval(row, r.subjects.map((s) => this.#deps.tagOf(s)));
        this.#deps.append(
          this.#deps.record(c, 'approval.create', { categories: r.categories, approval: row.id, detail: { actor: r.actor, subjects: r.subjects.length, readBudget: r.readBudget, purpose: r.purpose } }),
        );
      });
      return this.#toRecord(row, now);
    });
  }

  /** Revokes an approval at once. */
  async revoke(id: string, ctx: AccessContext): Promise<ApprovalRecord> {
    return this.#deps.run(ctx, 'approval.revoke', async (c) => {
      const approvalId = parseOrThrow(z.string().regex(APPROVAL_ID, safe('is not an approval id')), id, 'id');
      this.#officer(c);
      const now = this.#deps.now();
      return await writeTransaction(this.#deps.db, 'revoking an approval', () => {
        const row = this.#deps.repo.approval(approvalId);
        if (row === undefined) throw new VaultError('NOT_FOUND', `approval ${approvalId} does not exist`);
        if (row.revokedAt !== null) throw new VaultError('CONFLICT', `approval ${approvalId} was already revoked`);
        const revoked = { ...row, revokedAt: now };
        if (!this.#deps.repo.updateApproval(row, revoked)) throw new VaultError('CONFLICT', `approval ${approvalId} changed while it was being revoked; retry`);
        this.#deps.append(this.#deps.record(c, 'approval.revoke', { categories: splitCategories(row.categories), approval: approvalId }));
        return this.#toRecord(revoked, now);
      });
    });
  }

  /** Every approval with its state now. Officers only. */
  async list(ctx: AccessContext): Promise<ApprovalRecord[]> {
    return this.#deps.run(ctx, 'approval.list', async (c) => {
      this.#officer(c);
      const now = this.#deps.now();
      await writeTransaction(this.#deps.db, 'listing approvals', () => {
        this.#deps.append(this.#deps.record(c, 'approval.list', { categories: [] }));
      });
      return readTransaction(this.#deps.db, 'listing approvals', () => this.#deps.repo.approvals().map((row) => this.#toRecord(row, now)));
    });
  }

  #toRecord(row: ApprovalRow, now: number): ApprovalRecord {
    const state = row.revokedAt !== null ? 'revoked' : row.expiresAt <= now ? 'expired' : row.readsUsed >= row.readBudget ? 'spent' : 'active';
    return {
      id: row.id,
      officer: row.officer,
      actor: row.actor,
      purpose: row.purpose,
      categories: splitCategories(row.categories),
      reason: row.reason,
      createdAt: new Date(row.createdAt),
      expiresAt: new Date(row.expiresAt),
      readBudget: row.readBudget,
      readsUsed: row.readsUsed,
      revokedAt: row.revokedAt === null ? null : new Date(row.revokedAt),
      state,
    };
  }
}
