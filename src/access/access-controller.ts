/**
 * Access decisions. Every data operation is decided inside its own transaction, in a fixed order,
 * and the first step that fails refuses it with its own code (and an audited `denied` entry):
 *
 *   1. role grant        the role has a grant for (action, purpose)             ACCESS_DENIED
 *   2. purpose           the purpose covers every category asked for            PURPOSE_NOT_ALLOWED
 *   3. consent           an active guardian consent covers (purpose, category)  CONSENT_REQUIRED
 *   4. protections       no protective default forbids it (concealed location)  PROTECTION_ACTIVE
 *   5. approval          staff roles: a valid officer approval for this read    APPROVAL_REQUIRED
 *   6. read limit        the actor's reads in the last 60 minutes               RATE_LIMITED
 *
 * Step 3 is skipped for consent-exempt purposes; 5 and 6 apply to reads (get, export). A read of
 * categories in which the subject holds nothing skips 3–5 once 1 and 2 allow it: nothing flows,
 * and the caller can tell "nothing held" (a 404) from a refusal (a 403). It is still counted (6).
 * Management actions (erase, consent, status, audit, keys, retention) need only step 1 and go
 * through `decideManagement`: nothing may stand in the way of deleting a child's data or of
 * recording what the guardian decided.
 */
import { splitCategories } from '../audit/entry.js';
import { VaultError, type ErrorCode } from '../errors.js';
import type { AccessRepository, ApprovalRow, ConsentRow } from '../store/access-repository.js';
import { addReads, msUntilBelowLimit, readsInWindow, WINDOW_MINUTES } from './read-window.js';
import { PROTECTIONS, READ_ACTIONS, type DataAction, type ManagementAction, type Policy, type Protection, type ResolvedGrant, type View } from '../schema/policy.js';

/** The refusal codes, in decision order. */
export const ACCESS_CODES = ['ACCESS_DENIED', 'PURPOSE_NOT_ALLOWED', 'CONSENT_REQUIRED', 'PROTECTION_ACTIVE', 'APPROVAL_REQUIRED', 'RATE_LIMITED'] as const satisfies readonly ErrorCode[];
export type AccessCode = (typeof ACCESS_CODES)[number];

export function isAccessCode(code: string): code is AccessCode {
  return (ACCESS_CODES as readonly string[]).includes(code);
}

const MINUTE_MS = 60_000;

export interface AccessRequest {
  readonly action: DataAction;
  readonly actor: string;
  readonly role: string;
  readonly purpose: string;
  readonly approval?: string | undefined;
  readonly subjectTag: Uint8Array;
  readonly categories: readonly string[];
  readonly now: number;
  /** A read where the subject holds no live value in any category asked for. */
  readonly nothingHeld?: boolean;
}

export interface AccessDecision {
  /** The view served for each category asked for. */
  readonly views: ReadonlyMap<string, View>;
  /** The consents the operation relies on (empty for exempt purposes). */
  readonly consentIds: readonly string[];
  readonly approvalId: string | null;
}

function refuse(code: AccessCode, message: string): never {
  throw new VaultError(code, message);
}

function categoriesOf(row: { categories: string }): string[] {
  return splitCategories(row.categories);
}

export class AccessController {
  readonly #policy: Policy;
  readonly #repo: AccessRepository;
  /** Reads counted in memory but not yet written: actor → minute → reads. */
  readonly #pending = new Map<string, Map<number, number>>();
  /** What the last flush wrote, until the next decision (its transaction committed by then). */
  #unflushed: Map<string, Map<number, number>> | null = null;
  #lastFlush = 0;
  #flushes = 0;

  constructor(policy: Policy, repo: AccessRepository) {
    this.#policy = policy;
    this.#repo = repo;
  }

  get policy(): Policy {
    return this.#policy;
  }

  /**
   * Step 1 alone, for management actions (erase, consent, status, audit, keys, retention): the
   * role must hold a grant for (action, purpose). Data actions cannot take this path.
   */
  decideManagement(action: ManagementAction, role: string, purpose: string): void {
    this.#grant(action, role, purpose);
  }

  /**
   * Reading a child's protective defaults: any grant for the purpose. Every service that acts for
   * a purpose must be able to learn which defaults bind it; a role with no grant for it may not.
   */
  decideProtections(roleName: string, purpose: string): void {
    if (this.#policy.roles.get(roleName)?.grants.some((g) => g.purpose === purpose) !== true) {
      refuse('ACCESS_DENIED', `role ${roleName} has no grant for purpose ${purpose}`);
    }
  }

  #grant(action: DataAction | ManagementAction, roleName: string, purpose: string): { role: ReturnType<Policy['roles']['get']> & object; grant: ResolvedGrant } {
    const role = this.#policy.roles.get(roleName);
    const grant: ResolvedGrant | undefined = role?.grants.find((g) => g.purpose === purpose && g.actions.has(action));
    if (role === undefined || grant === undefined) refuse('ACCESS_DENIED', `role ${roleName} has no grant to ${action} for purpose ${purpose}`);
    return { role, grant };
  }

  /** Decides a data request inside the operation's transaction; on allow, counts the read and uses the approval. */
  decide(req: AccessRequest): AccessDecision {
    // A new decision: the previous flush's transaction committed, or onRollback ran. (Within one
    // getMany transaction this forgets an earlier flush; a rollback then undercounts at most one batch.)
    this.#unflushed = null;
    const p = this.#policy;
    // 1. role grant
    const { role, grant } = this.#grant(req.action, req.role, req.purpose);
    // 2. purpose covers the categories
    const purpose = p.purposes.get(req.purpose);
    if (purpose === undefined) refuse('PURPOSE_NOT_ALLOWED', `purpose ${req.purpose} is not declared in the policy`);
    const outside = req.categories.filter((c) => !purpose.categories.has(c));
    if (outside.length > 0) refuse('PURPOSE_NOT_ALLOWED', `purpose ${req.purpose} does not cover ${outside.join(', ')}`);
    const reading = READ_ACTIONS.includes(req.action);
    const views = new Map<string, View>();
    for (const category of req.categories) views.set(category, grant.views.get(category) ?? 'presence');
    if (reading && req.nothingHeld === true) {
      if (role.maxReadsPerHour !== null) this.#countRead(req, role.maxReadsPerHour);
      return { views, consentIds: [], approvalId: null };
    }
    const checksLocation = reading && purpose.displaysToOthers && req.categories.includes('location');
    // Read once, for both the consent step and the protection step.
    const allActive = purpose.consent === 'required' || checksLocation ? this.activeConsents(req.subjectTag, req.now) : [];
    // 3. consent
    let consentIds: string[] = [];
    if (purpose.consent === 'required') {
      const active = allActive.filter((c) => c.purpose === req.purpose);
      const uncovered = req.categories.filter((cat) => !active.some((c) => categoriesOf(c).includes(cat)));
      if (uncovered.length > 0) {
        const stale = this.#consents(req.subjectTag).some((c) => c.purpose === req.purpose && this.isLive(c, req.now) && this.isStale(c));
        refuse(
          'CONSENT_REQUIRED',
          stale
            ? `the guardian's consent for purpose ${req.purpose} was given under an older notice (now ${p.currentNotice}); ask the guardian again`
            : `no active guardian consent for purpose ${req.purpose} covers ${uncovered.join(', ')}`,
        );
      }
      consentIds = active.filter((c) => categoriesOf(c).some((cat) => req.categories.includes(cat))).map((c) => c.id);
    }
    // 4. protective defaults the vault can enforce itself
    if (checksLocation && this.#protectionsFrom(allActive).locationConcealed) {
      refuse('PROTECTION_ACTIVE', `the child's location is concealed: purpose ${req.purpose} shows data to others, and no guardian consent lifts the protection`);
    }
    if (!reading) return { views, consentIds, approvalId: null };
    // 5. officer approval for staff roles
    const approval = role.requiresApproval ? this.#checkApproval(req) : null;
    // 6. read limit
    if (role.maxReadsPerHour !== null) this.#countRead(req, role.maxReadsPerHour);
    if (approval !== null && !this.#repo.updateApproval(approval, { ...approval, readsUsed: approval.readsUsed + 1 })) {
      throw new VaultError('CONFLICT', `approval ${approval.id} changed while it was being used; retry`);
    }
    return { views, consentIds, approvalId: approval?.id ?? null };
  }

  /**
   * The sliding-hour read limit. Reads are counted in `read_counters` (shared by every process);
   * to spare most reads a second page write, this process batches up to 1% of the limit (never
   * more than it could overshoot by) and writes them at once, or after 10 s. Limits under 200 are
   * counted on every read.
   */
  #countRead(req: AccessRequest, limit: number): void {
    const minute = Math.floor(req.now / MINUTE_MS);
    const since = minute - WINDOW_MINUTES;
    const pending = this.#pending.get(req.actor) ?? new Map<number, number>();
    let mine = 0;
    for (const [m, n] of pending) if (m > since) mine += n;
    const counter = this.#repo.readCounter(req.actor);
    if (readsInWindow(counter, minute) + mine >= limit) {
      const retryAfterMs = msUntilBelowLimit(counter, pending, minute, limit, req.now);
      throw new VaultError('RATE_LIMITED', `actor ${req.actor} reached ${limit} reads in the last hour (role ${req.role}); this guards against bulk copying; retry in ${Math.ceil(retryAfterMs / 1000)} s`, { retryAfterMs });
    }
    pending.set(minute, (pending.get(minute) ?? 0) + 1);
    this.#pending.set(req.actor, pending);
    const batch = Math.max(1, Math.floor(limit / 100));
    if (mine + 1 >= batch || req.now - this.#lastFlush >= 10_000) this.#flushReads(minute, req.now);
  }

  #flushReads(minute: number, now: number): void {
    // Kept until the transaction commits: a rollback puts them back (see onRollback).
    this.#unflushed = new Map([...this.#pending].map(([actor, m]) => [actor, new Map(m)]));
    for (const [actor, minutes] of this.#pending) {
      let row = this.#repo.readCounter(actor);
      for (const [m, n] of minutes) row = addReads(row, actor, m, n, minute);
      if (row !== undefined) this.#repo.putReadCounter(row);
    }
    this.#pending.clear();
    this.#lastFlush = now;
    if (++this.#flushes >= 100) {
      this.#flushes = 0;
      this.#repo.pruneCounters(minute - 2 * WINDOW_MINUTES);
    }
  }

  /** The operation's transaction rolled back: reads flushed in it were not written after all. */
  onRollback(): void {
    if (this.#unflushed === null) return;
    for (const [actor, minutes] of this.#unflushed) {
      const pending = this.#pending.get(actor) ?? new Map<number, number>();
      for (const [m, n] of minutes) pending.set(m, (pending.get(m) ?? 0) + n);
      this.#pending.set(actor, pending);
    }
    this.#unflushed = null;
  }

  #checkApproval(req: AccessRequest): ApprovalRow {
    if (req.approval === undefined) refuse('APPROVAL_REQUIRED', `role ${req.role} reads only with an officer's approval: pass its id as ctx.approval`);
    const a: ApprovalRow | undefined = this.#repo.approval(req.approval);
    if (a === undefined) refuse('APPROVAL_REQUIRED', `approval ${req.approval} does not exist`);
    if (a.actor !== req.actor) refuse('APPROVAL_REQUIRED', `approval ${a.id} was given to another actor`);
    if (a.revokedAt !== null) refuse('APPROVAL_REQUIRED', `approval ${a.id} was revoked`);
    if (a.expiresAt <= req.now) refuse('APPROVAL_REQUIRED', `approval ${a.id} expired`);
    if (a.purpose !== req.purpose) refuse('APPROVAL_REQUIRED', `approval ${a.id} is for purpose ${a.purpose}, not ${req.purpose}`);
    const scope = categoriesOf(a);
    const outside = req.categories.filter((c) => !scope.includes(c));
    if (outside.length > 0) refuse('APPROVAL_REQUIRED', `approval ${a.id} does not cover ${outside.join(', ')}`);
    if (!this.#repo.approvalCovers(a.id, req.subjectTag)) refuse('APPROVAL_REQUIRED', `approval ${a.id} does not cover this subject`);
    if (a.readsUsed >= a.readBudget) refuse('APPROVAL_REQUIRED', `approval ${a.id} has used its budget of ${a.readBudget} reads`);
    return a;
  }

  #consents(subjectTag: Uint8Array): ConsentRow[] {
    return this.#repo.consents(subjectTag);
  }

  /** Not withdrawn and not expired (stale or not). */
  isLive(c: Pick<ConsentRow, 'withdrawnAt' | 'expiresAt'>, now: number): boolean {
    return c.withdrawnAt === null && (c.expiresAt === null || c.expiresAt > now);
  }

  /**
   * Stale: given under a notice version older than one that changed this purpose (or under a
   * version the policy does not list: fail closed). A guardian consents to what they were told.
   */
  isStale(c: Pick<ConsentRow, 'purpose' | 'noticeVersion'>): boolean {
    const given = this.#policy.noticeOrder.get(c.noticeVersion);
    if (given === undefined) return true;
    return this.#policy.notices.some((n, i) => i > given && n.changedPurposes.has(c.purpose));
  }

  /** Consents that count now: not withdrawn, not expired, not stale. */
  activeConsents(subjectTag: Uint8Array, now: number): ConsentRow[] {
    return this.#consents(subjectTag).filter((c) => this.isLive(c, now) && !this.isStale(c));
  }

  /**
   * The protective defaults, derived from consent records (never stored): each is on until an
   * active consent for the purpose the policy maps it to exists.
   */
  protections(subjectTag: Uint8Array, now: number): Record<Protection, boolean> {
    return this.#protectionsFrom(this.activeConsents(subjectTag, now));
  }

  #protectionsFrom(active: readonly ConsentRow[]): Record<Protection, boolean> {
    const consented = new Set(active.map((c) => c.purpose));
    const out = {} as Record<Protection, boolean>;
    for (const protection of PROTECTIONS) {
      const purpose = this.#policy.protections[protection];
      out[protection] = purpose === undefined || !consented.has(purpose);
    }
    return out;
  }

  /**
   * Categories whose values may stay after a consent change: those some active consent covers, or
   * that an exempt purpose with `retainsData` (a legal hold) covers.
   */
  retainedCategories(subjectTag: Uint8Array, now: number): Set<string> {
    const keep = new Set<string>();
    for (const c of this.activeConsents(subjectTag, now)) for (const cat of categoriesOf(c)) keep.add(cat);
    for (const purpose of this.#policy.purposes.values()) {
      if (purpose.consent === 'exempt' && purpose.retainsData) for (const cat of purpose.categories.keys()) keep.add(cat);
    }
    return keep;
  }
}
