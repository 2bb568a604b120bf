/**
 * `vault.consent`: guardian consents. A consent is for one purpose and named categories
 * (granular — consent for location under P1 covers neither face under P1 nor location under P2),
 * records who consented and how they were verified, the notice they saw, and may expire.
 * Withdrawal takes effect on the next call and, in the same transaction, erases the values no
 * remaining consent or legal hold covers.
 */
import { z } from 'zod';
import { canonicalCategories, idList, splitCategories, type AuditAction, type AuditDetail, type AuditRecord } from '../audit/entry.js';
import { VaultError } from '../errors.js';
import { newId } from '../crypto/random.js';
import { idToUuid } from '../format/ids.js';
import type { AccessContext } from '../schema/access-context.js';
import { categoryNameSchema } from '../schema/categories.js';
import { subjectIdSchema } from '../schema/subject.js';
import { parseOrThrow, safe } from '../schema/zod-errors.js';
import type { AccessRepository, ConsentRow } from '../store/access-repository.js';
import { truncateWal, writeTransaction, type SqliteDatabase } from '../store/database.js';
import type { AccessController } from './access-controller.js';

export interface ConsentGrant {
  readonly purpose: string;
  /** The categories consented to (a subset of what the purpose covers; [] for purposes without data). */
  readonly categories: readonly string[];
  /** The service's opaque reference to the guardian (not a name, phone or e-mail). */
  readonly guardianRef: string;
  /** How the guardian was verified (e.g. `sms-code`, `id-document`, `face-match`). */
  readonly verification: string;
  /** The notice version the guardian was shown (must be one the policy lists). */
  readonly noticeVersion: string;
  /** When the consent lapses (optional). */
  readonly expiresAt?: Date;
}

export interface ConsentRecord {
  readonly id: string;
  readonly purpose: string;
  readonly categories: readonly string[];
  readonly guardianRef: string;
  readonly verification: string;
  readonly noticeVersion: string;
  readonly grantedAt: Date;
  readonly expiresAt: Date | null;
  readonly withdrawnAt: Date | null;
  /** `active`, or why it no longer counts. */
  readonly state: 'active' | 'withdrawn' | 'expired' | 'stale';
}

export interface WithdrawalReceipt {
  readonly withdrawn: readonly string[];
  /** Categories whose values were erased because nothing covers them any more. */
  readonly erased: readonly string[];
  /** True when the write-ahead log was truncated after the erasure. */
  readonly walCleared: boolean;
}

const opaque = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,128}$/, safe('must be 1-128 characters of A-Z a-z 0-9 . _ : -'))
  .refine((s) => !/^\+?\d[\d.:-]{6,}$/.test(s), safe('looks like a phone number; use an opaque reference'));

const grantSchema = z.strictObject({
  purpose: z.string().min(1).max(64),
  categories: z.array(categoryNameSchema).max(32),
  guardianRef: opaque,
  verification: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, safe('must be a lower-case method name such as sms-code')),
  noticeVersion: z.string().min(1).max(64),
  expiresAt: z.date().optional(),
});

const CONSENT_ID = /^cns_[0-9a-f-]{36}$/;

export interface VaultConsentsDeps {
  readonly db: SqliteDatabase;
  readonly repo: AccessRepository;
  /** Null when the vault was opened without a policy. */
  readonly controller: AccessController | null;
  run<T>(ctx: AccessContext, action: AuditAction, fn: (c: { actor: string; role: string; purpose: string }, attempt: { tag: Uint8Array | null; categories: readonly string[] }) => Promise<T>): Promise<T>;
  record(c: { actor: string; role: string; purpose: string }, action: AuditAction, what: { tag: Uint8Array; categories: readonly string[]; consent?: string; detail?: AuditDetail }): AuditRecord;
  append(record: AuditRecord): void;
  /** Inside a transaction: erases those categories of the subject; returns what was erased. */
  eraseCategories(tag: Uint8Array, categories: readonly string[]): string[];
  tagOf(subject: string): Uint8Array;
  now(): number;
}

/** True when `a` and `b` record the same grant: everything but the id and the time of granting. */
function sameGrant(a: ConsentRow, b: ConsentRow): boolean {
  return a.purpose === b.purpose && a.categories === b.categories && a.guardianRef === b.guardianRef && a.verification === b.verification && a.noticeVersion === b.noticeVersion && a.expiresAt === b.expiresAt;
}

export class VaultConsents {
  readonly #deps: VaultConsentsDeps;

  /** @internal Created by the vault. */
  constructor(deps: VaultConsentsDeps) {
    this.#deps = deps;
  }

  #controller(): AccessController {
    const c = this.#deps.controller;
    if (c === null) throw new VaultError('ACCESS_DENIED', 'no policy was given to openVault: consents need one (default deny)');
    return c;
  }

  /** Records a guardian's consent; returns its id. */
  async grant(subject: string, grant: ConsentGrant, ctx: AccessContext): Promise<ConsentRecord> {
    return this.#deps.run(ctx, 'consent.grant', async (c, attempt) => {
      const id = parseOrThrow(subjectIdSchema, subject, 'subject');
      const tag = this.#deps.tagOf(id);
      attempt.tag = tag;
      const g = parseOrThrow(grantSchema, grant, 'consent');
      attempt.categories = g.categories;
      const controller = this.#controller();
      const policy = controller.policy;
      const purpose = policy.purposes.get(g.purpose);
      if (purpose === undefined) throw new VaultError('VALIDATION', 'consent.purpose: not a purpose of the policy', { field: 'consent.purpose' });
      if (purpose.consent === 'exempt') throw new VaultError('VALIDATION', `consent.purpose: purpose ${g.purpose} does not rest on consent (it is exempt)`, { field: 'consent.purpose' });
      g.categories.forEach((cat, i) => {
        if (!purpose.categories.has(cat)) throw new VaultError('VALIDATION', `consent.categories[${i}]: purpose ${g.purpose} does not cover this category`, { field: `consent.categories[${i}]` });
      });
      if (purpose.categories.size > 0 && g.categories.length === 0) {
        // A consent to nothing would still lift the purpose's protective defaults.
        throw new VaultError('VALIDATION', `consent.categories: purpose ${g.purpose} needs the categories consented to`, { field: 'consent.categories' });
      }
      if (!policy.noticeOrder.has(g.noticeVersion)) {
        const versions = [...policy.noticeOrder.keys()].join(', ');
        throw new VaultError('VALIDATION', `consent.noticeVersion: not a notice version of the policy (it has ${versions}; the current one is ${policy.currentNotice})`, { field: 'consent.noticeVersion' });
      }
      if (controller.isStale({ purpose: g.purpose, noticeVersion: g.noticeVersion })) {
        throw new VaultError('VALIDATION', `consent.noticeVersion: the notice for purpose ${g.purpose} changed after this version; show the guardian the current notice (${policy.currentNotice})`, { field: 'consent.noticeVersion' });
      }
      const now = this.#deps.now();
      if (g.expiresAt !== undefined && g.expiresAt.getTime() <= now) throw new VaultError('VALIDATION', 'consent.expiresAt: must be in the future', { field: 'consent.expiresAt' });
      const row: ConsentRow = {
        id: `cns_${idToUuid(newId(now))}`,
        subjectTag: tag,
        purpose: g.purpose,
        categories: canonicalCategories(g.categories),
        guardianRef: g.guardianRef,
        verification: g.verification,
        noticeVersion: g.noticeVersion,
        grantedAt: now,
        expiresAt: g.expiresAt?.getTime() ?? null,
        withdrawnAt: null,
      };
      const stored = await writeTransaction(this.#deps.db, 'recording a consent', () => {
        controller.decideManagement('consent', c.role, g.purpose);
        // The same grant again (a retried request, a double click) is the consent already held,
        // not a second one: it is recorded, and answered with the first one's id.
        const same = this.#deps.repo.consents(tag).find((held) => controller.isLive(held, now) && sameGrant(held, row));
        if (same === undefined) this.#deps.repo.insertConsent(row);
        const detail = { purpose: g.purpose, notice: g.noticeVersion, verification: g.verification, ...(same === undefined ? {} : { repeated: true }) };
        this.#deps.append(this.#deps.record(c, 'consent.grant', { tag, categories: g.categories, consent: (same ?? row).id, detail }));
        return same ?? row;
      });
      return consentRecord(stored, controller, now);
    });
  }

  /**
   * Withdraws consents of a subject — one by id, or all for a purpose — and, in the same
   * transaction, erases every category no remaining consent or legal hold covers.
   */
  async withdraw(subject: string, which: { readonly id: string } | { readonly purpose: string }, ctx: AccessContext): Promise<WithdrawalReceipt> {
    return this.#deps.run(ctx, 'consent.withdraw', async (c, attempt) => {
      const id = parseOrThrow(subjectIdSchema, subject, 'subject');
      const tag = this.#deps.tagOf(id);
      attempt.tag = tag;
      const w = parseOrThrow(z.union([z.strictObject({ id: z.string().regex(CONSENT_ID, safe('is not a consent id')) }), z.strictObject({ purpose: z.string().min(1).max(64) })]), which, 'which');
      const controller = this.#controller();
      const now = this.#deps.now();
      const receipt = await writeTransaction(this.#deps.db, 'withdrawing a consent', () => {
        const targets = this.#deps.repo.consents(tag).filter((row) => row.withdrawnAt === null && ('id' in w ? row.id === w.id : row.purpose === w.purpose));
        if (targets.length === 0) throw new VaultError('NOT_FOUND', 'no active consent of this subject matches');
        for (const purpose of new Set(targets.map((t) => t.purpose))) controller.decideManagement('consent', c.role, purpose);
        for (const t of targets) {
          if (!this.#deps.repo.withdraw(t, now)) throw new VaultError('CONFLICT', `consent ${t.id} changed while it was being withdrawn; retry`);
        }
        const keep = controller.retainedCategories(tag, now);
        const held = new Set(targets.flatMap((t) => splitCategories(t.categories)));
        const erased = this.#deps.eraseCategories(tag, [...held].filter((cat) => !keep.has(cat)));
        attempt.categories = [...held];
        const ids = idList(targets.map((t) => t.id));
        this.#deps.append(
          this.#deps.record(c, 'consent.withdraw', {
            tag,
            categories: [...held],
            ...(ids === null ? {} : { consent: ids }),
            detail: { erased: erased.join(','), withdrawn: targets.length },
          }),
        );
        return { withdrawn: targets.map((t) => t.id), erased };
      });
      return { ...receipt, walCleared: receipt.erased.length > 0 && truncateWal(this.#deps.db) };
    });
  }

  /** The subject's consent records, with their state now. */
  async list(subject: string, ctx: AccessContext): Promise<ConsentRecord[]> {
    return this.#deps.run(ctx, 'consent.list', async (c, attempt) => {
      const id = parseOrThrow(subjectIdSchema, subject, 'subject');
      const tag = this.#deps.tagOf(id);
      attempt.tag = tag;
      const controller = this.#controller();
      const now = this.#deps.now();
      return await writeTransaction(this.#deps.db, 'listing consents', () => {
        controller.decideManagement('consent', c.role, c.purpose);
        this.#deps.append(this.#deps.record(c, 'consent.list', { tag, categories: [] }));
        return this.#deps.repo.consents(tag).map((row) => consentRecord(row, controller, now));
      });
    });
  }
}

/** A stored consent with its state at `now`. */
export function consentRecord(row: ConsentRow, controller: AccessController, now: number): ConsentRecord {
  const state = row.withdrawnAt !== null ? 'withdrawn' : row.expiresAt !== null && row.expiresAt <= now ? 'expired' : controller.isStale(row) ? 'stale' : 'active';
  return {
    id: row.id,
    purpose: row.purpose,
    categories: splitCategories(row.categories),
    guardianRef: row.guardianRef,
    verification: row.verification,
    noticeVersion: row.noticeVersion,
    grantedAt: new Date(row.grantedAt),
    expiresAt: row.expiresAt === null ? null : new Date(row.expiresAt),
    withdrawnAt: row.withdrawnAt === null ? null : new Date(row.withdrawnAt),
    state,
  };
}
