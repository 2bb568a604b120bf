/** The audit log as the vault writes it: one entry per operation, in the operation's transaction. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { generateKeyFile, keyFile, openVault, verifyAuditExportFile } from '../../src/index.js';
import { ctx, freshVault, sampleContact, sampleLocation, tempDir } from '../helpers/fixtures.js';
import { testPolicy } from '../helpers/policy.js';
import { completion, startScript } from '../helpers/processes.js';
import { errorOf } from '../helpers/unit-errors.js';

interface Row {
  seq: number;
  actor: string;
  action: string;
  subject: Buffer | null;
  categories: string;
  outcome: string;
  reason: string | null;
  detail: string | null;
  request_id: string | null;
}

function entries(path: string): Row[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT seq, actor, action, subject, categories, outcome, reason, detail, request_id FROM audit_log ORDER BY seq').all() as Row[];
  } finally {
    db.close();
  }
}

async function exportText(run: (out: PassThrough) => Promise<unknown>): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await run(out);
  out.end();
  return Buffer.concat(chunks).toString('utf8');
}

describe('recording', () => {
  it('writes one entry per operation, with a pseudonym instead of the subject id', async () => {
    const { vault, path } = await freshVault();
    await vault.put('u:1', { location: sampleLocation, contact: sampleContact }, { ...ctx, requestId: 'req-42' });
    await vault.get('u:1', ['location'], ctx);
    await vault.putMany([{ subject: 'u:2', values: { location: sampleLocation } }, { subject: 'u:3', values: { contact: sampleContact } }], ctx);
    await vault.erase('u:3', ctx);
    await vault.status(ctx);
    const rows = entries(path);
    expect(rows.map((r) => `${r.action}:${r.outcome}`)).toEqual(['open:allowed', 'put:allowed', 'get:allowed', 'put:allowed', 'put:allowed', 'erase:allowed', 'status:allowed']);
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const [, put, get, , u3, erase] = rows;
    expect(put?.categories).toBe('contact,location');
    expect(put?.request_id).toBe('req-42');
    expect(put?.subject?.length).toBe(32);
    expect(get?.subject?.equals(put!.subject!)).toBe(true);
    expect(get?.detail).toBe('{"returned":1,"views":"location:full"}');
    expect(erase?.subject?.equals(u3!.subject!)).toBe(true);
    expect(erase?.categories).toBe('contact');
    expect(rows[0]?.subject).toBeNull();
    await vault.close();
  });

  it('records the import of each item as action "import"', async () => {
    const { vault, path, dir } = await freshVault();
    const { importJsonl } = await import('../../src/import/jsonl-import.js');
    const file = join(dir, 'in.jsonl');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, `${JSON.stringify({ subject: 'u:1', category: 'location', value: sampleLocation })}\n${JSON.stringify({ subject: 'u:2', category: 'contact', value: sampleContact })}\n`);
    await importJsonl(vault, file, { ctx });
    expect(entries(path).filter((r) => r.action === 'import')).toHaveLength(2);
    await vault.close();
  });

  it('records refusals and failures as error entries, and nothing as allowed', async () => {
    const { vault, path } = await freshVault({ dataKeyCacheSize: 0 });
    await vault.put('u:1', { contact: sampleContact }, ctx);
    expect((await errorOf(vault.put('u:1', { location: { ...sampleLocation, lat: 95 } }, ctx))).code).toBe('VALIDATION');
    const db = new Database(path);
    db.prepare("UPDATE records SET body = zeroblob(length(body)) WHERE category = 'contact'").run();
    db.close();
    expect((await errorOf(vault.get('u:1', ['contact'], ctx))).code).toBe('INTEGRITY');
    const rows = entries(path).slice(2);
    expect(rows.map((r) => `${r.action}:${r.outcome}:${r.reason ?? ''}`)).toEqual(['put:error:VALIDATION', 'get:error:INTEGRITY']);
    expect(rows[0]?.subject).not.toBeNull();
    expect(rows[0]?.categories).toBe('location');
    await vault.close();
  });

  it('does not record calls whose access context is malformed (they cannot be attributed)', async () => {
    const { vault, path } = await freshVault();
    await errorOf(vault.get('u:1', ['location'], { actor: '', role: 'x', purpose: 'y' }));
    expect(entries(path).map((r) => r.action)).toEqual(['open']);
    await vault.close();
  });

  it('records an attempt to open with a wrong master key: it enters the chain at the next open', async () => {
    const { vault, path, dir, reopen } = await freshVault();
    await vault.put('u:1', { contact: sampleContact }, ctx);
    await vault.close();
    const before = entries(path);
    const other = await generateKeyFile(join(dir, 'other.key'));
    expect((await errorOf(openVault({ create: true, path, masterKey: other, openedBy: { actor: 'cli:mallory' } }))).code).toBe('WRONG_MASTER_KEY');
    expect(entries(path)).toEqual(before); // nothing can be signed without the key: it waits
    const again = await reopen();
    const after = entries(path);
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.slice(before.length).map((r) => [r.action, r.outcome, r.reason, r.actor])).toEqual([
      ['open', 'error', 'WRONG_MASTER_KEY', 'cli:mallory'],
      ['open', 'allowed', null, `process:${process.pid}`],
    ]);
    expect((await again.audit.verify(ctx)).ok).toBe(true);
    await again.close();
  });

  it('signs a checkpoint every N entries', async () => {
    const { vault, path } = await freshVault({ auditCheckpointEvery: 5 });
    for (let i = 0; i < 12; i++) await vault.get('u:1', ['location'], ctx);
    const db = new Database(path, { readonly: true });
    const seqs = (db.prepare('SELECT seq FROM audit_checkpoints ORDER BY seq').all() as { seq: number }[]).map((r) => r.seq);
    db.close();
    expect(seqs).toEqual([0, 5, 10]); // the genesis checkpoint, then one every 5 entries
    await vault.close();
  });
});

describe('no entry, no operation', () => {
  it('does not store or return anything when the entry cannot be written', async () => {
    const { vault, path } = await freshVault();
    await vault.put('u:1', { contact: sampleContact }, ctx);
    const db = new Database(path);
    db.exec("CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit refused'); END");
    db.close();
    await errorOf(vault.put('u:2', { contact: sampleContact }, ctx));
    await errorOf(vault.get('u:1', ['contact'], ctx));
    const check = new Database(path);
    check.exec('DROP TRIGGER refuse_audit');
    expect((check.prepare('SELECT count(*) AS n FROM records').get() as { n: number }).n).toBe(1);
    check.close();
    expect((await vault.audit.verify(ctx)).ok).toBe(true);
    await vault.close();
  });

  it('fails cleanly when the disk fills up, loses nothing acknowledged, and keeps the chain valid', async () => {
    const { vault, path, keyPath } = await freshVault();
    await vault.put('u:seed', { contact: sampleContact }, ctx);
    await vault.close();
    // A child process whose files may not grow past ~1 MiB beyond the vault (ulimit -f, with
    // SIGXFSZ ignored so write() fails with EFBIG like a full disk).
    const blocks = Math.ceil(readFileSync(path).length / 512) + 2048;
    const script = `
      import { openVault, keyFile } from 'childvault';
      const vault = await openVault({ create: true, path: ${JSON.stringify(path)}, masterKey: keyFile(${JSON.stringify(keyPath)}), policy: ${JSON.stringify(testPolicy)} });
      const ctx = { actor: 'svc:filler', role: 'service', purpose: 'account' };
      const image = new Uint8Array(48 * 1024).fill(7);
      let ok = 0;
      try {
        for (let i = 0; i < 1000; i++) { await vault.put('u:fill' + i, { face: { image } }, ctx); ok++; }
        process.stdout.write('no failure');
      } catch (e) {
        process.stdout.write(JSON.stringify({ ok, code: e.code }));
      }`;
    const { spawn } = await import('node:child_process');
    const { DIST_INDEX } = await import('../helpers/processes.js');
    const child = spawn('bash', ['-c', `trap '' XFSZ; ulimit -f ${blocks}; exec "$0" --input-type=module -e "$1"`, process.execPath, script.replaceAll("from 'childvault'", `from ${JSON.stringify(DIST_INDEX)}`)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const result = await completion(child);
    const outcome = JSON.parse(result.stdout) as { ok: number; code: string };
    expect(outcome.code).toBe('STORAGE');
    expect(outcome.ok).toBeGreaterThan(0);
    const again = await openVault({ create: true, path, masterKey: keyFile(keyPath), policy: testPolicy });
    expect((await again.audit.verify(ctx)).ok).toBe(true);
    for (const i of [0, outcome.ok - 1]) expect((await again.get(`u:fill${i}`, ['face'], ctx)).face).toBeDefined();
    expect((await again.get(`u:fill${outcome.ok}`, ['face'], ctx)).face).toBeUndefined();
    await again.close();
  });
});

describe('checkpoints and rollbacks', () => {
  it('keeps the checkpoint rhythm when a transaction that signed one rolls back', async () => {
    const { vault, path } = await freshVault({ auditCheckpointEvery: 3 });
    await vault.put('u:a', { location: sampleLocation }, ctx); // open=1, put=2
    const db = new Database(path);
    db.exec("CREATE TRIGGER refuse_face BEFORE INSERT ON records WHEN NEW.category = 'face' BEGIN SELECT RAISE(ABORT, 'no'); END");
    db.close();
    // Entry 3 would carry a checkpoint; the put fails after its audit entry, so both roll back.
    await errorOf(vault.put('u:b', { face: { embedding: [1] } }, ctx));
    const fix = new Database(path);
    fix.exec('DROP TRIGGER refuse_face');
    fix.close();
    for (let i = 0; i < 7; i++) await vault.put(`u:${i}`, { location: sampleLocation }, ctx);
    expect((await vault.audit.verify(ctx)).ok).toBe(true);
    await vault.close();
  });
});

describe('pseudonyms and erasure', () => {
  it('finds a subject by id before erasure; afterwards its entries remain, verify, and link to nothing', async () => {
    const { vault, dir } = await freshVault();
    await vault.put('u:child', { location: sampleLocation }, ctx);
    await vault.get('u:child', ['location'], ctx);
    await vault.put('u:other', { location: sampleLocation }, ctx);
    const before = await exportText((out) => vault.audit.export(out, { subject: 'u:child' }, ctx));
    const included = before.split('\n').filter((l) => l.includes('"type":"entry"'));
    expect(included).toHaveLength(2);
    const pseudonym = (JSON.parse(included[0]!) as { subject: string }).subject;

    await vault.erase('u:child', ctx);
    expect((await errorOf(vault.audit.export(new PassThrough(), { subject: 'u:child' }, ctx))).code).toBe('NOT_FOUND');
    const full = await exportText((out) => vault.audit.export(out, {}, ctx));
    expect(full).toContain(pseudonym); // the entries stay…
    const file = join(dir, 'export.jsonl');
    (await import('node:fs')).writeFileSync(file, full);
    expect((await verifyAuditExportFile(file, Buffer.from(vault.audit.publicKey, 'hex'))).ok).toBe(true); // …and verify
    // Writing the same id again starts a new, unrelated pseudonym.
    await vault.put('u:child', { location: sampleLocation }, ctx);
    const fresh = await exportText((out) => vault.audit.export(out, { subject: 'u:child' }, ctx));
    expect(fresh).not.toContain(pseudonym);
    await vault.close();
  });
});

describe('never plaintext, ciphertext or keys', () => {
  it('keeps planted values out of the log, the database file and the exports', async () => {
    const { vault, path, keyPath } = await freshVault();
    const planted = { phone: '+8613912345678', email: 'planted.parent@example.org', address: 'Planted-Address-Unique-77' };
    await vault.put('u:planted-id', { contact: planted, location: { ...sampleLocation, lat: 12.3456789 } }, ctx);
    await vault.get('u:planted-id', ['contact', 'location'], ctx);
    await errorOf(vault.put('u:planted-id', { contact: { phone: '+86139 bad 5678' } }, ctx));
    const jsonl = await exportText((out) => vault.audit.export(out, {}, ctx));
    const csv = await exportText((out) => vault.audit.export(out, { format: 'csv' }, ctx));
    const db = new Database(path, { readonly: true });
    const bodies = (db.prepare('SELECT body, wrapped_dek FROM records').all() as { body: Buffer; wrapped_dek: Buffer }[]).flatMap((r) => [r.body, r.wrapped_dek]);
    db.close();
    await vault.close();
    const key = readFileSync(keyPath);
    const needles = [planted.phone, planted.email, planted.address, '12.3456789', 'u:planted-id', '+86139 bad 5678'];
    for (const text of [jsonl, csv]) {
      for (const n of needles) expect(text).not.toContain(n);
      for (const b of bodies) expect(text).not.toContain(b.toString('hex'));
      expect(text).not.toContain(key.toString('hex'));
    }
    const file = Buffer.concat([readFileSync(path)]);
    for (const n of needles) expect(file.indexOf(Buffer.from(n))).toBe(-1);
    expect(file.indexOf(key)).toBe(-1);
  });
});

describe('live verification', () => {
  async function tampered(mutate: (db: Database.Database) => void, expectSeq: number | null, message: RegExp) {
    const { vault, path } = await freshVault({ auditCheckpointEvery: 4 });
    for (let i = 0; i < 9; i++) await vault.put(`u:${i}`, { location: sampleLocation }, ctx); // entries 1..10
    const db = new Database(path);
    mutate(db);
    db.close();
    const report = await vault.audit.verify(ctx);
    expect(report.ok).toBe(false);
    expect(report.problem?.seq).toBe(expectSeq);
    expect(report.problem?.message).toMatch(message);
    await vault.close();
  }

  it('passes an untouched log', async () => {
    const { vault } = await freshVault({ auditCheckpointEvery: 4 });
    for (let i = 0; i < 9; i++) await vault.put(`u:${i}`, { location: sampleLocation }, ctx);
    const report = await vault.audit.verify(ctx);
    expect(report).toMatchObject({ ok: true, entries: 10, checkpoints: 3, problem: null });
    await vault.close();
  });

  it('catches an edited field', () => tampered((db) => db.prepare("UPDATE audit_log SET actor = 'svc:someone-else' WHERE seq = 6").run(), 6, /modified/));
  it('catches a deleted entry', () => tampered((db) => db.prepare('DELETE FROM audit_log WHERE seq = 6').run(), 6, /removed or reordered/));
  it('catches reordered entries', () =>
    tampered((db) => {
      db.exec('UPDATE audit_log SET seq = 1000 WHERE seq = 6; UPDATE audit_log SET seq = 6 WHERE seq = 7; UPDATE audit_log SET seq = 7 WHERE seq = 1000;');
    }, 6, /link/));
  it('catches a forged entry whose chain was re-hashed after it', async () => {
    // An insider who knows the format rewrites entry 6 and re-hashes everything after it.
    const { chainHash, entryDigest } = await import('../../src/audit/entry.js');
    type Stored = Parameters<typeof entryDigest>[0] & { prevHash: Uint8Array };
    await tampered((db) => {
      const rows = db
        .prepare('SELECT seq, ts, actor, role, purpose, action, subject, categories, outcome, reason, approval, consent, request_id AS requestId, detail, prev_hash AS prevHash FROM audit_log WHERE seq >= 6 ORDER BY seq')
        .all() as Stored[];
      let prev = rows[0]!.prevHash;
      const update = db.prepare('UPDATE audit_log SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?');
      for (const row of rows) {
        const forged = row.seq === 6 ? { ...row, actor: 'svc:forger' } : row;
        const hash = chainHash(prev, entryDigest(forged));
        update.run(forged.actor, prev, hash, row.seq);
        prev = hash;
      }
      // The chain hash is unkeyed, so it re-hashes cleanly; the entry's MAC needs the vault's key.
    }, 6, /not authenticated by this vault/);
  });
  it('catches the tail cut before the last checkpoint', () =>
    tampered((db) => {
      db.pragma('foreign_keys = OFF'); // the attacker edits the file, not through the vault
      db.prepare('DELETE FROM audit_log WHERE seq > 6').run();
    }, 7, /removed/));
  it('catches a forged checkpoint', () => tampered((db) => db.prepare('UPDATE audit_checkpoints SET signature = zeroblob(64) WHERE seq = 8').run(), 8, /signature/));
  it('catches a chain forged by an insider who also deleted every checkpoint', async () => {
    const { chainHash, entryDigest } = await import('../../src/audit/entry.js');
    type Stored = Parameters<typeof entryDigest>[0] & { prevHash: Uint8Array };
    await tampered((db) => {
      db.prepare('DELETE FROM audit_checkpoints').run();
      const rows = db
        .prepare('SELECT seq, ts, actor, role, purpose, action, subject, categories, outcome, reason, approval, consent, request_id AS requestId, detail, prev_hash AS prevHash FROM audit_log ORDER BY seq')
        .all() as Stored[];
      let prev = rows[0]!.prevHash;
      const update = db.prepare('UPDATE audit_log SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?');
      for (const row of rows) {
        const forged = row.seq === 6 ? { ...row, actor: 'svc:account' } : row;
        const hash = chainHash(prev, entryDigest(forged));
        update.run(forged.actor, prev, hash, row.seq);
        prev = hash;
      }
    }, 6, /not authenticated by this vault/);
  });
  it('catches a checkpoint deleted from the middle', () => tampered((db) => db.prepare('DELETE FROM audit_checkpoints WHERE seq = 4').run(), 4, /checkpoints were deleted/));
  it('refuses to sign over a log edited since its last checkpoint, so writes stop until it is investigated', async () => {
    const { vault, path } = await freshVault({ auditCheckpointEvery: 4 });
    for (let i = 0; i < 5; i++) await vault.put(`u:${i}`, { location: sampleLocation }, ctx); // entries 1..6, checkpoints 0 and 4
    const db = new Database(path);
    db.prepare("UPDATE audit_log SET actor = 'svc:someone-else' WHERE seq = 5").run();
    db.close();
    expect((await errorOf(vault.audit.checkpoint(ctx))).code).toBe('INTEGRITY'); // its failure entry becomes seq 7
    expect((await errorOf(vault.put('u:late', { location: sampleLocation }, ctx))).code).toBe('INTEGRITY'); // seq 8 would need a checkpoint
    await vault.close();
    const check = new Database(path, { readonly: true });
    expect((check.prepare('SELECT count(*) AS n FROM records').get() as { n: number }).n).toBe(5); // u:late was not stored
    check.close();
  });
});

describe('two processes appending at once', () => {
  it('never fork the chain', async () => {
    const { vault, path, keyPath } = await freshVault({ auditCheckpointEvery: 7 });
    await vault.close();
    const writer = (name: string) => `
      import { openVault, keyFile } from 'childvault';
      const vault = await openVault({ create: true, path: ${JSON.stringify(path)}, masterKey: keyFile(${JSON.stringify(keyPath)}), auditCheckpointEvery: 7, policy: ${JSON.stringify(testPolicy)} });
      const ctx = { actor: 'svc:${name}', role: 'service', purpose: 'account' };
      for (let i = 0; i < 120; i++) {
        await vault.put('${name}:' + (i % 10), { location: { lat: 1, lon: 1, capturedAt: '2026-01-01T00:00:00Z' } }, ctx);
        await vault.get('${name}:' + (i % 10), ['location'], ctx);
      }
      await vault.close();`;
    const results = await Promise.all([completion(startScript(writer('a'))), completion(startScript(writer('b')))]);
    for (const r of results) expect(r.stderr).toBe('');
    const reader = await openVault({ create: true, path, masterKey: keyFile(keyPath), policy: testPolicy });
    const report = await reader.audit.verify(ctx);
    expect(report.ok).toBe(true);
    expect(report.entries).toBe(1 + 2 + 480 + 1); // the first open, two writers' opens, 2×240 operations, this open
    await reader.close();
  });
});

describe('exports', () => {
  it('verify offline, end with a checkpoint over their own export entry, and refuse a bad filter', async () => {
    const dir = tempDir();
    const { vault } = await freshVault();
    await vault.put('u:1', { location: sampleLocation }, ctx);
    const text = await exportText((out) => vault.audit.export(out, {}, ctx));
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as { type: string; action?: string; seq?: number });
    expect(lines[0]?.type).toBe('header');
    expect(lines.at(-1)?.type).toBe('checkpoint');
    expect(lines.filter((l) => l.type === 'entry').at(-1)?.action).toBe('audit.export');
    const file = join(dir, 'e.jsonl');
    (await import('node:fs')).writeFileSync(file, text);
    expect((await verifyAuditExportFile(file, Buffer.from(vault.audit.publicKey, 'hex'))).ok).toBe(true);
    expect((await errorOf(vault.audit.export(new PassThrough(), { since: new Date(2), until: new Date(1) }, ctx))).code).toBe('VALIDATION');
    await vault.close();
  });
});
