/**
 * What a validated policy lets each role do (`childvault policy check`), read from the resolved
 * policy the access controller decides on: the grant's actions, the view each category is served
 * in (explicit, or the narrowest its purpose allows, as `resolvePolicy` fixed it), and which of
 * the controller's decision steps each action passes through. Nothing here decides anything;
 * test/unit/access/policy-summary.test.ts checks the summary against a vault's real decisions.
 *
 * @example
 *   const review = await reviewPolicyFile('policy.json');
 *   review.roles.find((r) => r.role === 'moderator')?.grants[0]?.steps.get; // ['purpose', 'approval', 'read-limit']
 */
import { loadSodium } from '../crypto/sodium.js';
import { resolveCategories, type CategoryMap } from '../schema/categories.js';
import { DATA_ACTIONS, loadPolicyFile, POLICY_ACTIONS, policyDigest, PROTECTIONS, READ_ACTIONS, type Policy, type PolicyAction, type Protection, type ResolvedGrant, type View } from '../schema/policy.js';

/**
 * The decision steps after the role grant (docs/policy.md, "The decision"), each with the code it
 * refuses with: `purpose` PURPOSE_NOT_ALLOWED, `consent` CONSENT_REQUIRED, `protections`
 * PROTECTION_ACTIVE, `approval` APPROVAL_REQUIRED, `read-limit` RATE_LIMITED.
 */
export type DecisionStep = 'purpose' | 'consent' | 'protections' | 'approval' | 'read-limit';


export interface CategoryView {
  readonly category: string;
  readonly view: View;
}

export interface GrantSummary {
  readonly purpose: string;
  /** In the order of POLICY_ACTIONS. */
  readonly actions: readonly PolicyAction[];
  /** The categories the purpose covers, each with the view a read (get, export) is served in. */
  readonly views: readonly CategoryView[];
  /** The purpose's consent rule. */
  readonly consent: 'required' | 'exempt';
  /**
   * Per granted action, the decision steps it passes after the role grant, in order. Empty for
   * management actions (erase, consent, approval, status, …): the grant alone decides them.
   */
  readonly steps: Readonly<Partial<Record<PolicyAction, readonly DecisionStep[]>>>;
}

export interface RoleSummary {
  readonly role: string;
  readonly description: string | null;
  /** Every read needs an officer's approval. */
  readonly requiresApproval: boolean;
  /** Reads per actor in any 60 minutes; null: no limit. */
  readonly maxReadsPerHour: number | null;
  readonly grants: readonly GrantSummary[];
}

export interface PurposeSummary {
  readonly purpose: string;
  readonly description: string | null;
  readonly consent: 'required' | 'exempt';
  readonly legalBasis: string | null;
  readonly impactAssessment: string | null;
  /** The category and every view the purpose allows for it. */
  readonly categories: readonly { readonly category: string; readonly views: readonly View[] }[];
  readonly retainsData: boolean;
  readonly displaysToOthers: boolean;
  /** Roles with a grant for this purpose. */
  readonly grantedTo: readonly string[];
}

export interface CategorySummary {
  readonly category: string;
  /** Days a value is kept: the policy's `retention`, else the category's own. */
  readonly retentionDays: number;
  readonly shortenedByPolicy: boolean;
}

export interface PolicySummary {
  readonly currentNotice: string;
  readonly roles: readonly RoleSummary[];
  readonly purposes: readonly PurposeSummary[];
  readonly categories: readonly CategorySummary[];
  readonly coarsePrecisionDegrees: number;
  readonly officers: readonly string[];
  readonly notices: readonly { readonly version: string; readonly changedPurposes: readonly string[] }[];
  /** Every protective default and the purpose whose consent lifts it (null: it is never lifted). */
  readonly protections: readonly { readonly protection: Protection; readonly liftedBy: string | null }[];
}

/** Free-text fields the resolved policy does not keep, from the validated source. */
function sourceText(record: Readonly<Record<string, { readonly description?: string | undefined; readonly impactAssessment?: string | undefined } | undefined>>, key: string, field: 'description' | 'impactAssessment'): string | null {
  return Object.hasOwn(record, key) ? (record[key]?.[field] ?? null) : null;
}

function stepsFor(action: PolicyAction, grant: ResolvedGrant, policy: Policy, role: { requiresApproval: boolean; maxReadsPerHour: number | null }): DecisionStep[] {
  if (!(DATA_ACTIONS as readonly string[]).includes(action)) return [];
  const purpose = policy.purposes.get(grant.purpose);
  const steps: DecisionStep[] = ['purpose'];
  if (purpose?.consent === 'required') steps.push('consent');
  if (!(READ_ACTIONS as readonly PolicyAction[]).includes(action)) return steps;
  // Only reads of location under a purpose that shows data to others meet a protection.
  if (purpose?.displaysToOthers === true && purpose.categories.has('location')) steps.push('protections');
  if (role.requiresApproval) steps.push('approval');
  if (role.maxReadsPerHour !== null) steps.push('read-limit');
  return steps;
}

/** Describes a policy that `resolvePolicy`/`loadPolicyFile` accepted, against the vault's categories. */
export function describePolicy(policy: Policy, categories: CategoryMap): PolicySummary {
  const roles = [...policy.roles.values()].map((role): RoleSummary => ({
    role: role.name,
    description: sourceText(policy.source.roles, role.name, 'description'),
    requiresApproval: role.requiresApproval,
    maxReadsPerHour: role.maxReadsPerHour,
    grants: role.grants.map((grant): GrantSummary => {
      const actions = POLICY_ACTIONS.filter((a) => grant.actions.has(a));
      return {
        purpose: grant.purpose,
        actions,
        views: [...grant.views].map(([category, view]) => ({ category, view })),
        consent: policy.purposes.get(grant.purpose)?.consent ?? 'required',
        steps: Object.fromEntries(actions.map((a) => [a, stepsFor(a, grant, policy, role)])),
      };
    }),
  }));
  const purposes = [...policy.purposes.values()].map((p): PurposeSummary => ({
    purpose: p.name,
    description: sourceText(policy.source.purposes, p.name, 'description'),
    consent: p.consent,
    legalBasis: p.legalBasis,
    impactAssessment: sourceText(policy.source.purposes, p.name, 'impactAssessment'),
    categories: [...p.categories].map(([category, views]) => ({ category, views })),
    retainsData: p.retainsData,
    displaysToOthers: p.displaysToOthers,
    grantedTo: roles.filter((r) => r.grants.some((g) => g.purpose === p.name)).map((r) => r.role),
  }));
  return {
    currentNotice: policy.currentNotice,
    roles,
    purposes,
    categories: Object.entries(categories).map(([category, def]) => {
      const days = policy.retention.get(category);
      return { category, retentionDays: days ?? def.retentionDays, shortenedByPolicy: days !== undefined && days < def.retentionDays };
    }),
    coarsePrecisionDegrees: policy.coarsePrecisionDegrees,
    officers: [...policy.officers],
    notices: policy.notices.map((n) => ({ version: n.version, changedPurposes: [...n.changedPurposes] })),
    protections: PROTECTIONS.map((protection) => ({ protection, liftedBy: policy.protections[protection] ?? null })),
  };
}

/** A policy file as the vault would load it: what each role may do, and the digest of the policy. */
export interface PolicyReview extends PolicySummary {
  /** The digest the audit log records when a vault opens under this policy (`detail.policy`). */
  readonly digest: string;
}

/**
 * Loads a policy file with the loader `openVault` uses — refused with the same VALIDATION error,
 * naming the field — against the built-in categories and `categories` (the `categories` option
 * the vault is opened with), and describes it. No vault or key is needed.
 */
export async function reviewPolicyFile(path: string, categories?: CategoryMap): Promise<PolicyReview> {
  const resolved = resolveCategories(categories);
  const policy = loadPolicyFile(path, resolved);
  await loadSodium();
  return { digest: policyDigest(policy), ...describePolicy(policy, resolved) };
}
