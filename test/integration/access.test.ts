/**
 * Access control over the example policy (docs/policy.example.json): every allow and deny path,
 * views, consent granularity, expiry, staleness and withdrawal, approvals, read limits, and the
 * protective defaults — each refusal audited with its own code.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { generateKeyFile, isVaultError, openVault, Sensitive, type AccessContext, type PolicyInput, type VaultError } from '../../src/index.js';
import { tempDir } from '../helpers/fixtures.js';
import { EXAMPLE_POLICY_PATH } from '../helpers/policy.js';

const policy = JSON.parse(readFileSync(EXAMPLE_POLICY_PATH, 'utf8')) as PolicyInput;

const operator: AccessContext = { actor: 'cli:op', role: 'operator', purpose: 'legacy-import' };
const guardian: AccessContext = { actor: 'svc:guardian-portal', role: 'guardian-portal', purpose: 'guardian-access' };
const officer: AccessContext = { actor: 'staff:cpo-li', role: 'officer', purpose: 'oversight' };
const service = (purpose: string): AccessContext => ({ actor: 'svc:app', role: 'service', purpose });
const moderator = (approval?: string): AccessContext => ({ actor: 'staff:mod-wang', role: 'moderator', purpose: 'safety-review', ...(approval === undefined ? {} : { approval }) });

const location = { lat: 30.27412, lon: 120.15519, accuracyM: 8, capturedAt: '2026-11-01T08:00:00Z' };
const contact = { phone: '+8613800138000', email: 'parent@example.com', address: 'No. 1 Test Road, Xihu District, Hangzhou' };
const DAY = 86_400_000;

async function setup() {
  const dir = tempDir();
  let now = new Date('2026-11-10T00:00:00Z');
  const vault = await openVault({ create: true, path: join(dir, 'pool.db'), masterKey: await generateKeyFile(join(dir, 'k')), policy: EXAMPLE_POLICY_PATH, now: () => now });
  await vault.put('u:kid', { location, contact, face: { image: new Uint8Array([1, 2, 3]), embedding: [0.5] } }, operator);
  const consent = (purpose: string, categories: string[], extra: { noticeVersion?: string; expiresAt?: Date } = {}) =>
    vault.consent.grant('u:kid', { purpose, categories, guardianRef: 'g:mother-1', verification: 'sms-code', noticeVersion: extra.noticeVersion ?? '2026-09', ...(extra.expiresAt === undefined ? {} : { expiresAt: extra.expiresAt }) }, guardian);
  const approve = (over: Partial<Parameters<typeof vault.approvals.create>[0]> = {}) =>
    vault.approvals.create({ actor: 'staff:mod-wang', subjects: ['u:kid'], categories: ['face', 'location', 'contact'], purpose: 'safety-review', reason: 'report #5521', expiresAt: new Date(now.getTime() + DAY), readBudget: 3, ...over }, officer);
  return { dir, vault, consent, approve, advance: (ms: number) => (now = new Date(now.getTime() + ms)), path: join(dir, 'pool.db') };
}

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'allowed';
  } catch (error) {
    if (isVaultError(error)) return error.code;
    throw error;
  }
}

function lastEntry(path: string): { action: string; outcome: string; reason: string | null; consent: string | null; approval: string | null; detail: string | null } {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT action, outcome, reason, consent, approval, detail FROM audit_log ORDER BY seq DESC LIMIT 1').get() as never;
  } finally {
    db.close();
  }
}

describe('the decision order', () => {
  it.each([
    ['an undeclared role', { actor: 'svc:x', role: 'intern', purpose: 'account' }, ['contact'], 'ACCESS_DENIED'],
    ['a role without a grant for the purpose', service('safety-review'), ['face'], 'ACCESS_DENIED'],
    ['a category the purpose does not cover', service('account'), ['location'], 'PURPOSE_NOT_ALLOWED'],
    ['no consent for a consent-based purpose', service('account'), ['contact'], 'CONSENT_REQUIRED'],
    ['a staff read without approval', moderator(), ['face'], 'APPROVAL_REQUIRED'],
  ] as const)('refuses %s, and audits it as denied with that code', async (_label, ctx, categories, expected) => {
    const { vault, path } = await setup();
    expect(await code(vault.get('u:kid', categories as never, ctx))).toBe(expected);
    expect(lastEntry(path)).toMatchObject({ action: 'get', outcome: 'denied', reason: expected });
    await vault.close();
  });

  it('refuses every data operation without a policy (default deny)', async () => {
    const dir = tempDir();
    const vault = await openVault({ create: true, path: join(dir, 'p.db'), masterKey: await generateKeyFile(join(dir, 'k')) });
    expect(await code(vault.put('u:1', { location }, operator))).toBe('ACCESS_DENIED');
    expect(await code(vault.get('u:1', ['location'], operator))).toBe('ACCESS_DENIED');
    await vault.close();
  });

  it('allows a consented read, recording the consent used and the view served', async () => {
    const { vault, consent, path } = await setup();
    const c = await consent('account', ['contact']);
    const got = await vault.get('u:kid', ['contact'], service('account'));
    expect(got.contact?.reveal()).toEqual(contact);
    expect(lastEntry(path)).toMatchObject({ outcome: 'allowed', consent: c.id, detail: '{"returned":1,"views":"contact:full"}' });
    await vault.close();
  });
});

describe('guardian consent', () => {
  it('is granular: consent for one purpose and category covers neither another category nor another purpose', async () => {
    const { vault, consent } = await setup();
    await consent('location-sharing', ['location']);
    expect(await code(vault.get('u:kid', ['location'], service('location-sharing')))).toBe('allowed');
    expect(await code(vault.get('u:kid', ['location'], service('personalised-recommendation')))).toBe('CONSENT_REQUIRED');
    expect(await code(vault.get('u:kid', ['contact'], service('account')))).toBe('CONSENT_REQUIRED');
    await vault.close();
  });

  it('refuses a consent for a category the purpose does not cover, for an exempt purpose, or under an unknown notice', async () => {
    const { vault, consent } = await setup();
    expect(await code(consent('account', ['location']))).toBe('VALIDATION');
    expect(await code(consent('safety-review', ['face']))).toBe('VALIDATION');
    expect(await code(consent('account', ['contact'], { noticeVersion: '2031-01' }))).toBe('VALIDATION');
    await vault.close();
  });

  it('stops counting when it expires', async () => {
    const { vault, consent, advance } = await setup();
    await consent('account', ['contact'], { expiresAt: new Date('2026-11-11T00:00:00Z') });
    expect(await code(vault.get('u:kid', ['contact'], service('account')))).toBe('allowed');
    advance(2 * DAY);
    expect(await code(vault.get('u:kid', ['contact'], service('account')))).toBe('CONSENT_REQUIRED');
    expect((await vault.consent.list('u:kid', guardian))[0]?.state).toBe('expired');
    await vault.close();
  });

  it('goes stale for a purpose whose notice changed after it was given', async () => {
    // Consents given while 2026-01 was the current notice…
    const dir = tempDir();
    const path = join(dir, 'pool.db');
    const key = await generateKeyFile(join(dir, 'k'));
    const older = { ...policy, notices: [{ version: '2026-01', changedPurposes: [] }] } as PolicyInput;
    const before = await openVault({ create: true, path, masterKey: key, policy: older });
    await before.put('u:kid', { location, contact }, operator);
    for (const [purpose, categories] of [['personalised-recommendation', ['location']], ['account', ['contact']]] as const) {
      await before.consent.grant('u:kid', { purpose, categories: [...categories], guardianRef: 'g:m', verification: 'sms-code', noticeVersion: '2026-01' }, guardian);
    }
    await before.close();
    // …then the platform publishes 2026-09, which changed personalised-recommendation only.
    const vault = await openVault({ create: true, path, masterKey: (await import('../../src/index.js')).keyFile(join(dir, 'k')), policy });
    const consent = (purpose: string, categories: string[], extra: { noticeVersion?: string } = {}) =>
      vault.consent.grant('u:kid', { purpose, categories, guardianRef: 'g:m', verification: 'sms-code', noticeVersion: extra.noticeVersion ?? '2026-09' }, guardian);
    expect(await code(consent('personalised-recommendation', ['location'], { noticeVersion: '2026-01' }))).toBe('VALIDATION'); // no new consent under a stale notice
    const error = (await vault.get('u:kid', ['location'], service('personalised-recommendation')).catch((e: unknown) => e)) as VaultError;
    expect(error.code).toBe('CONSENT_REQUIRED');
    expect(error.message).toContain('older notice');
    expect(await code(vault.get('u:kid', ['contact'], service('account')))).toBe('allowed');
    await consent('personalised-recommendation', ['location'], { noticeVersion: '2026-09' });
    expect(await code(vault.get('u:kid', ['location'], service('personalised-recommendation')))).toBe('allowed');
    await vault.close();
  });

  it('on withdrawal, erases at once the values nothing else covers, and keeps those under a legal hold', async () => {
    const { vault, consent, path } = await setup();
    await consent('location-sharing', ['location']);
    await consent('account', ['contact']);
    const receipt = await vault.consent.withdraw('u:kid', { purpose: 'location-sharing' }, guardian);
    expect(receipt.erased).toEqual(['location']);
    // Erased: nothing held, so the read answers empty (not a refusal), and the entry says so.
    expect(await vault.get('u:kid', ['location'], service('location-sharing'))).toEqual({});
    expect(JSON.parse(lastEntry(path).detail ?? '{}')).toMatchObject({ returned: 0 });
    // contact is kept under real-name registration (exempt, retainsData) even without consent.
    const second = await vault.consent.withdraw('u:kid', { purpose: 'account' }, guardian);
    expect(second.erased).toEqual([]);
    const copy = await vault.exportSubject('u:kid', guardian);
    expect(Object.keys(copy.values).sort()).toEqual(['contact', 'face']);
    await vault.close();
  });
});

describe('views', () => {
  it('serve a moderator masked contact, coarse location and full face — never more', async () => {
    const { vault, approve } = await setup();
    const approval = await approve();
    const got = await vault.get('u:kid', ['face', 'location', 'contact'], moderator(approval.id));
    expect(got.contact?.view).toBe('masked');
    expect(got.contact?.reveal()).toEqual({ phone: '+86*******8000', email: 'p***@example.com', address: 'Hangzhou' });
    expect(got.location?.view).toBe('coarse');
    expect(got.location?.reveal()).toMatchObject({ lat: 30.3, lon: 120.2, capturedAt: location.capturedAt });
    expect(got.location?.reveal().accuracyM).toBeGreaterThan(5000);
    expect(got.face?.reveal().image).toEqual(new Uint8Array([1, 2, 3]));
    expect(JSON.stringify(Object.fromEntries(Object.entries(got).map(([k, v]) => [k, (v as Sensitive<unknown>).reveal()])))).not.toMatch(/13800138000|parent@|Test Road|30\.274|120\.155/);
    await vault.close();
  });

  it('serve presence without decrypting, and refuse to reveal it', async () => {
    const { vault, consent } = await setup();
    await consent('algorithmic-distribution', ['face', 'voice']);
    const got = await vault.get('u:kid', ['face', 'voice'], service('algorithmic-distribution'));
    expect(Object.keys(got)).toEqual(['face']); // voice was never stored
    expect(got.face?.view).toBe('presence');
    expect(() => got.face?.reveal()).toThrow(/presence view/);
    expect(String(got.face)).toBe('[Sensitive face (presence): redacted]');
    await vault.close();
  });
});

describe('officer approvals', () => {
  it('allow exactly the approved actor, subject, categories and purpose, within expiry and budget', async () => {
    const { vault, approve, advance } = await setup();
    await vault.put('u:other', { face: { embedding: [1] } }, operator);
    const a = await approve({ categories: ['face'], readBudget: 2 });
    expect(await code(vault.get('u:kid', ['face'], moderator(a.id)))).toBe('allowed');
    expect(await code(vault.get('u:kid', ['location'], moderator(a.id)))).toBe('APPROVAL_REQUIRED'); // category outside the scope
    expect(await code(vault.get('u:other', ['face'], moderator(a.id)))).toBe('APPROVAL_REQUIRED'); // subject outside the scope
    expect(await code(vault.get('u:kid', ['face'], { ...moderator(a.id), actor: 'staff:mod-zhao' }))).toBe('APPROVAL_REQUIRED'); // another actor
    expect(await code(vault.get('u:kid', ['face'], moderator(a.id)))).toBe('allowed');
    expect(await code(vault.get('u:kid', ['face'], moderator(a.id)))).toBe('APPROVAL_REQUIRED'); // budget spent
    const b = await approve({ categories: ['face'] });
    advance(2 * DAY);
    expect(await code(vault.get('u:kid', ['face'], moderator(b.id)))).toBe('APPROVAL_REQUIRED'); // expired
    await vault.close();
  });

  it('can be revoked at once, and only officers create them, never for themselves', async () => {
    const { vault, approve } = await setup();
    const a = await approve();
    await vault.approvals.revoke(a.id, officer);
    expect(await code(vault.get('u:kid', ['face'], moderator(a.id)))).toBe('APPROVAL_REQUIRED');
    expect(await code(approve({ actor: 'staff:cpo-li' }))).toBe('ACCESS_DENIED');
    expect(await code(vault.approvals.create({ actor: 'staff:mod-wang', subjects: ['u:kid'], categories: ['face'], purpose: 'safety-review', reason: 'x', expiresAt: new Date('2026-11-11T00:00:00Z'), readBudget: 1 }, { ...officer, actor: 'staff:mod-wang' }))).toBe('ACCESS_DENIED');
    expect((await vault.approvals.list(officer)).map((r) => r.state)).toEqual(['revoked']);
    await vault.close();
  });
});

describe('read limits', () => {
  it('stop an actor after maxReadsPerHour reads in a sliding hour, and audit the refusal', async () => {
    const { vault, approve, advance, path } = await setup();
    const legal: AccessContext = { actor: 'staff:legal-zhou', role: 'legal', purpose: 'law-enforcement' };
    const a = await approve({ actor: legal.actor, purpose: 'law-enforcement', categories: ['contact'], readBudget: 100 });
    for (let i = 0; i < 20; i++) expect(await code(vault.get('u:kid', ['contact'], { ...legal, approval: a.id }))).toBe('allowed');
    expect(await code(vault.get('u:kid', ['contact'], { ...legal, approval: a.id }))).toBe('RATE_LIMITED');
    expect(lastEntry(path)).toMatchObject({ outcome: 'denied', reason: 'RATE_LIMITED' });
    advance(61 * 60_000);
    expect(await code(vault.get('u:kid', ['contact'], { ...legal, approval: a.id }))).toBe('allowed');
    await vault.close();
  });
});

describe('protective defaults', () => {
  it('are all on before any consent, and each turns off only with the consent for its purpose', async () => {
    const { vault, consent } = await setup();
    const before = await vault.protections('u:kid', service('account'));
    expect(Object.values(before).every(Boolean)).toBe(true);
    expect(Object.keys(before)).toHaveLength(11);
    await consent('social-follow', []);
    await consent('contact-recommendations', ['contact']);
    const after = await vault.protections('u:kid', service('account'));
    expect(Object.entries(after).filter(([, on]) => !on).map(([k]) => k).sort()).toEqual(['noContactRecommendations', 'noSearchByPhone', 'strangersCannotFollow']);
    await vault.consent.withdraw('u:kid', { purpose: 'social-follow' }, guardian);
    expect((await vault.protections('u:kid', service('account'))).strangersCannotFollow).toBe(true);
    await vault.close();
  });

  it('keep the location concealed from purposes that show it to others until the guardian lifts it', async () => {
    const { vault, consent } = await setup();
    await consent('same-city-feed', ['location']);
    expect(await code(vault.get('u:kid', ['location'], service('same-city-feed')))).toBe('PROTECTION_ACTIVE');
    await consent('location-sharing', ['location']);
    const got = await vault.get('u:kid', ['location'], service('same-city-feed'));
    expect(got.location?.view).toBe('coarse');
    await vault.close();
  });
});

describe('guardian requests', () => {
  it('export everything held about the child, with consents and protections', async () => {
    const { vault, consent } = await setup();
    await consent('account', ['contact']);
    const copy = await vault.exportSubject('u:kid', guardian);
    expect(Object.keys(copy.values).sort()).toEqual(['contact', 'face', 'location']);
    expect(copy.values['location']?.reveal()).toEqual(location);
    expect(copy.consents.map((c) => c.purpose)).toEqual(['account']);
    expect(copy.protections.locationConcealed).toBe(true);
    expect(await code(vault.exportSubject('u:kid', service('account')))).toBe('ACCESS_DENIED');
    await vault.close();
  });

  it('erase the child, with its consents and pseudonym', async () => {
    const { vault, consent, path } = await setup();
    await consent('account', ['contact']);
    const receipt = await vault.erase('u:kid', guardian);
    expect(receipt.erased).toEqual(['contact', 'face', 'location']);
    const db = new Database(path, { readonly: true });
    expect((db.prepare('SELECT count(*) AS n FROM consents').get() as { n: number }).n).toBe(0);
    expect((db.prepare('SELECT count(*) AS n FROM audit_subjects').get() as { n: number }).n).toBe(0);
    db.close();
    await vault.close();
  });
});

describe('policy validation', () => {
  type Path = readonly (string | number)[];
  /** A copy of the example policy with the value at `path` replaced (or deleted when undefined). */
  const changed = (path: Path, value: unknown): PolicyInput => {
    const copy = structuredClone(policy) as unknown as Record<string | number, unknown>;
    let node = copy;
    for (const step of path.slice(0, -1)) node = node[step] as Record<string | number, unknown>;
    const last = path[path.length - 1] as string | number;
    if (value === undefined) Reflect.deleteProperty(node, last);
    else node[last] = value;
    return copy as unknown as PolicyInput;
  };
  it.each([
    ['an exempt purpose without a legal basis', ['purposes', 'safety-review', 'legalBasis'], undefined, 'policy.purposes.safety-review.legalBasis'],
    ['a purpose on data without an impact assessment', ['purposes', 'account', 'impactAssessment'], undefined, 'policy.purposes.account.impactAssessment'],
    ['a grant to an undeclared purpose', ['roles', 'service', 'grants', 0, 'purpose'], 'ads', 'policy.roles.service.grants[0].purpose'],
    ['coarse on contact', ['purposes', 'account', 'categories'], { contact: 'coarse' }, 'policy.purposes.account.categories.contact'],
    ['a grant view wider than its purpose', ['roles', 'moderator', 'grants', 0, 'views'], { contact: 'full' }, 'policy.roles.moderator.grants[0].views.contact'],
    ['a retention longer than the category allows', ['retention', 'location'], 400, 'policy.retention.location'],
    ['an unknown category', ['purposes', 'account', 'categories'], { pets: 'full' }, 'policy.purposes.account.categories.pets'],
    ['an unknown field', ['roles', 'service', 'maxReadsPerDay'], 5, 'policy.roles.service'],
  ] as const)('refuses %s at open, naming the path', async (_label, path, value, field) => {
    const dir = tempDir();
    const error = (await openVault({ create: true, path: join(dir, 'p.db'), masterKey: await generateKeyFile(join(dir, 'k')), policy: changed(path, value) }).catch((e: unknown) => e)) as VaultError;
    expect(error.code).toBe('VALIDATION');
    expect(error.field).toBe(field);
  });

  it('names the file when a policy file is broken', async () => {
    const dir = tempDir();
    const file = join(dir, 'policy.json');
    (await import('node:fs')).writeFileSync(file, '{"version": 1,');
    const error = (await openVault({ create: true, path: join(dir, 'p.db'), masterKey: await generateKeyFile(join(dir, 'k')), policy: file }).catch((e: unknown) => e)) as VaultError;
    expect(error.code).toBe('VALIDATION');
    expect(error.message).toContain(file);
  });
});

describe('paths that must not skip the decision', () => {
  it('refuses putMany with any action but put or import', async () => {
    const { vault } = await setup();
    const items = [{ subject: 'u:kid', values: { face: { embedding: [1] } } }];
    expect(await code(vault.putMany(items, service('account'), { action: 'erase' } as never))).toBe('VALIDATION');
    expect(await code(vault.putMany(items, service('account'), { action: 'get' } as never))).toBe('VALIDATION');
    expect(await code(vault.putMany(items, service('account')))).toBe('PURPOSE_NOT_ALLOWED');
    expect(await code(vault.putMany([], operator))).toBe('VALIDATION');
    await vault.close();
  });

  it('decides consent management on the purpose of the consent, not the caller’s', async () => {
    const { vault } = await setup();
    const narrow: AccessContext = { actor: 'svc:recsys', role: 'service', purpose: 'account' }; // service has no consent grants
    const grant = { purpose: 'location-sharing', categories: ['location'], guardianRef: 'g:m', verification: 'sms-code', noticeVersion: '2026-09' };
    expect(await code(vault.consent.grant('u:kid', grant, narrow))).toBe('ACCESS_DENIED');
    expect(await code(vault.consent.grant('u:kid', { ...grant, categories: [] }, guardian))).toBe('VALIDATION'); // a consent to nothing
    expect((await vault.protections('u:kid', service('account'))).locationConcealed).toBe(true);
    await vault.close();
  });

  it('answers the same consent granted again with the one already held, and records the repeat', async () => {
    const { vault, consent, path, advance } = await setup();
    const first = await consent('location-sharing', ['location']);
    advance(60_000);
    const again = await consent('location-sharing', ['location']);
    expect(again.id).toBe(first.id);
    expect(lastEntry(path)).toMatchObject({ action: 'consent.grant', outcome: 'allowed', consent: first.id, detail: expect.stringContaining('"repeated":true') as string });
    expect(await vault.consent.list('u:kid', guardian)).toHaveLength(1);
    // Anything that differs is another consent; one withdrawn is no longer held.
    const wider = await consent('location-sharing', ['location'], { expiresAt: new Date('2027-01-01T00:00:00Z') });
    expect(wider.id).not.toBe(first.id);
    await vault.consent.withdraw('u:kid', { id: first.id }, guardian);
    expect((await consent('location-sharing', ['location'])).id).not.toBe(first.id);
    await vault.close();
  });

  it('keeps unvalidated text out of the audit log: categories must be category names', async () => {
    const { vault, path } = await setup();
    const bad = { purpose: 'account', categories: ['+8613800138000'], guardianRef: 'g:m', verification: 'sms-code', noticeVersion: '2026-09' };
    expect(await code(vault.consent.grant('u:kid', bad, guardian))).toBe('VALIDATION');
    const db = new Database(path, { readonly: true });
    const texts = (db.prepare('SELECT categories FROM audit_log').all() as { categories: string }[]).map((r) => r.categories).join('|');
    db.close();
    expect(texts).not.toContain('13800138000');
    await vault.close();
  });

  it('gates status, the audit log and key operations by role grant too', async () => {
    const { vault } = await setup();
    const stranger: AccessContext = { actor: 'svc:x', role: 'intern', purpose: 'oversight' };
    const { PassThrough } = await import('node:stream');
    expect(await code(vault.status(stranger))).toBe('ACCESS_DENIED');
    expect(await code(vault.audit.export(new PassThrough(), { subject: 'u:kid' }, stranger))).toBe('ACCESS_DENIED');
    expect(await code(vault.audit.verify(stranger))).toBe('ACCESS_DENIED');
    expect(await code(vault.keys.rotate({}, stranger))).toBe('ACCESS_DENIED');
    expect(await code(vault.retention.sweep(stranger))).toBe('ACCESS_DENIED');
    expect(await code(vault.audit.verify({ actor: 'staff:cpo-li', role: 'officer', purpose: 'oversight' }))).toBe('allowed');
    await vault.close();
  });

  it('records an approval id only when the decision checked it', async () => {
    const { vault, consent, path } = await setup();
    await consent('account', ['contact']);
    await vault.get('u:kid', ['contact'], { ...service('account'), approval: 'apv-made-up' });
    expect(lastEntry(path).approval).toBeNull();
    await vault.close();
  });
});
