/**
 * The access policy: purposes, roles and their grants, officers, retention, guardian notices and
 * the protective defaults. Loaded and validated once at open; every data operation is decided
 * against it, and anything it does not grant is refused (default deny). docs/policy.md explains
 * each field; docs/policy.example.json is a complete policy for a short-video platform.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { blake2b } from '../crypto/hash.js';
import { toHex } from '../format/ids.js';
import { VaultError } from '../errors.js';
import { approvalActorSchema } from './actor-ids.js';
import { categoryNameSchema, MAX_RETENTION_DAYS, type CategoryMap } from './categories.js';
import { formatIssues, safe } from './zod-errors.js';

/** What a grant lets a role see of a category, from most to least. */
export const VIEWS = ['full', 'masked', 'coarse', 'presence'] as const;
export type View = (typeof VIEWS)[number];
/** The category a restricted view applies to (`masked` hides contact details, `coarse` rounds locations). */
export const VIEW_APPLIES_TO: Partial<Record<View, string>> = { masked: 'contact', coarse: 'location' };

/** Narrowness rank: a grant never gets more than its purpose allows. */
export const VIEW_RANK: Record<View, number> = { presence: 0, coarse: 1, masked: 1, full: 2 };

/** Actions on a child's data, decided against purpose, consent, approvals and read limits. */
export const DATA_ACTIONS = ['put', 'get', 'export', 'import'] as const;
export type DataAction = (typeof DATA_ACTIONS)[number];
/** The data actions that are reads: served in a view, and through the protection, approval and read-limit steps. */
export const READ_ACTIONS: readonly DataAction[] = ['get', 'export'];
/**
 * Actions that need only a role grant: `erase` (nothing may stand in its way), `consent` (record or
 * withdraw consents for the grant's purpose), `approval` (an officer creating, revoking or listing
 * approvals — the actor must also be one of `officers`), and the operator's `status`, `audit` (export, verify,
 * report, checkpoints), `keys` (rotation, destruction), `retention` (sweeps) and `guard` (planting
 * canaries, scanning other stores).
 */
export const MANAGEMENT_ACTIONS = ['erase', 'consent', 'approval', 'status', 'audit', 'keys', 'retention', 'guard'] as const;
export type ManagementAction = (typeof MANAGEMENT_ACTIONS)[number];
export const POLICY_ACTIONS = [...DATA_ACTIONS, ...MANAGEMENT_ACTIONS] as const;
export type PolicyAction = (typeof POLICY_ACTIONS)[number];

/**
 * The protective defaults of the court case (nine), plus no algorithmic distribution of the
 * child's content and no personalised recommendation. Each stays on until a consent for the
 * purpose the policy maps it to is active.
 */
export const PROTECTIONS = [
  'strangersCannotFollow',
  'locationConcealed',
  'privateMessagesLimited',
  'noContactRecommendations',
  'noSearchByPhone',
  'acquaintanceCircleOff',
  'momentsHidden',
  'notRecommendedToFollowers',
  'noSameCityFeed',
  'noAlgorithmicDistribution',
  'noPersonalisedRecommendation',
] as const;
export type Protection = (typeof PROTECTIONS)[number];

const NAME = /^[a-z][a-z0-9._-]{0,63}$/;
const name = z.string().regex(NAME, safe('must be 1-64 characters of a-z 0-9 . _ - starting with a letter'));
const categoryName = categoryNameSchema;
const view = z.enum(VIEWS);
const text = z.string().min(1).max(500);

const purposeSchema = z.strictObject({
  description: text.optional(),
  /** Category → the view(s) this purpose may need; a grant picks one, by default the narrowest. */
  categories: z.record(categoryName, z.union([view, z.array(view).min(1)])),
  consent: z.enum(['required', 'exempt']),
  /** Why no consent is needed (exempt purposes only): a statute, a court order type. */
  legalBasis: text.optional(),
  /** Exempt purposes whose legal basis obliges keeping data even after consent is withdrawn. */
  retainsData: z.boolean().optional(),
  /** The personal-information impact assessment (PIPL art. 55-56) covering this purpose. */
  impactAssessment: text.optional(),
  /** The purpose shows data to other users: location reads are refused while it is concealed. */
  displaysToOthers: z.boolean().optional(),
});

const grantSchema = z.strictObject({
  purpose: name,
  actions: z.array(z.enum(POLICY_ACTIONS)).min(1),
  /** Per category, the view this grant gets (at most what the purpose allows). */
  views: z.record(categoryName, view).optional(),
});

const roleSchema = z.strictObject({
  description: text.optional(),
  grants: z.array(grantSchema).min(1),
  /** Staff roles: every read needs an officer's approval (ctx.approval). */
  requiresApproval: z.boolean().optional(),
  /** Reads (subjects read) per actor in any 60-minute window; protects against bulk copying. */
  maxReadsPerHour: z.number().int().min(1).max(10_000_000).optional(),
});

const noticeSchema = z.strictObject({
  version: z.string().min(1).max(64).regex(/^[\w.:-]+$/, safe('may hold letters, digits and . _ : - only')),
  /** Purposes whose notice text changed in this version: consents given under older notices go stale for them. */
  changedPurposes: z.array(name),
});

export const policySchema = z.strictObject({
  version: z.literal(1),
  purposes: z.record(name, purposeSchema),
  roles: z.record(name, roleSchema),
  /** The children's-PI protection officers: the only actors who may approve staff access. */
  officers: z.array(approvalActorSchema).min(1),
  /** Days each category is kept (may only shorten the category's own retention). */
  retention: z.record(categoryName, z.number().int().min(1).max(MAX_RETENTION_DAYS)).optional(),
  /** Degrees a `coarse` location is rounded to (0.1° ≈ 11 km). */
  coarsePrecisionDegrees: z.number().min(0.001).max(10).optional(),
  /** Guardian notices, oldest first; the last is current. */
  notices: z.array(noticeSchema).min(1),
  /** Protection → the purpose whose consent lifts it. A protection not listed can never be lifted. */
  protections: z.partialRecord(z.enum(PROTECTIONS), name).optional(),
});

export type PolicyInput = z.input<typeof policySchema>;

/** A validated policy, with lookups resolved. */
export interface Policy {
  readonly source: PolicyInput;
  readonly purposes: ReadonlyMap<string, ResolvedPurpose>;
  readonly roles: ReadonlyMap<string, ResolvedRole>;
  readonly officers: ReadonlySet<string>;
  /** Category → days, where the policy shortens a category's retention (a Map: names are user-chosen). */
  readonly retention: ReadonlyMap<string, number>;
  readonly coarsePrecisionDegrees: number;
  readonly currentNotice: string;
  /** Notice version → its position (0 = oldest). */
  readonly noticeOrder: ReadonlyMap<string, number>;
  readonly notices: readonly { readonly version: string; readonly changedPurposes: ReadonlySet<string> }[];
  readonly protections: Readonly<Partial<Record<Protection, string>>>;
}

export interface ResolvedPurpose {
  readonly name: string;
  /** Category → allowed views. */
  readonly categories: ReadonlyMap<string, readonly View[]>;
  readonly consent: 'required' | 'exempt';
  readonly legalBasis: string | null;
  readonly retainsData: boolean;
  readonly displaysToOthers: boolean;
}

export interface ResolvedGrant {
  readonly purpose: string;
  readonly actions: ReadonlySet<PolicyAction>;
  /** Category → the view served (explicit, or the narrowest the purpose allows). */
  readonly views: ReadonlyMap<string, View>;
}

export interface ResolvedRole {
  readonly name: string;
  readonly grants: readonly ResolvedGrant[];
  readonly requiresApproval: boolean;
  readonly maxReadsPerHour: number | null;
}

function fail(message: string, field: string): never {
  throw new VaultError('VALIDATION', `${field}: ${message}`, { field });
}

function narrowest(views: readonly View[]): View {
  return [...views].sort((a, b) => VIEW_RANK[a] - VIEW_RANK[b])[0] ?? 'presence';
}

/**
 * Validates a policy against the vault's categories; errors name the path (`policy.roles.moderator
 * .grants[0].purpose: …`). Cross-field rules: exempt purposes state a legal basis; every purpose
 * that touches data names its impact assessment; grants only name declared purposes, categories
 * and views no wider than the purpose allows; `masked` applies to contact and `coarse` to location.
 */
export function resolvePolicy(input: unknown, categories: CategoryMap, prefix = 'policy'): Policy {
  const parsed = policySchema.safeParse(input);
  if (!parsed.success) {
    const { message, field } = formatIssues(prefix, parsed.error.issues);
    throw new VaultError('VALIDATION', message, { field });
  }
  const p = parsed.data;
  const purposes = new Map<string, ResolvedPurpose>();
  for (const [purposeName, purpose] of Object.entries(p.purposes)) {
    const at = `${prefix}.purposes.${purposeName}`;
    if (purpose.consent === 'exempt' && purpose.legalBasis === undefined) fail('an exempt purpose must state its legalBasis', `${at}.legalBasis`);
    if (purpose.consent === 'required' && purpose.retainsData === true) fail('only exempt purposes may retain data against a withdrawal', `${at}.retainsData`);
    const cats = new Map<string, readonly View[]>();
    for (const [category, allowed] of Object.entries(purpose.categories)) {
      if (!Object.hasOwn(categories, category)) fail('unknown category', `${at}.categories.${category}`);
      const views = Array.isArray(allowed) ? allowed : [allowed];
      for (const v of views) {
        const only = VIEW_APPLIES_TO[v];
        if (only !== undefined && only !== category) fail(`the ${v} view applies to ${only} only`, `${at}.categories.${category}`);
      }
      cats.set(category, views);
    }
    // All minor data handled by the vault is sensitive personal information (PIPL art. 28).
    if (cats.size > 0 && purpose.impactAssessment === undefined) fail('a purpose on sensitive data must name its impactAssessment', `${at}.impactAssessment`);
    purposes.set(purposeName, {
      name: purposeName,
      categories: cats,
      consent: purpose.consent,
      legalBasis: purpose.legalBasis ?? null,
      retainsData: purpose.retainsData === true,
      displaysToOthers: purpose.displaysToOthers === true,
    });
  }
  const roles = new Map<string, ResolvedRole>();
  for (const [roleName, role] of Object.entries(p.roles)) {
    const grants = role.grants.map((grant, i): ResolvedGrant => {
      const at = `${prefix}.roles.${roleName}.grants[${i}]`;
      const purpose = purposes.get(grant.purpose) ?? fail('names a purpose the policy does not declare', `${at}.purpose`);
      const views = new Map<string, View>();
      for (const [category, allowed] of purpose.categories) views.set(category, narrowest(allowed));
      for (const [category, v] of Object.entries(grant.views ?? {})) {
        const allowed = purpose.categories.get(category) ?? fail(`the purpose ${grant.purpose} does not cover this category`, `${at}.views.${category}`);
        if (!allowed.includes(v)) fail(`the purpose ${grant.purpose} allows ${allowed.join(', ')} for ${category}`, `${at}.views.${category}`);
        views.set(category, v);
      }
      return { purpose: grant.purpose, actions: new Set(grant.actions), views };
    });
    roles.set(roleName, { name: roleName, grants, requiresApproval: role.requiresApproval === true, maxReadsPerHour: role.maxReadsPerHour ?? null });
  }
  const retention = new Map<string, number>();
  for (const [category, days] of Object.entries(p.retention ?? {})) {
    const def = (Object.hasOwn(categories, category) ? categories[category] : undefined) ?? fail('unknown category', `${prefix}.retention.${category}`);
    if (days > def.retentionDays) fail(`may only shorten the category's retention (${def.retentionDays} days)`, `${prefix}.retention.${category}`);
    retention.set(category, days);
  }
  const noticeOrder = new Map<string, number>();
  p.notices.forEach((n, i) => {
    if (noticeOrder.has(n.version)) fail('is listed twice', `${prefix}.notices[${i}].version`);
    noticeOrder.set(n.version, i);
    n.changedPurposes.forEach((c, j) => {
      if (!purposes.has(c)) fail('names a purpose the policy does not declare', `${prefix}.notices[${i}].changedPurposes[${j}]`);
    });
  });
  for (const [protection, purpose] of Object.entries(p.protections ?? {})) {
    if (!purposes.has(purpose)) fail('names a purpose the policy does not declare', `${prefix}.protections.${protection}`);
  }
  return {
    source: input as PolicyInput,
    purposes,
    roles,
    officers: new Set(p.officers),
    retention,
    coarsePrecisionDegrees: p.coarsePrecisionDegrees ?? 0.1,
    currentNotice: p.notices[p.notices.length - 1]?.version ?? '',
    noticeOrder,
    notices: p.notices.map((n) => ({ version: n.version, changedPurposes: new Set(n.changedPurposes) })),
    protections: p.protections ?? {},
  };
}

/** Reads and validates a policy file; errors name the file and the path inside it. */
export function loadPolicyFile(path: string, categories: CategoryMap): Policy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new VaultError('NOT_FOUND', `policy file ${path} cannot be read`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new VaultError('VALIDATION', `policy file ${path} is not valid JSON`, { field: 'policy' });
  }
  try {
    return resolvePolicy(json, categories, 'policy');
  } catch (error) {
    if (error instanceof VaultError) throw new VaultError(error.code, `policy file ${path}: ${error.message}`, error.field === undefined ? {} : { field: error.field });
    throw error;
  }
}

/** Orders strings by Unicode code point (`sort()` alone compares UTF-16 units, which differs for astral characters). */
function compareCodePoints(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.codePointAt(i) ?? 0;
    const cb = b.codePointAt(j) ?? 0;
    if (ca !== cb) return ca - cb;
    i += ca > 0xffff ? 2 : 1;
    j += cb > 0xffff ? 2 : 1;
  }
  return a.length - i - (b.length - j);
}

/**
 * JSON with every object's keys sorted by code point, recursively, and no whitespace: the same
 * data gives the same text whatever order its keys were written in. Omits what JSON.stringify
 * omits (undefined and function members; null in arrays).
 */
function canonicalJson(value: unknown): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((item: unknown) => (item === undefined || typeof item === 'function' ? 'null' : canonicalJson(item))).join(',')}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record)
    .filter((key) => record[key] !== undefined && typeof record[key] !== 'function')
    .sort(compareCodePoints);
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(',')}}`;
}

/**
 * A short digest of a policy, recorded when the vault opens (which policy decided what): the
 * first 16 hex digits of BLAKE2b-256 of its canonical JSON (keys sorted by code point,
 * recursively), so the same policy written in another key order has the same digest.
 */
export function policyDigest(policy: Policy): string {
  return toHex(blake2b(new TextEncoder().encode(canonicalJson(policy.source)))).slice(0, 16);
}
