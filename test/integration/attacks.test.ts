/**
 * The vault attacked by someone who can write its file but holds no master key (a stolen backup
 * restored, a DBA, a compromised host account). Each test first does what the attack did when it
 * succeeded (issue 9), then checks that it no longer works: a forged or altered row the vault would
 * decide from fails with INTEGRITY naming it, is never acted on, and the failure is recorded.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chainHash, entryDigest, type UnhashedEntry } from '../../src/audit/entry.js';
import { generateKeyFile, keyFile, openVault, VaultError, type AccessContext, type PolicyInput } from '../../src/index.js';
import { ctx, freshVault, sampleLocation, tempDir } from '../helpers/fixtures.js';
import { errorOf } from '../helpers/unit-errors.js';
import { contact, DAY, exampleVault, forgeEntry, guardian, lastEntry, locator, moderator, officer, operator, policy, rows, tamper, type EntryRow } from '../helpers/attacker.js';

describe('forged audit entries are never signed (attack 1)', () => {
  it('(a) refuses a pending row with an action the vault never writes there, naming it; the officer discards it and the discard is recorded', async () => {
    const { vault, path, open } = await exampleVault();
    await vault.close();
    tamper(path, (db) => db.prepare("INSERT INTO audit_pending (id, ts, actor, role, purpose, action, reason) VALUES (7, 1, 'staff:cpo-li', 'officer', 'oversight', 'approval.create', 'WRONG_MASTER_KEY')").run());
    const error = await errorOf(open());
    expect(error.code).toBe('INTEGRITY');
    expect(error.message).toContain('audit_pending row 7');
    expect(error.message).toContain('childvault audit discard-pending 7');
    expect(rows(path, 'SELECT id FROM audit_pending')).toEqual([{ id: 7 }]); // nothing was taken
    const reopened = await openVault({ create: true, path, masterKey: keyFile(join(path, '..', 'master.key')), policy, discardPendingAudit: [7] });
    expect(rows(path, 'SELECT id FROM audit_pending')).toEqual([]);
    expect(rows<{ detail: string }>(path, "SELECT detail FROM audit_log WHERE action = 'audit.discard-pending'")).toEqual([{ detail: '{"row":7}' }]);
    expect(rows(path, "SELECT 1 FROM audit_log WHERE action = 'approval.create'")).toEqual([]);
    expect((await reopened.audit.verify(officer)).ok).toBe(true);
    await reopened.close();
  });

  it('(a) admits a well-formed wrong-key record only as an unverified claim, dated when it enters the chain (never back-dated)', async () => {
    const { vault, path, open } = await exampleVault();
    await vault.close();
    const before = lastEntry(path);
    tamper(path, (db) => db.prepare("INSERT INTO audit_pending (ts, actor, role, purpose, action, reason) VALUES (1000, 'staff:intruder', 'system', 'open', 'open', 'WRONG_MASTER_KEY')").run());
    const reopened = await open();
    const claim = rows<EntryRow>(path, "SELECT seq, ts, actor, action, outcome, reason, detail FROM audit_log WHERE actor = 'staff:intruder'")[0]!;
    expect(claim).toMatchObject({ action: 'open', outcome: 'error', reason: 'WRONG_MASTER_KEY' });
    expect(claim.ts).toBeGreaterThanOrEqual(before.ts);
    expect(JSON.parse(claim.detail!)).toEqual({ claimedAt: '1970-01-01T00:00:01.000Z', unverified: true });
    await reopened.close();
  });

  it('(a) refuses a pending row whose actor is a phone number', async () => {
    const { vault, path, open } = await exampleVault();
    await vault.close();
    tamper(path, (db) => db.prepare("INSERT INTO audit_pending (id, ts, actor, role, purpose, action, reason) VALUES (3, 1000, '8613912345678', 'system', 'open', 'open', 'WRONG_MASTER_KEY')").run());
    const error = await errorOf(open());
    expect(error.code).toBe('INTEGRITY');
    expect(error.message).toContain('audit_pending row 3');
  });

  it('(b) an entry appended with a correct chain hash is refused at the next operation, never signed, and found by verify', async () => {
    const { vault, path, open } = await exampleVault();
    let forged = 0;
    tamper(path, (db) => {
      forged = forgeEntry(db, {});
    });
    const put = await errorOf(vault.put('u:kid', { location: sampleLocation }, operator));
    expect(put.code).toBe('INTEGRITY');
    expect(put.message).toContain(`audit_log row seq ${forged}`);
    expect((await errorOf(vault.audit.checkpoint(officer))).code).toBe('INTEGRITY');
    expect((await errorOf(vault.audit.export(new (await import('node:stream')).PassThrough(), {}, officer))).code).toBe('INTEGRITY');
    const report = await vault.audit.verify(officer);
    expect(report.ok).toBe(false);
    expect(report.problem?.seq).toBe(forged);
    expect(report.problem?.message).toMatch(/not authenticated by this vault/);
    expect(rows(path, 'SELECT 1 FROM audit_checkpoints WHERE seq >= ?', forged)).toEqual([]);
    await vault.close();
    // Reopened, the vault still opens (so the officer can verify), but refuses every operation.
    const reopened = await open();
    expect((await errorOf(reopened.get('u:kid', ['location'], { actor: 'cli:op', role: 'operator', purpose: 'legacy-import' }))).code).not.toBe('allowed');
    expect((await errorOf(reopened.status({ actor: 'cli:op', role: 'operator', purpose: 'operations' }))).code).toBe('INTEGRITY');
    expect((await reopened.audit.verify(officer)).problem?.seq).toBe(forged);
    await reopened.close();
    expect(lastEntry(path).seq).toBe(forged); // nothing was chained onto the forgery
  });

  it('(c) an entry after the last checkpoint rewritten and the chain re-hashed is found at its seq, and nothing more is signed', async () => {
    const { vault, path } = await exampleVault();
    await vault.get('u:kid', ['location'], { ...locator, purpose: 'account', role: 'service' }).catch(() => undefined);
    const head = lastEntry(path).seq;
    const target = head - 1;
    tamper(path, (db) => {
      const stored = db
        .prepare('SELECT seq, ts, actor, role, purpose, action, subject, categories, outcome, reason, approval, consent, request_id AS requestId, detail, prev_hash AS prevHash FROM audit_log WHERE seq >= ? ORDER BY seq')
        .all(target) as (UnhashedEntry & { prevHash: Uint8Array })[];
      let prev = stored[0]!.prevHash;
      for (const row of stored) {
        const entry = row.seq === target ? { ...row, actor: 'svc:nobody' } : row;
        const hash = chainHash(prev, entryDigest(entry));
        db.prepare('UPDATE audit_log SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?').run(entry.actor, prev, hash, row.seq);
        prev = hash;
      }
    });
    const report = await vault.audit.verify(officer);
    expect(report.problem?.seq).toBe(target);
    expect(report.problem?.message).toMatch(/not authenticated/);
    expect((await errorOf(vault.audit.checkpoint(officer))).code).toBe('INTEGRITY');
    await vault.close();
  });
});

describe('forged decision state grants nothing (attack 2)', () => {
  it('a consent inserted for every child with a location gives no read, lifts no protection, and the refusal is recorded naming the row', async () => {
    const { vault, path } = await exampleVault();
    expect((await errorOf(vault.get('u:kid', ['location'], locator))).code).toBe('CONSENT_REQUIRED');
    tamper(path, (db) =>
      db.exec(`INSERT INTO consents (id, subject_tag, purpose, categories, guardian_ref, verification, notice_version, granted_at)
        SELECT 'cns_00000000-0000-7000-8000-' || substr(hex(randomblob(6)), 1, 12), subject_tag, 'location-sharing', 'location', 'g:x', 'sms-code', '2026-09', 0
        FROM records WHERE category = 'location'`),
    );
    const error = await errorOf(vault.get('u:kid', ['location'], locator));
    expect(error.code).toBe('INTEGRITY');
    expect(error.message).toMatch(/^consents row cns_/);
    const entry = lastEntry(path);
    expect(entry).toMatchObject({ action: 'get', outcome: 'error', reason: 'INTEGRITY' });
    expect((JSON.parse(entry.detail!) as { tampered: string }).tampered).toMatch(/^consents:cns_/);
    expect((await errorOf(vault.protections('u:kid', locator))).code).toBe('INTEGRITY');
    expect((await errorOf(vault.consent.list('u:kid', guardian))).code).toBe('INTEGRITY');
    await vault.close();
  });

  it('a genuine consent moved to another child, or un-withdrawn, fails authentication', async () => {
    const { vault, path } = await exampleVault();
    const grant = { purpose: 'location-sharing', categories: ['location'], guardianRef: 'g:mother', verification: 'sms-code', noticeVersion: '2026-09' };
    await vault.consent.grant('u:kid', grant, { ...guardian, purpose: 'location-sharing' });
    expect((await vault.get('u:kid', ['location'], locator)).location).toBeDefined();
    tamper(path, (db) => db.exec("UPDATE consents SET subject_tag = (SELECT subject_tag FROM records WHERE subject_tag != consents.subject_tag LIMIT 1)"));
    expect((await errorOf(vault.get('u:other', ['location'], locator))).code).toBe('INTEGRITY');
    tamper(path, (db) => db.exec("UPDATE consents SET subject_tag = (SELECT subject_tag FROM records r WHERE r.category = 'contact')"));
    await vault.consent.withdraw('u:kid', { purpose: 'location-sharing' }, { ...guardian, purpose: 'location-sharing' });
    tamper(path, (db) => db.exec('UPDATE consents SET withdrawn_at = NULL'));
    // The withdrawal erased the location, so a read holds nothing to decide on; a new location
    // put for the purpose decides on the consent, and meets the forged row.
    expect((await errorOf(vault.put('u:kid', { location: sampleLocation }, locator))).code).toBe('INTEGRITY');
    await vault.close();
  });

  it('a forged approval, a reset read budget, a widened approval scope and a reset read counter are each refused', async () => {
    const { vault, path } = await exampleVault();
    const approval = await vault.approvals.create(
      { actor: 'staff:mod-wang', subjects: ['u:kid'], categories: ['location'], purpose: 'safety-review', reason: 'report 5521', expiresAt: new Date('2026-11-11T00:00:00Z'), readBudget: 1 },
      officer,
    );
    await vault.get('u:kid', ['location'], moderator(approval.id));
    expect((await errorOf(vault.get('u:kid', ['location'], moderator(approval.id)))).code).toBe('APPROVAL_REQUIRED'); // budget spent
    tamper(path, (db) => db.exec('UPDATE approvals SET reads_used = 0'));
    expect((await errorOf(vault.get('u:kid', ['location'], moderator(approval.id)))).code).toBe('INTEGRITY');
    tamper(path, (db) => db.exec('UPDATE approvals SET reads_used = 1'));
    expect((await errorOf(vault.get('u:kid', ['location'], moderator(approval.id)))).code).toBe('APPROVAL_REQUIRED'); // the genuine row again
    tamper(path, (db) =>
      db.exec(`INSERT INTO approvals (id, officer, actor, purpose, categories, reason, created_at, expires_at, read_budget)
        VALUES ('apv_00000000-0000-7000-8000-000000000001', 'staff:cpo-li', 'staff:mod-wang', 'safety-review', 'location', 'x', 0, 9999999999999, 1000);
        INSERT INTO approval_subjects (approval_id, subject_tag) SELECT DISTINCT 'apv_00000000-0000-7000-8000-000000000001', subject_tag FROM records`),
    );
    expect((await errorOf(vault.get('u:kid', ['location'], moderator('apv_00000000-0000-7000-8000-000000000001')))).code).toBe('INTEGRITY');
    tamper(path, (db) => db.exec(`INSERT INTO approval_subjects (approval_id, subject_tag) SELECT DISTINCT '${approval.id}', subject_tag FROM records WHERE subject_tag NOT IN (SELECT subject_tag FROM approval_subjects)`));
    tamper(path, (db) => db.exec('UPDATE approvals SET reads_used = 0, read_budget = 5'));
    expect((await errorOf(vault.get('u:other', ['location'], moderator(approval.id)))).code).toBe('INTEGRITY');
    await vault.close();
  });

  it('a read counter reset to zero (to lift the hourly limit) fails authentication', async () => {
    const { vault, path } = await exampleVault();
    const approval = await vault.approvals.create(
      { actor: 'staff:mod-wang', subjects: ['u:kid'], categories: ['location'], purpose: 'safety-review', reason: 'report 5521', expiresAt: new Date('2026-11-11T00:00:00Z'), readBudget: 100 },
      officer,
    );
    for (let i = 0; i < 60; i++) await vault.get('u:kid', ['location'], moderator(approval.id));
    expect((await errorOf(vault.get('u:kid', ['location'], moderator(approval.id)))).code).toBe('RATE_LIMITED');
    tamper(path, (db) => db.exec('UPDATE read_counters SET counts = zeroblob(240)'));
    expect((await errorOf(vault.get('u:kid', ['location'], moderator(approval.id)))).code).toBe('INTEGRITY');
    tamper(path, (db) => db.exec("DELETE FROM read_counters WHERE actor = 'staff:mod-wang'"));
    await vault.close();
  });

  it('a child marked a canary is not flagged, and forged or deleted status totals are refused', async () => {
    const { vault, path } = await freshVault();
    await vault.put('u:kid', { contact }, ctx);
    tamper(path, (db) => db.exec('INSERT INTO canaries (subject_tag, planted_at) SELECT subject_tag, 0 FROM records'));
    expect((await errorOf(vault.get('u:kid', ['contact'], ctx))).code).toBe('INTEGRITY');
    tamper(path, (db) => db.exec('DELETE FROM canaries'));
    expect((await vault.get('u:kid', ['contact'], ctx)).contact).toBeDefined();
    await vault.erase('u:kid', ctx);
    expect((await vault.status(ctx)).erasures.notBackupSafe).toBe(1);
    tamper(path, (db) => db.exec('UPDATE erasure_totals SET since_master_rotation = 0'));
    expect((await errorOf(vault.status(ctx))).code).toBe('INTEGRITY');
    tamper(path, (db) => db.exec('DELETE FROM erasure_totals'));
    expect((await errorOf(vault.status(ctx))).message).toMatch(/erasure_totals row 1 is missing/);
    await vault.close();
  });

  it('a forged rotation row (cursor moved past data keys) is refused before the rotation resumes', async () => {
    const { vault, path } = await freshVault();
    for (let i = 0; i < 3; i++) await vault.put(`u:${i}`, { location: sampleLocation }, ctx);
    const stop = await errorOf(vault.keys.rotate({ batchSize: 1, onProgress: () => { throw new VaultError('CONFLICT', 'stop'); } }, ctx));
    expect(stop.message).toBe('stop');
    tamper(path, (db) => db.exec('UPDATE key_rotations SET cursor = 1000000'));
    expect((await errorOf(vault.keys.rotate({}, ctx))).code).toBe('INTEGRITY');
    await vault.close();
  });

  it('a forged blind-index digest does not make the guard call an innocent value a child\'s', async () => {
    const { vault, path } = await freshVault();
    await vault.put('u:1', { contact: { phone: '+8613800138000' } }, ctx);
    tamper(path, (db) => db.exec("UPDATE blind_index SET canary = 1"));
    expect((await errorOf(Promise.resolve().then(() => { vault.guard.assertNoMinorData({ note: 'call +8613800138000' }); }))).code).toBe('INTEGRITY');
    await vault.close();
  });
});

describe('approvals cannot be self-granted through a look-alike id, and are a policy action (attack 5)', () => {
  async function approveAs(actor: string, by: AccessContext = officer) {
    const { vault } = await exampleVault();
    try {
      return await errorOf(
        vault.approvals.create({ actor, subjects: ['u:kid'], categories: ['location'], purpose: 'safety-review', reason: 'ticket 1', expiresAt: new Date('2026-11-11T00:00:00Z'), readBudget: 1 }, by),
      );
    } finally {
      await vault.close();
    }
  }

  it.each([
    ['Cyrillic і', 'staff:cpo-lі', 'VALIDATION'],
    ['upper case', 'Staff:cpo-li', 'VALIDATION'],
    ['a trailing dot', 'staff:cpo-li.', 'VALIDATION'],
    ['the digit 1 for l', 'staff:cpo-1i', 'ACCESS_DENIED'],
    ['another separator', 'staff_cpo-li', 'ACCESS_DENIED'],
    ['itself', 'staff:cpo-li', 'ACCESS_DENIED'],
  ])('refuses an officer approving %s', async (_what, actor, code) => {
    expect((await approveAs(actor)).code).toBe(code);
  });

  it('refuses approval management to a role the policy does not grant it, even for an officer', async () => {
    expect((await approveAs('staff:mod-wang', { ...officer, role: 'no-such-role' })).code).toBe('ACCESS_DENIED');
    expect((await approveAs('staff:mod-wang', { ...officer, role: 'moderator', purpose: 'safety-review' })).code).toBe('ACCESS_DENIED');
    const { vault } = await exampleVault();
    expect((await errorOf(vault.approvals.list({ ...officer, role: 'no-such-role' }))).code).toBe('ACCESS_DENIED');
    expect(await vault.approvals.list(officer)).toEqual([]);
    await vault.close();
  });

  it('refuses a policy whose officer ids are not in the approval alphabet', async () => {
    const dir = tempDir();
    const error = await errorOf(openVault({ create: true, path: join(dir, 'p.db'), masterKey: await generateKeyFile(join(dir, 'k')), policy: { ...policy, officers: ['Staff:CPO'] } }));
    expect(error.code).toBe('VALIDATION');
    expect(error.message).toContain('officers[0]');
  });
});

describe('categories named like Object.prototype members (attack 6)', () => {
  it.each(['constructor', 'tostring', 'valueof', 'hasownproperty'])('a custom category %s keeps its retention and is swept and recorded', async (name) => {
    const { z } = await import('zod');
    const dir = tempDir();
    let now = new Date('2026-11-01T00:00:00Z');
    const vault = await openVault({
      create: true,
      path: join(dir, 'p.db'),
      masterKey: await generateKeyFile(join(dir, 'k')),
      categories: { [name]: { schema: z.object({ v: z.number() }), retentionDays: 2 } },
      policy: { version: 1, purposes: { account: { categories: { [name]: 'full' }, consent: 'exempt', legalBasis: 't', impactAssessment: 'PIA-1' } }, roles: { service: { grants: [{ purpose: 'account', actions: ['put', 'get', 'retention', 'status'] }] } }, officers: ['staff:o'], notices: [{ version: 'v1', changedPurposes: [] }] },
      now: () => now,
    });
    const receipt = await vault.put('u:1', { [name]: { v: 1 } }, ctx);
    expect(receipt.expiresAt[name]?.getTime()).toBe(now.getTime() + 2 * DAY);
    now = new Date(now.getTime() + 3 * DAY);
    const sweep = await vault.retention.sweep(ctx);
    expect(sweep.total).toBe(1);
    expect(sweep.erased[name]).toBe(1);
    expect(typeof sweep.total).toBe('number');
    expect((await vault.status({ ...ctx })).erasures.erasures).toBe(1);
    await vault.close();
  });
});

describe('children\'s contacts never enter fields kept forever (attack 9)', () => {
  it.each([
    ['ctx.actor', { actor: '+8613912345678' }, 'VALIDATION'],
    ['ctx.actor', { actor: 'kid.parent@example.com' }, 'VALIDATION'],
    ['ctx.requestId', { requestId: '13912345678' }, 'VALIDATION'],
    ['ctx.requestId', { requestId: 'kid.parent@example.com' }, 'VALIDATION'],
    ['ctx.role', { role: 'kid.parent@example.com' }, 'VALIDATION'],
  ])('refuses %s holding a contact, and records nothing', async (field, change, code) => {
    const { vault, path } = await exampleVault();
    const before = lastEntry(path).seq;
    const error = await errorOf(vault.get('u:kid', ['contact'], { actor: 'svc:app', role: 'service', purpose: 'account', ...change }));
    expect(error.code).toBe(code);
    expect(error.field).toBe(field);
    expect(lastEntry(path).seq).toBe(before);
    await vault.close();
  });

  it('refuses a stored child\'s address as an actor name (it has no contact shape: the blind index knows it)', async () => {
    const { vault } = await freshVault();
    await vault.put('u:kid', { contact: { address: '杭州市西湖区文三路9号' } }, ctx);
    const error = await errorOf(vault.status({ ...ctx, actor: '杭州市西湖区文三路9号' }));
    expect(error).toMatchObject({ code: 'PLAINTEXT_LEAK', field: 'ctx.actor' });
    expect(await vault.status({ ...ctx, actor: '杭州市西湖区文三路10号' })).toBeDefined(); // not a stored value
    await vault.close();
  });

  it('a request id that merely contains digits (a UUID) is accepted', async () => {
    const { vault } = await exampleVault();
    const result = await errorOf(vault.get('u:kid', ['contact'], { actor: 'svc:app', role: 'service', purpose: 'account', requestId: '13912345-6781-4000-8000-139123456781' }));
    expect(result.code).toBe('CONSENT_REQUIRED'); // decided, not refused for its request id
    await vault.close();
  });

  it('refuses a phone number, or a stored child\'s address, in an approval reason', async () => {
    const { vault } = await exampleVault();
    const approve = (reason: string) =>
      errorOf(vault.approvals.create({ actor: 'staff:mod-wang', subjects: ['u:kid'], categories: ['location'], purpose: 'safety-review', reason, expiresAt: new Date('2026-11-11T00:00:00Z'), readBudget: 1 }, officer));
    expect((await approve('called parent on +86 139 1234 5678')).code).toBe('VALIDATION');
    expect((await approve('No. 9 Wensan Road, Xihu District, Hangzhou')).code).toBe('PLAINTEXT_LEAK');
    await vault.close();
  });
});

describe('smaller holes found under attack', () => {
  it('a refused getMany is recorded with the refused subject and its categories', async () => {
    const { vault, path } = await exampleVault();
    const error = await errorOf(vault.getMany([{ subject: 'u:other', categories: ['location'] }, { subject: 'u:kid', categories: ['location'] }], locator));
    expect(error.code).toBe('CONSENT_REQUIRED');
    const entry = rows<{ subject: Uint8Array | null; categories: string; detail: string }>(path, 'SELECT subject, categories, detail FROM audit_log ORDER BY seq DESC LIMIT 1')[0]!;
    expect(entry.subject).not.toBeNull();
    expect(entry.categories).toBe('location');
    expect(JSON.parse(entry.detail)).toEqual({ item: 0, items: 2 });
    await vault.close();
  });

  it('a value of a category the vault no longer declares is skipped and reported by the retention sweep, not fatal', async () => {
    const { z } = await import('zod');
    const dir = tempDir();
    const path = join(dir, 'p.db');
    const keyPath = join(dir, 'k');
    await generateKeyFile(keyPath);
    const policy = (categories: string[]): PolicyInput => ({
      version: 1,
      purposes: { account: { categories: Object.fromEntries(categories.map((c) => [c, 'full'])), consent: 'exempt', legalBasis: 't', impactAssessment: 'PIA-1' } },
      roles: { service: { grants: [{ purpose: 'account', actions: ['put', 'retention'] }] } },
      officers: ['staff:o'],
      notices: [{ version: 'v1', changedPurposes: [] }],
    });
    const before = await openVault({ create: true, path, masterKey: keyFile(keyPath), categories: { hobby: { schema: z.object({ v: z.number() }), retentionDays: 2 } }, policy: policy(['hobby', 'location']) });
    await before.put('u:1', { hobby: { v: 1 }, location: sampleLocation }, ctx);
    await before.close();
    // The configuration no longer declares `hobby`: its value has no retention to go by.
    const after = await openVault({ create: true, path, masterKey: keyFile(keyPath), policy: policy(['location']) });
    const sweep = await after.retention.sweep(ctx);
    expect(sweep).toMatchObject({ scanned: 2, total: 0, skipped: 1, tampered: 0 });
    expect(JSON.parse(lastEntry(path).detail!)).toMatchObject({ skipped: 1 });
    await after.close();
  });

  it('protections() is decided by the policy: a role with no grant for the purpose is refused, and the refusal recorded', async () => {
    const { vault, path } = await exampleVault();
    const error = await errorOf(vault.protections('u:kid', { actor: 'staff:mod-wang', role: 'moderator', purpose: 'account' }));
    expect(error.code).toBe('ACCESS_DENIED');
    expect(lastEntry(path)).toMatchObject({ action: 'protections', outcome: 'denied', reason: 'ACCESS_DENIED' });
    await vault.close();
  });

  it('Vault.open cannot be called around openVault', async () => {
    const { Vault } = await import('../../src/index.js');
    const vaultClass = Vault as unknown as { open: (token: unknown, init: unknown) => Promise<unknown> };
    expect((await errorOf(vaultClass.open(Symbol('childvault/openVault'), {}))).code).toBe('USAGE');
    const dts = readFileSync(new URL('../../dist/vault.d.ts', import.meta.url), 'utf8');
    expect(dts).not.toMatch(/static open/);
  });

  it('close signs a checkpoint over the entries left unsigned, and a checkpoint follows a minute of quiet', async () => {
    const dir = tempDir();
    let now = new Date('2026-11-01T00:00:00Z');
    const path = join(dir, 'p.db');
    const keyPath = join(dir, 'k');
    await generateKeyFile(keyPath);
    const vault = await openVault({ create: true, path, masterKey: keyFile(keyPath), policy: (await import('../helpers/policy.js')).testPolicy, now: () => now });
    await vault.put('u:1', { location: sampleLocation }, ctx);
    const lastCheckpoint = () => rows<{ seq: number }>(path, 'SELECT max(seq) AS seq FROM audit_checkpoints')[0]!.seq;
    expect(lastCheckpoint()).toBe(0);
    now = new Date(now.getTime() + 61_000);
    await vault.put('u:2', { location: sampleLocation }, ctx);
    expect(lastCheckpoint()).toBe(lastEntry(path).seq);
    await vault.put('u:3', { location: sampleLocation }, ctx);
    expect(lastCheckpoint()).toBeLessThan(lastEntry(path).seq);
    await vault.close();
    expect(lastCheckpoint()).toBe(lastEntry(path).seq);
  });

  it('entries are never dated before the entry they follow, even when the clock steps back', async () => {
    const dir = tempDir();
    let now = new Date('2026-11-01T00:00:00Z');
    const path = join(dir, 'p.db');
    const vault = await openVault({ create: true, path, masterKey: await generateKeyFile(join(dir, 'k')), policy: (await import('../helpers/policy.js')).testPolicy, now: () => now });
    await vault.put('u:1', { location: sampleLocation }, ctx);
    now = new Date(now.getTime() - 3_600_000);
    await vault.put('u:2', { location: sampleLocation }, ctx);
    const ts = rows<{ ts: number }>(path, 'SELECT ts FROM audit_log ORDER BY seq').map((r) => r.ts);
    expect(ts).toEqual([...ts].sort((a, b) => a - b));
    expect((await vault.audit.verify(ctx)).ok).toBe(true);
    await vault.close();
  });
});
