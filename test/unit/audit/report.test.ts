import Database from 'better-sqlite3';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../../src/audit/audit-log.js';
import { genesisHash, type AuditAction, type AuditRecord } from '../../../src/audit/entry.js';
import { buildAuditReport } from '../../../src/audit/report.js';
import { formatAuditReport } from '../../../src/cli/report-text.js';
import { SecretBytes } from '../../../src/crypto/secret-bytes.js';
import { loadSodium } from '../../../src/crypto/sodium.js';
import { RowMacs } from '../../../src/integrity/row-macs.js';
import { AuditRepository } from '../../../src/store/audit-repository.js';
import { migrate } from '../../../src/store/migrator.js';
import { pseudonym, T0, testSigningKey } from '../../helpers/audit-chain.js';
import { hex } from '../../helpers/unit-bytes.js';
import { expectVaultError } from '../../helpers/unit-errors.js';

const vaultId = Uint8Array.from({ length: 16 }, (_v, i) => i + 1);

let db: Database.Database;
let repo: AuditRepository;
let log: AuditLog;

beforeAll(async () => {
  await loadSodium();
});

beforeEach(async () => {
  db = new Database(':memory:');
  await migrate(db);
  repo = new AuditRepository(db);
  const rows = new RowMacs(new SecretBytes(new Uint8Array(32).fill(4)));
  // What a new vault is made with: its anchor at the genesis.
  const anchor = { seq: 0, hash: genesisHash(vaultId) };
  repo.putAnchor(anchor, rows);
  log = new AuditLog({ repo, rows, vaultId, pseudonymKey: new SecretBytes(new Uint8Array(32).fill(3)), signingKey: testSigningKey(), checkpointEvery: 5 });
});

afterEach(() => {
  db.close();
});

function record(at: number, action: AuditAction, more: Partial<AuditRecord> = {}): AuditRecord {
  return {
    ts: T0 + at,
    actor: 'svc:profile',
    role: 'service',
    purpose: 'account',
    action,
    subject: pseudonym(at),
    categories: ['location'],
    outcome: 'allowed',
    reason: null,
    approval: null,
    consent: null,
    requestId: null,
    detail: null,
    ...more,
  };
}

describe('buildAuditReport', () => {
  it('counts by action, purpose, role, outcome and reason within the period, with the chain head and last checkpoint', async () => {
    log.append(record(-1, 'put')); // before the period
    log.append(record(0, 'put'));
    log.append(record(1, 'get', { purpose: 'safety' }));
    log.append(record(2, 'get', { outcome: 'denied', reason: 'POLICY', role: 'support' }));
    log.append(record(3, 'get', { outcome: 'error', reason: 'INTEGRITY' }));
    log.append(record(4, 'erase', { role: 'officer', purpose: 'erasure', detail: { scope: 'subject' } })); // seq 6
    log.append(record(5, 'erase', { outcome: 'denied', reason: 'POLICY' }));
    log.append(record(6, 'key.rotate', { role: 'officer', subject: null, categories: [], detail: { phase: 'finish', toVersion: 2, rewrapped: 0, reencrypt: false } }));
    log.append(record(7, 'key.rotate-master', { role: 'officer', subject: null, categories: [] }));
    log.append(record(8, 'consent.grant'));
    log.append(record(9, 'consent.grant'));
    log.append(record(10, 'consent.withdraw', { detail: { erased: '', withdrawn: 1 } })); // seq 12
    log.append(record(11, 'approval.create'));
    log.append(record(12, 'approval.revoke'));
    log.append(record(20, 'put')); // after the period
    const report = buildAuditReport(repo, { since: T0, until: T0 + 12, publicKey: testSigningKey().publicKey, vaultId });

    expect(report.vaultId).toBe('01020304-0506-0708-090a-0b0c0d0e0f10');
    expect(report.period).toEqual({ since: '2026-11-27T10:00:00.000Z', until: '2026-11-27T10:00:00.012Z' });
    expect(report.totals).toEqual({ entries: 13, allowed: 10, denied: 2, error: 1 });
    expect(report.byAction).toEqual([
      { name: 'get', count: 3 },
      { name: 'consent.grant', count: 2 },
      { name: 'erase', count: 2 },
      { name: 'approval.create', count: 1 },
      { name: 'approval.revoke', count: 1 },
      { name: 'consent.withdraw', count: 1 },
      { name: 'key.rotate', count: 1 },
      { name: 'key.rotate-master', count: 1 },
      { name: 'put', count: 1 },
    ]);
    expect(report.byPurpose).toContainEqual({ name: 'safety', count: 1 });
    expect(report.byRole).toEqual([
      { name: 'service', count: 9 },
      { name: 'officer', count: 3 },
      { name: 'support', count: 1 },
    ]);
    expect(report.byOutcome).toEqual([
      { name: 'allowed', count: 10 },
      { name: 'denied', count: 2 },
      { name: 'error', count: 1 },
    ]);
    expect(report.refusals).toEqual({ total: 2, byReason: [{ name: 'POLICY', count: 2 }] });
    expect(report.errors).toEqual({ total: 1, byReason: [{ name: 'INTEGRITY', count: 1 }] });
    expect(report.erasures).toEqual({ subjects: 1, partial: 0, onConsentWithdrawal: 0, expiredValues: 0 });
    expect(report.keys).toEqual({ kekRotations: { completed: 1, started: 0 }, masterKeyRotations: 1, keksDestroyed: 0 });
    expect(report.consents).toEqual({ granted: 2, repeatedGrants: 0, withdrawn: 1 });
    expect(report.approvals).toEqual({ created: 1, revoked: 1 });

    const head = repo.head()!;
    const last = repo.lastCheckpoint()!;
    expect(report.chain).toEqual({
      head: { seq: 15, hash: hex(head.hash) },
      lastCheckpoint: { seq: 15, ts: new Date(last.ts).toISOString(), hash: hex(last.hash), signature: hex(last.signature) },
      publicKey: hex(testSigningKey().publicKey),
    });
  });

  it('holds no pseudonyms, actors or details — only counts and codes', async () => {
    log.append(record(0, 'get', { actor: 'svc:PLANTED-ACTOR', detail: { note: 'PLANTED-DETAIL' }, requestId: 'PLANTED-REQ' }));
    const report = buildAuditReport(repo, { since: T0, until: T0, publicKey: testSigningKey().publicKey, vaultId });
    const text = JSON.stringify(report) + formatAuditReport(report).join('\n');
    expect(text).not.toContain('PLANTED');
    expect(text).not.toContain(hex(pseudonym(0)));
  });

  it('reports zeros, an empty chain and no checkpoint for an empty log', async () => {
    const report = buildAuditReport(repo, { since: 0, until: T0, publicKey: testSigningKey().publicKey, vaultId });
    expect(report.totals).toEqual({ entries: 0, allowed: 0, denied: 0, error: 0 });
    expect(report.byAction).toEqual([]);
    expect(report.chain.head).toBeNull();
    expect(report.chain.lastCheckpoint).toBeNull();
    const lines = formatAuditReport(report);
    expect(lines).toContain('by action: none');
    expect(lines).toContain('last checkpoint   none');
  });

  it('refuses a period that runs backwards or is not whole milliseconds', async () => {
    expectVaultError(() => buildAuditReport(repo, { since: T0, until: T0 - 1, publicKey: new Uint8Array(32), vaultId }), 'VALIDATION');
    expectVaultError(() => buildAuditReport(repo, { since: 0.5, until: T0, publicKey: new Uint8Array(32), vaultId }), 'VALIDATION');
  });
});

describe('formatAuditReport', () => {
  it('prints totals, tables and the chain', async () => {
    log.append(record(0, 'put'));
    log.append(record(1, 'get', { outcome: 'denied', reason: 'POLICY' }));
    log.checkpoint(T0 + 2);
    const lines = formatAuditReport(buildAuditReport(repo, { since: T0, until: T0 + 5, publicKey: testSigningKey().publicKey, vaultId }));
    expect(lines[0]).toBe('audit report for vault 01020304-0506-0708-090a-0b0c0d0e0f10');
    expect(lines).toContain('entries           2 (allowed 1, denied 1, error 0)');
    expect(lines).toContain('refusals (1) by reason:');
    expect(lines).toContain('  POLICY  1');
    expect(lines.some((l) => /^last checkpoint {3}seq 2 at 2026-11-27T10:00:00\.002Z$/.test(l))).toBe(true);
    expect(lines.at(-1)).toBe(`public key        ${hex(testSigningKey().publicKey)}`);
  });
});
