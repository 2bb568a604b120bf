/**
 * Every figure `childvault audit report` prints, checked against a history scripted through the
 * library: the report goes to a regulator, so each count must be the count of what happened
 * (issue 10, item 11: "key rotations 12" after 2 rotations).
 *
 * The history is kept in a ledger as it is made — one line per audit entry the operation writes —
 * and the report's tables are checked against counts taken from the ledger; the headline figures
 * are written out as numbers.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { generateKeyFile, keyFile, openVault, type AccessContext } from '../../src/index.js';
import { sampleContact, sampleLocation, tempDir } from '../helpers/fixtures.js';
import { EXAMPLE_POLICY_PATH } from '../helpers/policy.js';
import { runCli } from '../helpers/processes.js';

type Outcome = 'allowed' | 'denied' | 'error';
interface LedgerLine {
  readonly action: string;
  readonly role: string;
  readonly purpose: string;
  readonly outcome: Outcome;
  readonly reason: string | null;
}
interface Count {
  readonly name: string;
  readonly count: number;
}

const DAY = 86_400_000;
const opener = { actor: 'svc:setup', role: 'operator', purpose: 'operations' } as const;
const importer = { actor: 'svc:migrate', role: 'operator', purpose: 'legacy-import' } as const;
const portal = { actor: 'svc:portal', role: 'guardian-portal', purpose: 'guardian-access' } as const;
const sharing = { actor: 'svc:friends', role: 'service', purpose: 'location-sharing' } as const;
const intruder = { actor: 'svc:unknown', role: 'marketing', purpose: 'location-sharing' } as const;
const keyOps = { actor: 'cli:ops', role: 'operator', purpose: 'key-management' } as const;
const officer = { actor: 'staff:cpo-li', role: 'officer', purpose: 'oversight' } as const;
const leakOps = { actor: 'cli:ops', role: 'operator', purpose: 'leak-detection' } as const;
const retentionOps = { actor: 'cli:ops', role: 'operator', purpose: 'retention' } as const;
const statusOps = { actor: 'cli:ops', role: 'operator', purpose: 'operations' } as const;

/** Counts per name, most frequent first, then by name: the report's order. */
function tally(names: readonly string[]): Count[] {
  const counts = new Map<string, number>();
  for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
  return [...counts].map(([name, count]) => ({ name, count })).sort((a, b) => b.count - a.count || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The rows of a text section ("by action:" followed by "  name  count" lines). */
function sectionRows(lines: readonly string[], title: string): Count[] {
  const start = lines.findIndex((l) => l === `${title}:` || l === `${title}: none`);
  expect(start, title).toBeGreaterThanOrEqual(0);
  const rows: Count[] = [];
  for (const line of lines.slice(start + 1)) {
    const m = /^ {2}(\S+) +(\d+)$/.exec(line);
    if (m === null) break;
    rows.push({ name: m[1]!, count: Number(m[2]) });
  }
  return rows;
}

/** Scripts the history; returns the ledger of the entries written inside the period. */
async function scriptHistory(dir: string) {
  const path = join(dir, 'pool.db');
  const keyPath = join(dir, 'master.key');
  const newKeyPath = join(dir, 'master-2.key');
  await generateKeyFile(keyPath);
  await generateKeyFile(newKeyPath);
  let now = Date.parse('2026-05-31T12:00:00Z');
  const vault = await openVault({ create: true, path, masterKey: keyFile(keyPath), policy: EXAMPLE_POLICY_PATH, openedBy: opener, now: () => new Date(now) });
  const ledger: LedgerLine[] = [];
  const did = (ctx: Pick<AccessContext, 'role' | 'purpose'>, action: string, times = 1, outcome: Outcome = 'allowed', reason: string | null = null): void => {
    for (let i = 0; i < times; i++) ledger.push({ action, role: ctx.role, purpose: ctx.purpose, outcome, reason });
  };
  const refused = async (operation: Promise<unknown>, code: string): Promise<void> => {
    await expect(operation).rejects.toMatchObject({ code });
  };
  try {
    // Before the period: the opening and one value (expired, and swept, inside the period).
    await vault.put('u:0', { location: sampleLocation }, importer);

    now = Date.parse('2026-06-01T00:00:00Z'); // the period starts here
    await vault.put('u:1', { location: sampleLocation, contact: sampleContact }, importer);
    did(importer, 'put');
    await vault.put('u:5', { contact: sampleContact }, importer);
    did(importer, 'put');
    await vault.putMany(['u:2', 'u:3', 'u:4'].map((subject) => ({ subject, values: { location: sampleLocation } })), importer, { action: 'import' });
    did(importer, 'import', 3);
    await refused(vault.put('u:6', { location: { ...sampleLocation, lat: 999 } }, importer), 'VALIDATION');
    did(importer, 'put', 1, 'error', 'VALIDATION');

    // Consents: two new grants, one repeated (a retried request), one withdrawal that erases a value.
    const locationGrant = { purpose: 'location-sharing', categories: ['location'], guardianRef: 'g:m1', verification: 'sms-code', noticeVersion: '2026-09' };
    await vault.consent.grant('u:1', locationGrant, portal);
    await vault.consent.grant('u:1', locationGrant, portal);
    await vault.consent.grant('u:1', { ...locationGrant, purpose: 'account', categories: ['contact'] }, portal);
    did(portal, 'consent.grant', 3);

    // Reads: allowed, refused for want of consent, refused to a role the policy does not know.
    await vault.get('u:1', ['location'], sharing);
    did(sharing, 'get');
    await refused(vault.get('u:2', ['location'], sharing), 'CONSENT_REQUIRED');
    did(sharing, 'get', 1, 'denied', 'CONSENT_REQUIRED');
    await refused(vault.get('u:2', ['location'], intruder), 'ACCESS_DENIED');
    did(intruder, 'get', 1, 'denied', 'ACCESS_DENIED');
    await vault.get('u:3', ['location'], portal);
    did(portal, 'get');

    // Erasures: by consent withdrawal, a whole subject, some categories of another.
    const withdrawal = await vault.consent.withdraw('u:1', { purpose: 'location-sharing' }, portal);
    expect(withdrawal.erased).toEqual(['location']);
    did(portal, 'consent.withdraw');
    await vault.erase('u:4', portal);
    did(portal, 'erase');
    await vault.erase('u:1', portal, { categories: ['contact'] });
    did(portal, 'erase');

    // Keys: a dry run and a listing (not key operations), two KEK rotations (start and finish
    // entries each), a destroyed KEK, a refused destruction, a master-key rotation.
    await vault.keys.plan({}, keyOps);
    did(keyOps, 'key.rotate');
    await vault.keys.rotate({}, keyOps);
    await vault.keys.rotate({}, keyOps);
    did(keyOps, 'key.rotate', 4);
    await vault.keys.status(keyOps);
    did(keyOps, 'key.list');
    await vault.keys.destroy(1, keyOps);
    did(keyOps, 'key.destroy');
    await refused(vault.keys.destroy(3, keyOps), 'KEY_IN_USE');
    did(keyOps, 'key.destroy', 1, 'error', 'KEY_IN_USE');
    await vault.keys.rotateMaster(keyFile(newKeyPath), keyOps);
    did(keyOps, 'key.rotate-master');

    // Oversight: two checkpoints, an approval created and revoked.
    await vault.audit.checkpoint(officer);
    await vault.audit.checkpoint(officer);
    did(officer, 'audit.checkpoint', 2);
    const approval = await vault.approvals.create(
      { actor: 'staff:mod-wu', subjects: ['u:5'], categories: ['contact'], purpose: 'safety-review', reason: 'report 17', expiresAt: new Date(now + DAY), readBudget: 2 },
      officer,
    );
    did(officer, 'approval.create');
    await vault.approvals.revoke(approval.id, officer);
    did(officer, 'approval.revoke');

    // Leak guards: a canary planted and read, a guard refusal (recorded as the opener), a scan.
    const canary = await vault.canaries.plant(1, leakOps);
    did(leakOps, 'canary.plant');
    await vault.get(canary.subjects[0]!, ['contact'], portal);
    did(portal, 'get');
    expect(() => { vault.guard.assertNoMinorData({ note: sampleContact.phone }, { where: 'app log' }); }).toThrow(expect.objectContaining({ code: 'PLAINTEXT_LEAK' }));
    did(opener, 'guard.refused', 1, 'denied', 'PLAINTEXT_LEAK');
    const clean = join(dir, 'clean.log');
    writeFileSync(clean, 'GET /health 200\n');
    await vault.guard.scan([clean], leakOps);
    did(leakOps, 'scan');
    await vault.status(statusOps);
    did(statusOps, 'status');

    // 34 days on, past the 30 days of location: a dry run, then the sweep of u:0, u:2 and u:3.
    now = Date.parse('2026-07-05T00:00:00Z');
    await vault.retention.sweep(retentionOps, { dryRun: true });
    const swept = await vault.retention.sweep(retentionOps);
    expect(swept.total).toBe(3);
    did(retentionOps, 'retention.sweep', 2);
  } finally {
    await vault.close();
  }
  return { path, keyPath: newKeyPath, ledger };
}

describe('childvault audit report', () => {
  it('prints every figure as the count of what happened in the period, in JSON and in text', { timeout: 60_000 }, async () => {
    const dir = tempDir();
    const { path, keyPath, ledger } = await scriptHistory(dir);
    const args = ['--db', path, '--key-file', keyPath, '--policy', EXAMPLE_POLICY_PATH, '--since', '2026-06-01', '--until', '2026-07-31'];

    // The chain is the file's as the report saw it (not the period's): read right after each run.
    // The run's last entry is its report; closing the vault then signs a checkpoint at it, after
    // the report was printed, so the report's last checkpoint is the one before.
    const chainNow = () => {
      const db = new Database(path, { readonly: true });
      try {
        const head = db.prepare('SELECT seq, lower(hex(hash)) AS hash FROM audit_log ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string };
        expect(db.prepare('SELECT action FROM audit_log WHERE seq = ?').pluck().get(head.seq)).toBe('audit.report');
        expect(db.prepare('SELECT max(seq) FROM audit_checkpoints').pluck().get()).toBe(head.seq);
        const cp = db.prepare('SELECT seq, ts, lower(hex(hash)) AS hash, lower(hex(signature)) AS signature FROM audit_checkpoints WHERE seq < ? ORDER BY seq DESC LIMIT 1').get(head.seq) as {
          seq: number;
          ts: number;
          hash: string;
          signature: string;
        };
        return { head, lastCheckpoint: { ...cp, ts: new Date(cp.ts).toISOString() } };
      } finally {
        db.close();
      }
    };
    const json = await runCli(['audit', 'report', '--json', ...args]);
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    const jsonChain = chainNow();
    const text = await runCli(['audit', 'report', ...args]);
    expect(text.code).toBe(0);
    const textChain = chainNow();
    expect(textChain.head.seq).toBeGreaterThan(jsonChain.head.seq); // each report is recorded in the log
    const publicKey = (await runCli(['audit', 'public-key', '--db', path, '--key-file', keyPath])).stdout.trim();
    expect(publicKey).toMatch(/^[0-9a-f]{64}$/);
    const vaultId = (JSON.parse((await runCli(['status', '--json', '--db', path, '--key-file', keyPath, '--policy', EXAMPLE_POLICY_PATH])).stdout) as { vaultId: string }).vaultId;

    const denied = ledger.filter((l) => l.outcome === 'denied');
    const failed = ledger.filter((l) => l.outcome === 'error');
    const expected = {
      vaultId,
      period: { since: '2026-06-01T00:00:00.000Z', until: '2026-07-31T23:59:59.999Z' },
      totals: { entries: ledger.length, allowed: ledger.length - denied.length - failed.length, denied: denied.length, error: failed.length },
      byAction: tally(ledger.map((l) => l.action)),
      byPurpose: tally(ledger.map((l) => l.purpose)),
      byRole: tally(ledger.map((l) => l.role)),
      byOutcome: tally(ledger.map((l) => l.outcome)),
      refusals: { total: denied.length, byReason: tally(denied.map((l) => l.reason ?? '')) },
      errors: { total: failed.length, byReason: tally(failed.map((l) => l.reason ?? '')) },
      erasures: { subjects: 1, partial: 1, onConsentWithdrawal: 1, expiredValues: 3 },
      keys: { kekRotations: { completed: 2, started: 2 }, masterKeyRotations: 1, keksDestroyed: 1 },
      consents: { granted: 2, repeatedGrants: 1, withdrawn: 1 },
      approvals: { created: 1, revoked: 1 },
      leaks: { guardRefusals: 1, scans: 1, canaryPlantings: 1, canaryReads: 1 },
      chain: { ...jsonChain, publicKey },
    };
    // The history is what the scenario meant it to be (a ledger slip would weaken every check below).
    expect(expected.totals).toEqual({ entries: 36, allowed: 31, denied: 3, error: 2 });
    expect(JSON.parse(json.stdout)).toEqual(expected);

    const lines = text.stdout.trimEnd().split('\n');
    expect(lines.slice(0, 8)).toEqual([
      `audit report for vault ${vaultId}`,
      'period            2026-06-01T00:00:00.000Z to 2026-07-31T23:59:59.999Z',
      'entries           36 (allowed 31, denied 3, error 2)',
      'erasures          1 whole subject, 1 of some categories, 1 on consent withdrawal; 3 expired values swept',
      'key rotations     2 KEK rotations completed (2 started), 1 master-key rotation; 1 KEK destroyed',
      'consents          granted 2 (1 repeated grant not counted), withdrawn 1',
      'approvals         created 1, revoked 1',
      'leak guards       1 refusal, 1 scan, 1 canary planting, 1 canary read',
    ]);
    expect(sectionRows(lines, 'by action')).toEqual(expected.byAction);
    expect(sectionRows(lines, 'by purpose')).toEqual(expected.byPurpose);
    expect(sectionRows(lines, 'by role')).toEqual(expected.byRole);
    expect(sectionRows(lines, 'refusals (3) by reason')).toEqual(expected.refusals.byReason);
    expect(sectionRows(lines, 'errors (2) by reason')).toEqual(expected.errors.byReason);
    const { head, lastCheckpoint: cp } = textChain;
    expect(lines.slice(-5)).toEqual([
      `chain head        seq ${head.seq}, hash ${head.hash}`,
      `last checkpoint   seq ${cp.seq} at ${cp.ts}`,
      `  hash            ${cp.hash}`,
      `  signature       ${cp.signature}`,
      `public key        ${publicKey}`,
    ]);
  });

  it('counts a rotation a crash interrupted once, when it finishes, and a rotation still running as started only', async () => {
    const dir = tempDir();
    const path = join(dir, 'pool.db');
    const keyPath = join(dir, 'master.key');
    await generateKeyFile(keyPath);
    let now = Date.parse('2026-06-01T00:00:00Z');
    const vault = await openVault({ create: true, path, masterKey: keyFile(keyPath), policy: EXAMPLE_POLICY_PATH, now: () => new Date(now) });
    try {
      await vault.put('u:1', { location: sampleLocation }, importer);
      // The rotation stops after it started (the progress callback throws, as a crash would stop it).
      await expect(vault.keys.rotate({ onProgress: () => { throw new Error('crash'); } }, keyOps)).rejects.toThrow();
      now = Date.parse('2026-06-10T00:00:00Z');
      const june = { since: new Date('2026-06-01T00:00:00Z'), until: new Date('2026-06-09T23:59:59Z') };
      expect((await vault.audit.report(june, officer)).keys.kekRotations).toEqual({ completed: 0, started: 1 });
      await vault.keys.rotate({}, keyOps); // finishes the same rotation
      const whole = { since: new Date('2026-06-01T00:00:00Z'), until: new Date('2026-06-30T00:00:00Z') };
      expect((await vault.audit.report(whole, officer)).keys).toEqual({ kekRotations: { completed: 1, started: 1 }, masterKeyRotations: 0, keksDestroyed: 0 });
    } finally {
      await vault.close();
    }
  });
});
