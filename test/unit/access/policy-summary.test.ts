/**
 * The policy summary (`childvault policy check`) states what the access controller decides: for
 * the example policy, every (role, purpose, action) it calls granted or not, each step it lists
 * and each view it names is checked against a real vault's decisions.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describePolicy, type GrantSummary } from '../../../src/access/policy-summary.js';
import { generateKeyFile, isVaultError, openVault, type AccessContext, type Sensitive, type Vault } from '../../../src/index.js';
import { resolveCategories } from '../../../src/schema/categories.js';
import { loadPolicyFile, READ_ACTIONS, resolvePolicy, type PolicyAction, type PolicyInput } from '../../../src/schema/policy.js';
import { tempDir } from '../../helpers/fixtures.js';
import { EXAMPLE_POLICY_PATH, testPolicy } from '../../helpers/policy.js';

const categories = resolveCategories(undefined);
const summary = describePolicy(loadPolicyFile(EXAMPLE_POLICY_PATH, categories), categories);
/** The built-in categories, which the CLI's vaults (and the example policy) use. */
type BuiltIn = 'face' | 'voice' | 'location' | 'contact';
const NOW = new Date('2026-11-10T00:00:00Z');
const SUBJECT = 'u:kid';
const VALUES: Record<string, unknown> = {
  face: { embedding: [0.5] },
  voice: { voiceprint: [0.25] },
  location: { lat: 30.27412, lon: 120.15519, accuracyM: 8, capturedAt: '2026-11-01T08:00:00Z' },
  contact: { phone: '+8613800138000', email: 'parent@example.com', address: 'No. 1 Test Road, Xihu District, Hangzhou' },
};
/** The refusal each step answers with (docs/policy.md, "The decision"). */
const REFUSAL = { consent: 'CONSENT_REQUIRED', protections: 'PROTECTION_ACTIVE', approval: 'APPROVAL_REQUIRED' } as const;

async function outcome(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'allowed';
  } catch (error) {
    if (isVaultError(error)) return error.code;
    throw error;
  }
}

async function exampleVault(): Promise<Vault> {
  const dir = tempDir();
  const vault = await openVault({ create: true, path: join(dir, 'pool.db'), masterKey: await generateKeyFile(join(dir, 'k')), policy: EXAMPLE_POLICY_PATH, now: () => NOW, durability: 'normal' });
  await vault.put(SUBJECT, VALUES, { actor: 'cli:op', role: 'operator', purpose: 'legacy-import' });
  return vault;
}

/** With no consent and no approval, the first step the summary lists that can refuse such a subject. */
function expectedWithoutConsentOrApproval(grant: GrantSummary, action: 'get' | 'put'): string {
  for (const step of grant.steps[action] ?? []) if (step !== 'purpose' && step !== 'read-limit') return REFUSAL[step];
  return 'allowed';
}

describe('describePolicy on the example policy', () => {
  it('calls granted exactly what the vault allows past the role grant, and names the first step that refuses', async () => {
    const vault = await exampleVault();
    try {
      let checked = 0;
      for (const role of summary.roles) {
        for (const purpose of summary.purposes) {
          const ctx: AccessContext = { actor: `svc:${role.role}`, role: role.role, purpose: purpose.purpose };
          const grant = role.grants.find((g) => g.purpose === purpose.purpose);
          for (const action of ['get', 'put'] as const) {
            const granted = grant?.actions.includes(action) === true;
            const wanted = (granted && grant !== undefined ? grant.views.map((v) => v.category) : ['location']) as BuiltIn[];
            if (wanted.length === 0) continue;
            const result =
              action === 'get' ? await outcome(vault.get(SUBJECT, wanted, ctx)) : await outcome(vault.put(SUBJECT, Object.fromEntries(wanted.map((c) => [c, VALUES[c]])), ctx));
            const expected = granted && grant !== undefined ? expectedWithoutConsentOrApproval(grant, action) : 'ACCESS_DENIED';
            expect(result, `${role.role} ${action} for ${purpose.purpose}`).toBe(expected);
            checked++;
          }
        }
      }
      // 6 roles × 21 purposes × 2 actions, less the granted ones on purposes without categories.
      expect(checked).toBeGreaterThan(200);
    } finally {
      await vault.close();
    }
  });

  it('names the views the vault serves: full for the guardian portal, masked and coarse for an approved moderator', async () => {
    const vault = await exampleVault();
    try {
      const served = async (ctx: AccessContext, wanted: BuiltIn[]) => {
        const got = (await vault.get(SUBJECT, wanted, ctx)) as Record<string, Sensitive<unknown> | undefined>;
        return wanted.map((category) => ({ category, view: got[category]?.view }));
      };
      const grantOf = (role: string, purpose: string) => summary.roles.find((r) => r.role === role)?.grants.find((g) => g.purpose === purpose);
      const portal = grantOf('guardian-portal', 'guardian-access');
      const review = grantOf('moderator', 'safety-review');
      expect(review?.views).toEqual([
        { category: 'face', view: 'full' },
        { category: 'voice', view: 'full' },
        { category: 'location', view: 'coarse' },
        { category: 'contact', view: 'masked' },
      ]);
      const all = Object.keys(VALUES) as BuiltIn[];
      expect(await served({ actor: 'svc:portal', role: 'guardian-portal', purpose: 'guardian-access' }, all)).toEqual(portal?.views);
      const approval = await vault.approvals.create(
        { actor: 'staff:mod-wang', subjects: [SUBJECT], categories: all, purpose: 'safety-review', reason: 'report 5521', expiresAt: new Date(NOW.getTime() + 86_400_000), readBudget: 1 },
        { actor: 'staff:cpo-li', role: 'officer', purpose: 'oversight' },
      );
      expect(await served({ actor: 'staff:mod-wang', role: 'moderator', purpose: 'safety-review', approval: approval.id }, all)).toEqual(review?.views);

      // A grant without views gets the narrowest its purpose allows: personalised recommendation, coarse.
      const recommend = grantOf('service', 'personalised-recommendation');
      expect(recommend?.steps.get).toEqual(['purpose', 'consent', 'read-limit']);
      await vault.consent.grant(SUBJECT, { purpose: 'personalised-recommendation', categories: ['location'], guardianRef: 'g:mother-1', verification: 'sms-code', noticeVersion: '2026-09' }, { actor: 'svc:portal', role: 'guardian-portal', purpose: 'guardian-access' });
      expect(await served({ actor: 'svc:app', role: 'service', purpose: 'personalised-recommendation' }, ['location'])).toEqual(recommend?.views);
    } finally {
      await vault.close();
    }
  });

  it('lists the decision steps per action: reads meet protections, approval and the limit; management actions the grant alone', () => {
    const sharing = summary.roles.find((r) => r.role === 'service')?.grants.find((g) => g.purpose === 'location-sharing');
    expect(sharing?.steps).toEqual({ put: ['purpose', 'consent'], get: ['purpose', 'consent', 'protections', 'read-limit'] });
    const legal = summary.roles.find((r) => r.role === 'legal');
    expect(legal?.grants[0]?.steps).toEqual({ get: ['purpose', 'approval', 'read-limit'], export: ['purpose', 'approval', 'read-limit'] });
    const portal = summary.roles.find((r) => r.role === 'guardian-portal')?.grants[0];
    expect(portal?.actions).toEqual(['get', 'export', 'erase', 'consent']);
    expect(portal?.steps.erase).toEqual([]);
    expect(portal?.steps.consent).toEqual([]);
    for (const role of summary.roles) {
      for (const grant of role.grants) {
        for (const action of grant.actions) {
          const steps = grant.steps[action] ?? [];
          if (!(READ_ACTIONS as readonly PolicyAction[]).includes(action)) expect(steps.filter((s) => s === 'approval' || s === 'read-limit' || s === 'protections')).toEqual([]);
        }
      }
    }
  });

  it('states purposes, retention, protections, officers and notices as the file declares them', () => {
    expect(summary.purposes.find((p) => p.purpose === 'real-name-registration')).toMatchObject({ consent: 'exempt', retainsData: true, grantedTo: [], categories: [{ category: 'contact', views: ['masked'] }] });
    expect(summary.purposes.find((p) => p.purpose === 'location-sharing')).toMatchObject({ consent: 'required', displaysToOthers: true, legalBasis: null, impactAssessment: 'PIA-2026-08 location sharing' });
    expect(summary.categories).toEqual([
      { category: 'face', retentionDays: 180, shortenedByPolicy: true },
      { category: 'voice', retentionDays: 180, shortenedByPolicy: true },
      { category: 'location', retentionDays: 30, shortenedByPolicy: false },
      { category: 'contact', retentionDays: 365, shortenedByPolicy: false },
    ]);
    expect(summary.protections.find((p) => p.protection === 'locationConcealed')?.liftedBy).toBe('location-sharing');
    expect(summary.officers).toEqual(['staff:cpo-li']);
    expect(summary.currentNotice).toBe('2026-09');
    expect(summary.notices[1]).toEqual({ version: '2026-09', changedPurposes: ['personalised-recommendation'] });
  });
});

describe('describePolicy on a minimal policy', () => {
  const minimal: PolicyInput = { ...testPolicy, roles: { service: { grants: [{ purpose: 'account', actions: ['erase', 'get'] }] } } };
  const s = describePolicy(resolvePolicy(minimal, categories), categories);

  it('orders actions as the policy format lists them, and leaves out limits and descriptions the policy does not set', () => {
    expect(s.roles).toEqual([
      {
        role: 'service',
        description: null,
        requiresApproval: false,
        maxReadsPerHour: null,
        grants: [
          {
            purpose: 'account',
            actions: ['get', 'erase'],
            views: ['face', 'voice', 'location', 'contact'].map((category) => ({ category, view: 'full' })),
            consent: 'exempt',
            steps: { get: ['purpose'], erase: [] },
          },
        ],
      },
    ]);
    expect(s.purposes[0]).toMatchObject({ description: null, impactAssessment: 'PIA-TEST', legalBasis: 'test fixture' });
  });

  it('says a protection the policy does not map is never lifted, and keeps the categories\' own retention', () => {
    expect(s.protections).toHaveLength(11);
    expect(s.protections.every((p) => p.liftedBy === null)).toBe(true);
    expect(s.categories.every((c) => !c.shortenedByPolicy)).toBe(true);
    expect(s.categories.find((c) => c.category === 'location')?.retentionDays).toBe(30);
  });
});
