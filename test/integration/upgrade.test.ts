/**
 * A vault written before rows were authenticated (format 1, test/fixtures/format1) is upgraded at
 * its first open by this version: every row it decides from gets its MAC, its data stays readable,
 * and the upgrade cannot be undone by putting the old master check back.
 */
import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { keyFile, openVault, type AccessContext, type PolicyInput } from '../../src/index.js';
import { EXAMPLE_POLICY_PATH } from '../helpers/policy.js';
import { errorOf } from '../helpers/unit-errors.js';
import { copyFormat1Vault } from '../helpers/attacker.js';
import { runCli } from '../helpers/processes.js';

const policy = JSON.parse(readFileSync(EXAMPLE_POLICY_PATH, 'utf8')) as PolicyInput;
/** The fixture was made on 2026-12-03; its values, consents and approval are valid a day later. */
const now = () => new Date('2026-12-04T00:00:00Z');
const officer: AccessContext = { actor: 'staff:cpo-li', role: 'officer', purpose: 'oversight' };
const app: AccessContext = { actor: 'svc:app', role: 'service', purpose: 'location-sharing' };
const APPROVAL = 'apv_01a23cda-d669-7c8b-b072-83dabe6f1d21';
const AUTHENTICATED = ['audit_log', 'consents', 'approvals', 'approval_subjects', 'keks', 'key_rotations', 'canaries', 'blind_index'];


function query<T>(path: string, sql: string): T[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

describe('upgrading a format-1 vault', () => {
  it('authenticates every row, records the upgrade under a checkpoint, and keeps data, consents and approvals working', async () => {
    const { path, keyPath } = copyFormat1Vault();
    expect(query(path, 'SELECT format_version FROM vault_meta')).toEqual([{ format_version: 1 }]);
    const vault = await openVault({ create: true, path, masterKey: keyFile(keyPath), policy, now, upgrade: true });
    expect(query(path, 'SELECT format_version FROM vault_meta')).toEqual([{ format_version: 2 }]);
    for (const table of AUTHENTICATED) expect(query(path, `SELECT count(*) AS n FROM ${table} WHERE mac IS NULL`), table).toEqual([{ n: 0 }]);
    const upgrade = query<{ seq: number; detail: string }>(path, "SELECT seq, detail FROM audit_log WHERE action = 'vault.upgrade'");
    expect(upgrade).toHaveLength(1);
    expect(JSON.parse(upgrade[0]!.detail)).toMatchObject({ from: 1, to: 2 });
    expect(query(path, `SELECT seq FROM audit_checkpoints WHERE seq = ${upgrade[0]!.seq}`)).toHaveLength(1);
    // The wrong-key attempt that waited in audit_pending entered the chain as an unverified claim.
    expect(query(path, "SELECT count(*) AS n FROM audit_log WHERE action = 'open' AND reason = 'WRONG_MASTER_KEY' AND detail LIKE '%unverified%'")).toEqual([{ n: 1 }]);
    expect((await vault.get('u:1001', ['location'], app)).location?.reveal()).toMatchObject({ lat: 30.2741 });
    const read = await vault.get('u:1001', ['location'], { actor: 'staff:mod-wang', role: 'moderator', purpose: 'safety-review', approval: APPROVAL });
    expect(read.location).toBeDefined();
    expect((await vault.status({ actor: 'cli:op', role: 'operator', purpose: 'operations' })).erasures).toMatchObject({ erasures: 1, notBackupSafe: 1 });
    expect(vault.canaries.count()).toBe(2);
    expect((await vault.audit.verify(officer)).ok).toBe(true);
    await vault.close();
    // Reopening finds a format-2 vault: nothing is upgraded twice.
    const again = await openVault({ create: true, path, masterKey: keyFile(keyPath), policy, now });
    await again.close();
    expect(query(path, "SELECT count(*) AS n FROM audit_log WHERE action = 'vault.upgrade'")).toEqual([{ n: 1 }]);
  });

  it('two openers racing on one format-1 file agree on one upgrade and one integrity key', async () => {
    const { path, keyPath } = copyFormat1Vault();
    const [a, b] = await Promise.all([openVault({ create: true, path, masterKey: keyFile(keyPath), policy, now, upgrade: true }), openVault({ create: true, path, masterKey: keyFile(keyPath), policy, now, upgrade: true })]);
    await a.get('u:1001', ['location'], app);
    await b.get('u:1001', ['location'], app);
    expect((await b.audit.verify(officer)).ok).toBe(true);
    await a.close();
    await b.close();
    expect(query(path, "SELECT count(*) AS n FROM audit_log WHERE action = 'vault.upgrade'")).toEqual([{ n: 1 }]);
  });

  it('refuses to forget its MACs when the pre-upgrade master check is put back', async () => {
    const { path, keyPath } = copyFormat1Vault();
    const old = query<{ check: Uint8Array }>(path, 'SELECT master_check AS "check" FROM vault_meta')[0]!.check;
    const vault = await openVault({ create: true, path, masterKey: keyFile(keyPath), policy, now, upgrade: true });
    await vault.close();
    const db = new Database(path);
    db.prepare('UPDATE vault_meta SET format_version = 1, master_check = ?').run(old);
    db.exec("INSERT INTO consents (id, subject_tag, purpose, categories, guardian_ref, verification, notice_version, granted_at) SELECT 'cns_00000000-0000-7000-8000-000000000009', subject_tag, 'location-sharing', 'location', 'g:x', 'sms-code', '2026-09', 0 FROM records LIMIT 1");
    db.close();
    // Never silently: without the upgrade option a format-1 vault is refused, saying why it may be one.
    const silent = await errorOf(openVault({ create: true, path, masterKey: keyFile(keyPath), policy, now }));
    expect(silent.code).toBe('MIGRATION');
    expect(silent.message).toContain('rolled back to an older copy');
    const error = await errorOf(openVault({ create: true, path, masterKey: keyFile(keyPath), policy, now, upgrade: true }));
    expect(error.code).toBe('INTEGRITY');
    expect(error.message).toContain('upgraded before');
    expect(query(path, 'SELECT count(*) AS n FROM consents WHERE mac IS NULL')).toEqual([{ n: 1 }]); // never authenticated
  });

  it('refuses to upgrade over an audit log that does not verify', async () => {
    const { path, keyPath } = copyFormat1Vault();
    const db = new Database(path);
    db.exec("UPDATE audit_log SET actor = 'svc:someone-else' WHERE seq = 3");
    db.close();
    const error = await errorOf(openVault({ create: true, path, masterKey: keyFile(keyPath), policy, now, upgrade: true }));
    expect(error.code).toBe('INTEGRITY');
    expect(error.message).toContain('cannot be upgraded');
    expect(query(path, 'SELECT format_version FROM vault_meta')).toEqual([{ format_version: 1 }]);
  });

  it('through the CLI: every command refuses a format-1 vault naming `childvault upgrade`, which upgrades it once', async () => {
    const { path, keyPath } = copyFormat1Vault();
    const args = ['--db', path, '--key-file', keyPath, '--policy', EXAMPLE_POLICY_PATH];
    const refused = await runCli(['status', ...args]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/is format 1 .*`childvault upgrade`.* \[MIGRATION\]\n$/);
    const upgraded = await runCli(['upgrade', '--db', path, '--key-file', keyPath]);
    expect(upgraded.code).toBe(0);
    expect(upgraded.stdout).toMatch(/is format 2/);
    const status = await runCli(['status', '--json', ...args]);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ formatVersion: 2 });
  });
});

