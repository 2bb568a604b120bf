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
 * Step 3 is skipped for consent-exempt purposes; 5 and 6 apply to reads (get, export). Erasure
 * and consent management need only step 1: nothing may stand in the way of deleting a child's
 * data or of recording what the guardian decided.
 */
import { VaultError, type ErrorCode } from '../errors.js';
import type { AccessRepository, ApprovalRow, ConsentRow } from '../store/access-repository.js';
import { PROTECTIONS, type Policy, type PolicyAction, type Protection, type ResolvedGrant, type View } from '../schema/policy.js';

/** The refusal codes, in decision order. */
export const ACCESS_CODES = ['ACCESS_DENIED', 'PURPOSE_NOT_ALLOWED', 'CONSENT_REQUIRED', 'PROTECTION_ACTIVE', 'APPROVAL_REQUIRED', 'RATE_LIMITED'] as const satisfies readonly ErrorCode[];
export type AccessCode = (typeof ACCESS_CODES)[number];

export function isAccessCode(code: string): code is AccessCode {
  return (ACCESS_CODES as readonly string[]).includes(code);
}

const MINUTE_MS = 60_000;
const WINDOW_MINUTES = 60;

export interface AccessRequest {
  readonly action: PolicyAction;
  readonly actor: string;
  readonly role: string;
  readonly purpose: string;
  readonly approval?: string | undefined;
  readonly subjectTag: Uint8Array;
  readonly categories: readonly string[];
  readonly now: number;
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
  return row.categories === '' ? [] : row.categories.split(',');
}

export class AccessController {
  readonly #policy: Policy;
  readonly #repo: AccessRepository;
  #readsSincePrune = 0;

  constructor(policy: Policy, repo: AccessRepository) {
    this.#policy = policy;
    this.#repo = repo;
  }

  get policy(): Policy {
    return this.#policy;
  }

  /** Decides a request inside the operation's transaction; on allow, counts the read and uses the approval. */
  decide(req: AccessRequest): AccessDecision {
    const p = this.#policy;
    // 1. role grant
    const role = p.roles.get(req.role);
    const grant: ResolvedGrant | undefined = role?.grants.find((g) => g.purpose === req.purpose && g.actions.has(req.action));
    if (role === undefined || grant === undefined) {
      refuse('ACCESS_DENIED', `role ${req.role} has no grant to ${req.action} for purpose ${req.purpose}`);
    }
    if (req.action === 'erase' || req.action === 'consent') return { views: new Map(), consentIds: [], approvalId: null };
    // 2. purpose covers the categories
    const purpose = p.purposes.get(req.purpose);
    if (purpose === undefined) refuse('PURPOSE_NOT_ALLOWED', `purpose ${req.purpose} is not declared in the policy`);
    const outside = req.categories.filter((c) => !purpose.categories.has(c));
    if (outside.length > 0) refuse('PURPOSE_NOT_ALLOWED', `purpose ${req.purpose} does not cover ${outside.join(', ')}`);
    // 3. consent
    let consentIds: string[] = [];
    if (purpose.consent === 'required') {
      const active = this.activeConsents(req.subjectTag, req.now).filter((c) => c.purpose === req.purpose);
      const uncovered = req.categories.filter((cat) => !active.some((c) => categoriesOf(c).includes(cat)));
      if (uncovered.length > 0) {
        const stale = this.#consents(req.subjectTag).some((c) => c.purpose === req.purpose && this.#live(c, req.now) && this.isStale(c));
        refuse(
          'CONSENT_REQUIRED',
          stale
            ? `the guardian's consent for purpose ${req.purpose} was given under an older notice (now ${p.currentNotice}); ask the guardian again`
            : `no active guardian consent for purpose ${req.purpose} covers ${uncovered.join(', ')}`,
        );
      }
      consentIds = active.filter((c) => categoriesOf(c).some((cat) => req.categories.includes(cat))).map((c) => c.id);
    }
    const reading = req.action === 'get' || req.action === 'export';
    // 4. protective defaults the vault can enforce itself
    if (reading && purpose.displaysToOthers && req.categories.includes('location') && this.protections(req.subjectTag, req.now).locationConcealed) {
      refuse('PROTECTION_ACTIVE', `the child's location is concealed: purpose ${req.purpose} shows data to others, and no guardian consent lifts the protection`);
    }
    const views = new Map<string, View>();
    for (const category of req.categories) views.set(category, grant.views.get(category) ?? 'presence');
    if (!reading) return { views, consentIds, approvalId: null };
    // 5. officer approval for staff roles
    let approvalId: string | null = null;
    if (role.requiresApproval) {
      approvalId = this.#checkApproval(req);
    }
    // 6. read limit
    if (role.maxReadsPerHour !== null) {
      const minute = Math.floor(req.now / MINUTE_MS);
      const reads = this.#repo.readsSince(req.actor, minute - WINDOW_MINUTES);
      if (reads >= role.maxReadsPerHour) {
        refuse('RATE_LIMITED', `actor ${req.actor} reached ${role.maxReadsPerHour} reads in the last hour (role ${req.role}); this guards against bulk copying`);
      }
      this.#repo.countRead(req.actor, minute, 1);
      if (++this.#readsSincePrune >= 1000) {
        this.#readsSincePrune = 0;
        this.#repo.pruneCounters(minute - 2 * WINDOW_MINUTES);
      }
    }
    if (approvalId !== null) this.#repo.useApproval(approvalId);
    return { views, consentIds, approvalId };
  }

  #checkApproval(req: AccessRequest): string {
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
    return a.id;
  }

  #consents(subjectTag: Uint8Array): ConsentRow[] {
    return this.#repo.consents(subjectTag);
  }

  #live(c: ConsentRow, now: number): boolean {
    return c.withdrawnAt === null && (c.expiresAt === null || c.expiresAt > now);
  }

  /**
   * Stale: given under a notice version older than one that changed this purpose (or under a
   * version the policy does not list: fail closed). A guardian consents to what they were told.
   */
  isStale(c: ConsentRow): boolean {
    const given = this.#policy.noticeOrder.get(c.noticeVersion);
    if (given === undefined) return true;
    return this.#policy.notices.some((n, i) => i > given && n.changedPurposes.has(c.purpose));
  }

  /** Consents that count now: not withdrawn, not expired, not stale. */
  activeConsents(subjectTag: Uint8Array, now: number): ConsentRow[] {
    return this.#consents(subjectTag).filter((c) => this.#live(c, now) && !this.isStale(c));
  }

  /**
   * The protective defaults, derived from consent records (never stored): each is on until an
   * active consent for the purpose the policy maps it to exists.
   */
  protections(subjectTag: Uint8Array, now: number): Record<Protection, boolean> {
    const consented = new Set(this.activeConsents(subjectTag, now).map((c) => c.purpose));
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
