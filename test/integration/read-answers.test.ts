/**
 * What a read answers, over the example policy: a narrower view than the grant on request, "nothing
 * held" told apart from a refusal (a service's 404 against its 403), and a RATE_LIMITED refusal
 * that says when to retry.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { generateKeyFile, isVaultError, openVault, type AccessContext } from '../../src/index.js';
import { tempDir } from '../helpers/fixtures.js';
import { EXAMPLE_POLICY_PATH } from '../helpers/policy.js';

const operator: AccessContext = { actor: 'cli:op', role: 'operator', purpose: 'legacy-import' };
const guardian: AccessContext = { actor: 'svc:guardian-portal', role: 'guardian-portal', purpose: 'guardian-access' };
const officer: AccessContext = { actor: 'staff:cpo-li', role: 'officer', purpose: 'oversight' };
const sharing: AccessContext = { actor: 'svc:app', role: 'service', purpose: 'location-sharing' };
const location = { lat: 30.27412, lon: 120.15519, accuracyM: 8, capturedAt: '2026-11-01T08:00:00Z' };
const contact = { phone: '+8613800138000', email: 'parent@example.com' };

async function setup() {
  const dir = tempDir();
  let now = new Date('2026-11-10T00:00:30Z');
  const path = join(dir, 'pool.db');
  const vault = await openVault({ create: true, path, masterKey: await generateKeyFile(join(dir, 'k')), policy: EXAMPLE_POLICY_PATH, now: () => now });
  await vault.put('u:kid', { location, contact }, operator);
  await vault.consent.grant('u:kid', { purpose: 'location-sharing', categories: ['location'], guardianRef: 'g:1', verification: 'sms-code', noticeVersion: '2026-09' }, guardian);
  return { vault, path, advance: (ms: number) => (now = new Date(now.getTime() + ms)) };
}

async function failure(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (isVaultError(error)) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('a narrower view than the grant', () => {
  it('serves the narrower of the asked and granted views, never a wider one', async () => {
    const { vault } = await setup();
    expect((await vault.get('u:kid', ['location'], sharing)).location?.view).toBe('full');
    const coarse = (await vault.get('u:kid', ['location'], sharing, { views: { location: 'coarse' } })).location;
    expect(coarse?.view).toBe('coarse');
    expect(coarse?.reveal().lat).toBeCloseTo(30.3, 6);
    const presence = (await vault.get('u:kid', ['location'], sharing, { views: { location: 'presence' } })).location;
    expect(presence?.view).toBe('presence');
    expect(() => presence?.reveal()).toThrow(/presence view/);
    // The moderator's grant is coarse: asking for full still gets coarse.
    const approval = await vault.approvals.create({ actor: 'staff:mod-wang', subjects: ['u:kid'], categories: ['location'], purpose: 'safety-review', reason: 'report 1', expiresAt: new Date('2026-11-11T00:00:00Z'), readBudget: 2 }, officer);
    const moderator = { actor: 'staff:mod-wang', role: 'moderator', purpose: 'safety-review', approval: approval.id };
    expect((await vault.get('u:kid', ['location'], moderator, { views: { location: 'full' } })).location?.view).toBe('coarse');
    await vault.close();
  });

  it('records the view served in the audit entry', async () => {
    const { vault, path } = await setup();
    await vault.get('u:kid', ['location'], sharing, { views: { location: 'coarse' } });
    await vault.close();
    const db = new Database(path, { readonly: true });
    const detail = JSON.parse((db.prepare("SELECT detail FROM audit_log WHERE action = 'get' ORDER BY seq DESC LIMIT 1").get() as { detail: string }).detail) as { views: string };
    db.close();
    expect(detail.views).toBe('location:coarse');
  });

  it('refuses a view that does not apply to the category, or a category not asked for', async () => {
    const { vault } = await setup();
    const wrongKind = await failure(vault.get('u:kid', ['location'], sharing, { views: { location: 'masked' } }));
    expect([wrongKind.code, wrongKind.field]).toEqual(['VALIDATION', 'options.views.location']);
    const notAsked = await failure(vault.get('u:kid', ['location'], sharing, { views: { contact: 'presence' } as never }));
    expect([notAsked.code, notAsked.message]).toEqual(['VALIDATION', 'options.views.contact: not among the categories asked for']);
    const unknownView = await failure(vault.get('u:kid', ['location'], sharing, { views: { location: 'blurred' } as never }));
    expect(unknownView.field).toBe('options.views.location');
    await vault.close();
  });
});

describe('nothing held is not a refusal', () => {
  it('a read of an erased child answers empty where it answered CONSENT_REQUIRED, and the entry says nothing was returned', async () => {
    const { vault, path } = await setup();
    await vault.erase('u:kid', guardian);
    expect(await vault.get('u:kid', ['location'], sharing)).toEqual({});
    expect(await vault.get('u:never', ['location'], sharing)).toEqual({});
    await vault.close();
    const db = new Database(path, { readonly: true });
    const entry = db.prepare("SELECT outcome, detail FROM audit_log WHERE action = 'get' ORDER BY seq DESC LIMIT 1").get() as { outcome: string; detail: string };
    db.close();
    expect(entry.outcome).toBe('allowed');
    expect(JSON.parse(entry.detail)).toMatchObject({ returned: 0 });
  });

  it('still refuses what the role or purpose does not allow, and what is held without consent', async () => {
    const { vault } = await setup();
    expect((await failure(vault.get('u:never', ['location'], { ...sharing, role: 'intern' }))).code).toBe('ACCESS_DENIED');
    expect((await failure(vault.get('u:never', ['face'], sharing))).code).toBe('PURPOSE_NOT_ALLOWED');
    await vault.consent.withdraw('u:kid', { purpose: 'location-sharing' }, guardian);
    await vault.put('u:kid', { location }, operator);
    expect((await failure(vault.get('u:kid', ['location'], sharing))).code).toBe('CONSENT_REQUIRED');
    await vault.close();
  });

  it('spends no approval read on a child with nothing held, but counts toward the read limit', async () => {
    const { vault } = await setup();
    const approval = await vault.approvals.create({ actor: 'staff:mod-wang', subjects: ['u:kid', 'u:gone'], categories: ['location'], purpose: 'safety-review', reason: 'report 1', expiresAt: new Date('2026-11-11T00:00:00Z'), readBudget: 1 }, officer);
    const moderator = { actor: 'staff:mod-wang', role: 'moderator', purpose: 'safety-review', approval: approval.id };
    expect(await vault.get('u:gone', ['location'], moderator)).toEqual({});
    expect((await vault.get('u:kid', ['location'], moderator)).location?.view).toBe('coarse');
    expect((await vault.approvals.list(officer))[0]?.readsUsed).toBe(1);
    await vault.close();
  });
});

describe('RATE_LIMITED says when to retry', () => {
  it('gives retryAfterMs: when the oldest reads leave the hour', async () => {
    const { vault, advance } = await setup();
    // The example policy limits the moderator to 60 reads an hour.
    const approval = await vault.approvals.create({ actor: 'staff:mod-wang', subjects: ['u:kid'], categories: ['location'], purpose: 'safety-review', reason: 'report 1', expiresAt: new Date('2026-11-11T00:00:00Z'), readBudget: 100 }, officer);
    const moderator = { actor: 'staff:mod-wang', role: 'moderator', purpose: 'safety-review', approval: approval.id };
    for (let i = 0; i < 30; i++) await vault.get('u:kid', ['location'], moderator); // minute 0 (at :30 s)
    advance(10 * 60_000);
    for (let i = 0; i < 30; i++) await vault.get('u:kid', ['location'], moderator); // minute 10
    advance(5 * 60_000);
    const refused = await failure(vault.get('u:kid', ['location'], moderator));
    expect(refused.code).toBe('RATE_LIMITED');
    // The reads of minute 0 leave the window when minute 60 begins: 60 min − 15 min 30 s from now.
    expect(refused.retryAfterMs).toBe(60 * 60_000 - (15 * 60_000 + 30_000));
    expect(refused.message).toMatch(/retry in 2670 s/);
    advance(refused.retryAfterMs ?? 0);
    expect((await vault.get('u:kid', ['location'], moderator)).location).toBeDefined();
    await vault.close();
  });
});
