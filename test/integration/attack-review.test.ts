/**
 * An attack review of the write-access attacker (no master key), done on ae36512 after the first
 * authenticated rows: each test does what someone who can write the vault file (but holds no master
 * key) did then to succeed, and checks that it no longer does — the vault refuses the tampered
 * file (INTEGRITY), or keeps working correctly.
 */
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { generateKeyFile, isVaultError, keyFile, openVault, verifyAuditExportFile, type PolicyInput, type Vault } from '../../src/index.js';
import { ctx, freshVault, sampleLocation, tempDir } from '../helpers/fixtures.js';
import { EXAMPLE_POLICY_PATH } from '../helpers/policy.js';
import { errorOf } from '../helpers/unit-errors.js';
import { contact, copyFormat1Vault, count, DAY, exampleVault, forgeEntry, guardian, keyOps, locator, moderator, officer, operator, policy, rows, tamper } from '../helpers/attacker.js';
import { runCli } from '../helpers/processes.js';

/** Resolves to the value, or to the VaultError the promise rejected with. */
async function settle<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: Error & { code: string } }> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    if (isVaultError(error)) return { ok: false, error };
    throw error;
  }
}

function approve(vault: Vault, readBudget = 1) {
  return vault.approvals.create(
    { actor: 'staff:mod-wang', subjects: ['u:kid'], categories: ['location'], purpose: 'safety-review', reason: 'report 5521', expiresAt: new Date('2026-11-11T00:00:00Z'), readBudget },
    officer,
  );
}

describe('F1 SQL triggers planted in the file run inside the vault\'s own transactions', () => {
  it('a BEFORE INSERT trigger on audit_log (to drop chosen entries) is refused before it can run', async () => {
    const { vault, path, open } = await exampleVault();
    const approval = await approve(vault, 5);
    await vault.close();
    tamper(path, (db) => db.exec(`CREATE TRIGGER audit_filter BEFORE INSERT ON audit_log
      WHEN NEW.actor = 'staff:mod-wang' OR NEW.outcome <> 'allowed' BEGIN SELECT RAISE(IGNORE); END`));
    const opened = await settle(open());
    if (!opened.ok) {
      expect(['INTEGRITY', 'CORRUPT']).toContain(opened.error.code); // fixed: a schema the vault did not create is refused
      return;
    }
    const v = opened.value;
    const read = await settle(v.get('u:kid', ['location'], moderator(approval.id)));
    const refused = await settle(v.get('u:kid', ['location'], locator)); // no consent: CONSENT_REQUIRED
    expect(refused.ok).toBe(false);
    const report = await v.audit.verify(officer);
    await v.close();
    const staffEntries = count(path, "SELECT count(*) AS n FROM audit_log WHERE actor = 'staff:mod-wang'");
    const refusals = count(path, "SELECT count(*) AS n FROM audit_log WHERE outcome <> 'allowed'");
    // What happens today: the read was served (a child's location left the vault) ...
    expect(read.ok).toBe(true);
    // ... yet neither it nor the refusal is in the log, and verification says the log is whole.
    expect(report.ok).toBe(true);
    // SHOULD: every served read and every refusal is in the log.
    expect({ staffEntries, refusals }).toEqual({ staffEntries: 1, refusals: 1 });
  });

  it('UPDATE triggers that would undo a revocation, a read budget or a withdrawal, and one that drops read counters, are refused', async () => {
    const { vault, path, open } = await exampleVault();
    const approval = await approve(vault, 1);
    const grant = { purpose: 'location-sharing', categories: ['location'], guardianRef: 'g:mother', verification: 'sms-code', noticeVersion: '2026-09' };
    await vault.consent.grant('u:kid', grant, { ...guardian, purpose: 'location-sharing' });
    await vault.close();
    tamper(path, (db) =>
      db.exec(`
        CREATE TRIGGER keep_approval AFTER UPDATE ON approvals BEGIN
          UPDATE approvals SET reads_used = OLD.reads_used, revoked_at = OLD.revoked_at, mac = OLD.mac WHERE id = OLD.id; END;
        CREATE TRIGGER keep_consent AFTER UPDATE OF withdrawn_at ON consents BEGIN
          UPDATE consents SET withdrawn_at = NULL, mac = OLD.mac WHERE id = OLD.id; END;
        CREATE TRIGGER no_counters BEFORE INSERT ON read_counters BEGIN SELECT RAISE(IGNORE); END;`),
    );
    const opened = await settle(open());
    if (!opened.ok) {
      expect(['INTEGRITY', 'CORRUPT']).toContain(opened.error.code);
      return;
    }
    const v = opened.value;
    await v.approvals.revoke(approval.id, officer); // reported done, audited as allowed
    await v.consent.withdraw('u:kid', { purpose: 'location-sharing' }, { ...guardian, purpose: 'location-sharing' }); // reported done
    let staffReads = 0;
    for (let i = 0; i < 70; i++) if ((await settle(v.get('u:kid', ['location'], moderator(approval.id)))).ok) staffReads++;
    const appReads = (await settle(v.get('u:kid', ['location'], locator))).ok;
    await v.close();
    // SHOULD: a revoked approval with a budget of 1 serves nothing (and never more than maxReadsPerHour = 60),
    // and a withdrawn consent serves nothing (its category was erased).
    expect({ staffReads, appReads }).toEqual({ staffReads: 0, appReads: false });
  });

  it('a DELETE trigger that would keep erased values, and one that keeps a destroyed KEK, are refused', async () => {
    const { dir, vault, path, open } = await exampleVault();
    await vault.close();
    tamper(path, (db) =>
      db.exec(`
        CREATE TABLE records_stats AS SELECT * FROM records WHERE 0;
        CREATE TRIGGER keep_erased BEFORE DELETE ON records BEGIN INSERT INTO records_stats SELECT * FROM records WHERE id = OLD.id; END;
        CREATE TRIGGER keep_kek AFTER UPDATE OF state ON keks WHEN NEW.state = 'destroyed' BEGIN
          UPDATE keks SET state = OLD.state, wrapped = OLD.wrapped, destroyed_at = OLD.destroyed_at, mac = OLD.mac WHERE version = OLD.version; END;`),
    );
    const opened = await settle(open());
    if (!opened.ok) {
      expect(['INTEGRITY', 'CORRUPT']).toContain(opened.error.code);
      return;
    }
    const v = opened.value;
    const receipt = await v.erase('u:kid', guardian);
    expect(receipt.erased).toEqual(['contact', 'location']);
    await v.keys.rotate({}, keyOps);
    await v.keys.destroy(1, keyOps); // reported done, audited as key.destroy
    const newKey = join(dir, 'master2.key');
    await generateKeyFile(newKey);
    await v.keys.rotateMaster(keyFile(newKey), keyOps);
    expect((await v.status({ ...keyOps })).erasures.notBackupSafe).toBe(0); // "backup-safe" once the old master key is destroyed
    await v.close();
    // Whoever later holds the (new) master key puts the kept row back:
    tamper(path, (db) => db.exec('INSERT INTO records SELECT * FROM records_stats'));
    const reopened = await open(newKey);
    const after = await settle(reopened.get('u:kid', ['contact'], guardian));
    await reopened.close();
    // SHOULD: an erased value is gone from the live file once its KEK is destroyed.
    expect(after.ok && after.value.contact?.reveal()).not.toEqual(expect.objectContaining({ phone: contact.phone }));
  });
});

describe('F2 the audit log can be cut at any checkpoint, down to nothing', () => {
  it('a log deleted whole (entries and checkpoints) is caught: the anchor names the last checkpoint signed', async () => {
    const { vault, path, open } = await exampleVault();
    const approval = await approve(vault, 3);
    await vault.get('u:kid', ['location'], moderator(approval.id));
    await vault.close(); // signs a checkpoint over all of it
    const signedBefore = count(path, 'SELECT max(seq) AS n FROM audit_checkpoints');
    expect(signedBefore).toBeGreaterThan(3);
    tamper(path, (db) => db.exec('DELETE FROM audit_log; DELETE FROM audit_checkpoints; DELETE FROM audit_subjects;'));
    const opened = await settle(open());
    if (!opened.ok) {
      expect(['INTEGRITY', 'CORRUPT']).toContain(opened.error.code);
      return;
    }
    const report = await opened.value.audit.verify(officer);
    await opened.value.close();
    // SHOULD: a vault in use (keys, values, consents, approvals, erasure totals all MAC'd) never
    // starts a new log; verification reports the signed entries as missing.
    expect(report.ok).toBe(false);
  });

  it('a log cut back to an earlier checkpoint (entries and later checkpoints deleted) does not verify', async () => {
    const { vault, path, open } = await exampleVault();
    await vault.close(); // checkpoint A
    const a = count(path, 'SELECT max(seq) AS n FROM audit_checkpoints');
    const v2 = await open();
    const approval = await approve(v2, 3);
    await v2.get('u:kid', ['location'], moderator(approval.id));
    await v2.close(); // checkpoint B over the approval and the read
    tamper(path, (db) => db.exec(`DELETE FROM audit_log WHERE seq > ${a}; DELETE FROM audit_checkpoints WHERE seq > ${a};`));
    const v3 = await open();
    const report = await v3.audit.verify(officer);
    await v3.close();
    // SHOULD: signed entries (up to checkpoint B) are not removable without a trace.
    expect(report.ok).toBe(false);
  });

  it('a forged checkpoint row far ahead stops writes (its signature is checked), instead of silently stopping checkpoints', async () => {
    const { vault, path } = await freshVault({ auditCheckpointEvery: 5 });
    tamper(path, (db) => db.prepare('INSERT INTO audit_checkpoints (seq, ts, hash, signature) VALUES (?, ?, zeroblob(32), zeroblob(64))').run(1_000_000_000, 9_000_000_000_000));
    const failures: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await settle(vault.put(`u:${i}`, { location: sampleLocation }, ctx));
      if (!r.ok) failures.push(r.error.code);
    }
    await vault.close();
    const genuine = count(path, 'SELECT count(*) AS n FROM audit_checkpoints WHERE seq < 1000000000');
    // SHOULD: with a checkpoint every 5 entries, 20 writes are either refused (the last checkpoint
    // is not genuine) or signed at least 4 times.
    expect(failures.length > 0 || genuine >= 5).toBe(true);
  });
});

describe('F3 a format-2 vault can be upgraded again with a pre-upgrade master check, authenticating forged rows', () => {
  it('old master_check + format 1 + a log cut to its genesis checkpoint: no second upgrade authenticates a forged approval', async () => {
    const { path, keyPath } = copyFormat1Vault();
    const now = () => new Date('2026-12-04T00:00:00Z');
    // The attacker keeps the 1-row master check of a pre-upgrade backup.
    const oldCheck = rows<{ c: Uint8Array }>(path, 'SELECT master_check AS c FROM vault_meta')[0]!.c;
    const first = await openVault({ create: true, path, masterKey: keyFile(keyPath), policy, now, upgrade: true });
    await first.close(); // upgraded: format 2, vault.upgrade under a checkpoint
    const FORGED = 'apv_00000000-0000-7000-8000-00000000f00d';
    tamper(path, (db) => {
      db.prepare('UPDATE vault_meta SET format_version = 1, master_check = ?').run(oldCheck);
      db.exec('DELETE FROM audit_log; DELETE FROM audit_checkpoints WHERE seq > 0; DELETE FROM read_counters;');
      forgeEntry(db, { action: 'approval.create', approval: FORGED, detail: '{"subjects":99}' });
      db.exec(`INSERT INTO approvals (id, officer, actor, purpose, categories, reason, created_at, expires_at, read_budget)
          VALUES ('${FORGED}', 'staff:cpo-li', 'staff:mod-wang', 'safety-review', 'location', 'x', 0, 9999999999999, 100000);
        INSERT OR IGNORE INTO approval_subjects (approval_id, subject_tag) SELECT DISTINCT '${FORGED}', subject_tag FROM records;`);
    });
    // Never upgraded silently: a format-1 vault is refused unless the upgrade is asked for ...
    const silent = await settle(openVault({ create: true, path, masterKey: keyFile(keyPath), policy, now }));
    expect(!silent.ok && silent.error.code).toBe('MIGRATION');
    // ... and asked for, it finds the traces of its earlier upgrade (MACs on its other rows).
    const asked = await settle(openVault({ create: true, path, masterKey: keyFile(keyPath), policy, now, upgrade: true }));
    expect(!asked.ok && asked.error.code).toBe('INTEGRITY');
    expect(count(path, 'SELECT count(*) AS n FROM approvals WHERE mac IS NOT NULL AND id = ?', FORGED)).toBe(0);
  });
});

describe('F4 attacker-chosen row ids reach the audit log (kept forever)', () => {
  it('a forged consent whose id holds the child\'s phone number does not put that number into the log', async () => {
    const { vault, path } = await exampleVault();
    tamper(path, (db) =>
      db.exec(`INSERT INTO consents (id, subject_tag, purpose, categories, guardian_ref, verification, notice_version, granted_at)
        SELECT 'cns_call-${contact.phone}', subject_tag, 'location-sharing', 'location', 'g:x', 'sms-code', '2026-09', 0 FROM records WHERE category = 'contact'`),
    );
    expect((await errorOf(vault.get('u:kid', ['location'], locator))).code).toBe('INTEGRITY');
    await vault.close();
    // SHOULD: no stored child's contact enters the audit log (README "Names kept forever").
    expect(count(path, 'SELECT count(*) AS n FROM audit_log WHERE detail LIKE ?', `%${contact.phone}%`)).toBe(0);
  });

  it('a forged approval with a 3 MB id is refused without writing its id into the log; exports keep verifying', async () => {
    const { vault, path } = await exampleVault();
    tamper(path, (db) =>
      db.prepare(`INSERT INTO approvals (id, officer, actor, purpose, categories, reason, created_at, expires_at, read_budget) VALUES (?, 'x', 'y', 'z', 'location', 'r', 0, 1, 1)`).run(`apv_${'x'.repeat(3_000_000)}`),
    );
    expect((await errorOf(vault.approvals.list(officer))).code).toBe('INTEGRITY');
    const longest = count(path, 'SELECT max(length(detail)) AS n FROM audit_log');
    const out = join(path, '..', 'audit.jsonl');
    const stream = createWriteStream(out);
    await vault.audit.export(stream, {}, officer);
    stream.end();
    await finished(stream);
    const verdict = await verifyAuditExportFile(out, Buffer.from(vault.audit.publicKey, 'hex'));
    await vault.close();
    expect(longest).toBeLessThan(300); // the forged id is not shown
    // R5: no entry outgrows what the verifier accepts (a line over 1 MiB is refused: verify-file tests).
    expect(Math.max(...readFileSync(out, 'utf8').split('\n').map((l) => Buffer.byteLength(l)))).toBeLessThan(4096);
    expect(verdict.ok).toBe(true); // the vault never writes an entry its own export verifier rejects
  });
});

describe('F5 what the vault reads without authenticating', () => {
  it('`audit report` verifies the log first: entries before the last checkpoint edited to change the regulator\'s figures make it refuse', async () => {
    const { vault, path } = await exampleVault();
    const approval = await approve(vault, 3);
    await vault.get('u:kid', ['location'], moderator(approval.id));
    await vault.audit.checkpoint(officer);
    tamper(path, (db) => db.exec("UPDATE audit_log SET action = 'status', role = 'operator' WHERE actor = 'staff:mod-wang'"));
    await vault.put('u:new', { location: sampleLocation }, operator); // writes never look behind the last checkpoint
    const report = await errorOf(vault.audit.report({ since: new Date('2026-01-01'), until: new Date('2027-01-01') }, officer));
    const verified = await vault.audit.verify(officer);
    await vault.close();
    expect(verified.ok).toBe(false);
    expect(report.code).toBe('INTEGRITY'); // no figures from a log that does not verify
    expect(report.message).toContain(`seq ${verified.problem?.seq ?? '?'}`);
  });

  it('records.written_at moved forward (to keep a value past retention) is caught by the sweep and reported', async () => {
    const { vault, path, advance } = await exampleVault();
    tamper(path, (db) => db.exec("UPDATE records SET written_at = written_at + 100000 * 86400000 WHERE category = 'location'"));
    advance(3 * 365 * DAY); // far past any retention
    const sweep = await vault.retention.sweep({ actor: 'cli:op', role: 'operator', purpose: 'retention' });
    await vault.close();
    // The moved write times fail the records' MACs: left alone (never readable again) and reported,
    // in the summary and the sweep's entry, while genuine expired values are erased.
    expect(sweep.tampered).toBe(2);
    expect(sweep.erased.contact).toBe(1);
    expect(count(path, "SELECT count(*) AS n FROM audit_log WHERE action = 'retention.sweep' AND json_extract(detail, '$.tampered') = 2")).toBe(1);
  });

  it('a presence view of a value the vault never wrote is refused', async () => {
    const { vault, path } = await freshVault();
    await vault.put('u:1', { location: sampleLocation }, ctx);
    const presencePolicy: PolicyInput = {
      version: 1,
      purposes: { account: { categories: { face: 'presence', location: 'full' }, consent: 'exempt', legalBasis: 't', impactAssessment: 'PIA-T' } },
      roles: { service: { grants: [{ purpose: 'account', actions: ['get', 'status'] }] } },
      officers: ['staff:o'],
      notices: [{ version: 'v1', changedPurposes: [] }],
    };
    await vault.close();
    tamper(path, (db) => db.exec("INSERT INTO records (subject_tag, category, dek_id, kek_version, wrapped_dek, format, body, chunk_count, plaintext_bytes, written_at) SELECT subject_tag, 'face', randomblob(16), 1, x'00', 1, x'00', 0, 123456, 9000000000000 FROM records"));
    const v = await openVault({ create: true, path, masterKey: keyFile(join(path, '..', 'master.key')), policy: presencePolicy });
    const got = await settle(v.get('u:1', ['face'], ctx));
    await v.close();
    // SHOULD: a face the vault never stored is not reported present (or the read fails INTEGRITY).
    expect(got.ok && got.value.face !== undefined).toBe(false);
  });
});

describe('F6 denial of service reported misleadingly', () => {
  it('audit_config.checkpoint_every edited: opening names audit_config, instead of accusing the log or checkpoint 0', async () => {
    const { vault, path } = await exampleVault();
    tamper(path, (db) => db.exec('UPDATE audit_config SET checkpoint_every = 1'));
    await vault.close();
    const opened = await errorOf(openVault({ create: true, path, masterKey: keyFile(join(path, '..', 'master.key')), policy, now: () => new Date('2026-11-10T00:00:00Z') }));
    expect(opened.code).toBe('INTEGRITY');
    expect(opened.message).toMatch(/^audit_config row 1 failed authentication/);
  });
});

describe('F1 (continued) the schema itself, not only triggers', () => {
  it('audit_log redefined (writable_schema) with ON CONFLICT IGNORE is refused', async () => {
    const { vault, path, reopen } = await freshVault();
    await vault.put('u:1', { location: sampleLocation }, ctx);
    await vault.close();
    tamper(path, (db) => {
      db.unsafeMode(true);
      db.pragma('writable_schema = ON');
      const sql = (db.prepare("SELECT sql FROM sqlite_schema WHERE name = 'audit_log'").get() as { sql: string }).sql;
      db.prepare("UPDATE sqlite_schema SET sql = ? WHERE name = 'audit_log'").run(sql.replace(/reason\s+TEXT,/, 'reason TEXT NOT NULL ON CONFLICT IGNORE,'));
      db.pragma('writable_schema = OFF');
    });
    const opened = await settle(reopen());
    if (!opened.ok) {
      expect(['INTEGRITY', 'CORRUPT']).toContain(opened.error.code);
      return;
    }
    const before = count(path, 'SELECT count(*) AS n FROM audit_log');
    await opened.value.put('u:2', { location: sampleLocation }, ctx);
    const read = await opened.value.get('u:2', ['location'], ctx);
    expect(read.location).toBeDefined();
    expect((await opened.value.audit.verify(ctx)).ok).toBe(true);
    await opened.value.close();
    // SHOULD: the open, the put and the read are recorded.
    expect(count(path, 'SELECT count(*) AS n FROM audit_log')).toBeGreaterThanOrEqual(before + 3);
  });
});

describe('Review remarks (bugs in 7052018..ae36512)', () => {
  it('R1 a failed open wipes the integrity key', async () => {
    const { vault, keyPath, path } = await freshVault();
    await vault.close();
    const inner = keyFile(keyPath);
    const handedOut: Uint8Array[] = [];
    const spy = {
      id: inner.id,
      attach: (stored: string | null) => inner.attach!(stored),
      wrap: (key: Uint8Array, aad: Uint8Array) => inner.wrap(key, aad),
      unwrap: async (wrapped: Uint8Array, aad: Uint8Array) => {
        const bytes = await inner.unwrap(wrapped, aad);
        handedOut.push(bytes);
        return bytes;
      },
      close: () => inner.close?.(),
    };
    const error = await errorOf(openVault({ create: true, path, masterKey: spy, auditCheckpointEvery: 7 })); // the vault was made with 1000
    expect(error.code).toBe('VALIDATION');
    expect(handedOut.length).toBeGreaterThan(0);
    // SHOULD: every key unwrapped during a failed open is zeroed (the first is the master check, i.e. the integrity key).
    expect(handedOut.map((b) => b.some((x) => x !== 0))).toEqual(handedOut.map(() => false));
  });

  it('R2 after another process rotates the master key (and then the KEK), this process says so, not INTEGRITY', async () => {
    const { dir, vault: a, path, keyPath } = await freshVault();
    const b = await openVault({ create: true, path, masterKey: keyFile(keyPath), policy: (await import('../helpers/policy.js')).testPolicy });
    const next = join(dir, 'next.key');
    await generateKeyFile(next);
    await a.keys.rotateMaster(keyFile(next), ctx);
    await a.keys.rotate({}, ctx);
    const put = await settle(b.put('u:1', { location: sampleLocation }, ctx));
    await a.close();
    await b.close();
    // SHOULD: not INTEGRITY (nothing was tampered with): say the master key changed and the vault must be reopened.
    expect(put.ok || put.error.code !== 'INTEGRITY').toBe(true);
  });

  it('R3 the confusable skeleton catches `c1` (c-one) for `d`', async () => {
    const dir = tempDir();
    const officerPolicy: PolicyInput = { ...policy, officers: ['staff:dong'] };
    const v = await openVault({ create: true, path: join(dir, 'p.db'), masterKey: await generateKeyFile(join(dir, 'k')), policy: officerPolicy, now: () => new Date('2026-11-10T00:00:00Z') });
    await v.put('u:kid', { location: sampleLocation }, operator);
    const made = await settle(
      v.approvals.create(
        { actor: 'staff:c1ong', subjects: ['u:kid'], categories: ['location'], purpose: 'safety-review', reason: 'ticket 1', expiresAt: new Date('2026-11-11T00:00:00Z'), readBudget: 1 },
        { actor: 'staff:dong', role: 'officer', purpose: 'oversight' },
      ),
    );
    await v.close();
    // SHOULD: `staff:c1ong` looks like `staff:dong` (as `staff:clong` does, which is refused).
    expect(made.ok ? 'created' : made.error.code).toBe('ACCESS_DENIED');
  });
});

describe('Review remarks (continued)', () => {
  it('R4 the recovery the INTEGRITY message names for foreign audit_pending rows, `childvault audit discard-pending`, exists, names them all, and records each discard', async () => {
    const { vault, path, keyPath } = await exampleVault();
    await vault.close();
    tamper(path, (db) =>
      db.exec(`INSERT INTO audit_pending (id, ts, actor, role, purpose, action, reason) VALUES (7, 1, 'x', 'y', 'z', 'status', 'WRONG_MASTER_KEY');
        INSERT INTO audit_pending (id, ts, actor, role, purpose, action, reason) VALUES (9, 1, 'x', 'y', 'z', 'put', 'WRONG_MASTER_KEY')`),
    );
    const args = ['--db', path, '--key-file', keyPath, '--policy', EXAMPLE_POLICY_PATH];
    const refused = await runCli(['status', ...args]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('childvault audit discard-pending 7 9');
    const discarded = await runCli(['audit', 'discard-pending', '7', '9', ...args]);
    expect(discarded.code).toBe(0);
    expect((await runCli(['status', ...args])).code).toBe(0);
    expect(count(path, "SELECT count(*) AS n FROM audit_log WHERE action = 'audit.discard-pending'")).toBe(2);
    expect(count(path, 'SELECT count(*) AS n FROM audit_pending')).toBe(0);
  });
});
