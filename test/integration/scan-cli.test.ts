/** `childvault scan` and `childvault canary plant`, run as the built CLI in real processes. */
import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/fixtures.js';
import { EXAMPLE_POLICY_PATH } from '../helpers/policy.js';
import { runCli } from '../helpers/processes.js';

const CHILD = { phone: '+8613800138000', email: 'kid.mom@example.com', address: 'No. 7 Scan Road, Hangzhou' };

/** A vault (example policy) holding one child's contact, imported through the CLI. */
async function vaultWithChild() {
  const dir = tempDir();
  const db = join(dir, 'pool.db');
  const key = join(dir, 'master.key');
  expect((await runCli(['init', '--db', db, '--new-key-file', key])).code).toBe(0);
  const args = ['--db', db, '--key-file', key, '--policy', EXAMPLE_POLICY_PATH];
  const file = join(dir, 'in.jsonl');
  writeFileSync(file, `${JSON.stringify({ subject: 'u:42', category: 'contact', value: CHILD })}\n`);
  expect((await runCli(['import', file, ...args])).code).toBe(0);
  return { dir, args };
}

describe('childvault scan', () => {
  it('exits 5 naming file, table, column and rowid of a leaked value, never the value', async () => {
    const { dir, args } = await vaultWithChild();
    const service = join(dir, 'service.db');
    const db = new Database(service);
    db.exec('CREATE TABLE tickets (id INTEGER PRIMARY KEY, note TEXT)');
    db.prepare('INSERT INTO tickets (note) VALUES (?)').run('printer jam');
    db.prepare('INSERT INTO tickets (note) VALUES (?)').run('mother says call 138-0013-8000 tonight');
    db.close();
    const result = await runCli(['scan', service, ...args]);
    expect(result.code).toBe(5);
    expect(result.stdout).toMatch(/tickets\.note rowid 2 +child's data +contact\.phone/);
    expect(result.stdout).toContain("1 finding of the vault's children's data");
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('[PLAINTEXT_LEAK]');
    expect(result.stdout + result.stderr).not.toMatch(/138.?0013.?8000/);

    const json = await runCli(['scan', service, '--json', ...args]);
    expect(json.code).toBe(5);
    const parsed = JSON.parse(json.stdout) as { findings: { location: { table: string; rowid: number }; match: { kind: string; field: string } }[] };
    expect(parsed.findings).toEqual([expect.objectContaining({ location: expect.objectContaining({ table: 'tickets', rowid: 2 }) as unknown, match: { kind: 'subject-data', field: 'contact.phone' } })]);
  });

  it('exits 0 on clean files (an adult\'s contact is not a finding), and reports patterns only when asked', async () => {
    const { dir, args } = await vaultWithChild();
    const log = join(dir, 'app.log');
    writeFileSync(log, 'INFO login ok\nINFO sms to +86 139 1111 2222 (an adult) queued\n');
    const clean = await runCli(['scan', log, ...args]);
    expect(clean.stderr).toBe('');
    expect(clean.code).toBe(0);
    expect(clean.stdout).toContain("no data of the vault's children");
    const patterns = await runCli(['scan', log, '--patterns', ...args]);
    expect(patterns.code).toBe(5);
    expect(patterns.stdout).toMatch(/line 2 +pattern \(warning\) +phone/);
    expect(patterns.stderr).toMatch(/\d+ pattern warnings?: review/);
  });

  it('finds a leaked e-mail in a JSON Lines file and an address in a CSV cell', async () => {
    const { dir, args } = await vaultWithChild();
    const jsonl = join(dir, 'events.jsonl');
    writeFileSync(jsonl, `${JSON.stringify({ ok: 1 })}\n${JSON.stringify({ user: { guardian: { mail: CHILD.email.toUpperCase() } } })}\n`);
    const csv = join(dir, 'export.csv');
    writeFileSync(csv, `id,shipping_address\n1,"no. 7 scan road, hangzhou"\n`);
    const result = await runCli(['scan', jsonl, csv, '--json', ...args]);
    expect(result.code).toBe(5);
    const findings = (JSON.parse(result.stdout) as { findings: { file: string; location: { line?: number; field?: string }; match: { field?: string } }[] }).findings;
    expect(findings.map((f) => [f.file.endsWith('.jsonl') ? 'jsonl' : 'csv', f.location.line, f.location.field, f.match.field])).toEqual([
      ['jsonl', 2, '$.user.guardian.mail', 'contact.email'],
      ['csv', 2, 'shipping_address', 'contact.address'],
    ]);
  });

  it('finds a phone behind a duplicate JSON key (JSON.parse keeps the last) in JSON Lines, CSV and SQLite', async () => {
    const { dir, args } = await vaultWithChild();
    const hidden = `{"p":"${CHILD.phone}","p":null}`;
    const jsonl = join(dir, 'events.jsonl');
    writeFileSync(jsonl, `{"ok":1}\n${hidden}\n`);
    const csv = join(dir, 'export.csv');
    writeFileSync(csv, `id,payload\n1,"${hidden.replaceAll('"', '""')}"\n`);
    const service = join(dir, 'service.db');
    const db = new Database(service);
    db.exec('CREATE TABLE events (id INTEGER PRIMARY KEY, body TEXT)');
    db.prepare('INSERT INTO events (body) VALUES (?)').run(hidden);
    db.close();
    for (const file of [jsonl, csv, service]) {
      const result = await runCli(['scan', file, '--json', ...args]);
      expect(result.code).toBe(5);
      const findings = (JSON.parse(result.stdout) as { findings: { match: unknown }[] }).findings;
      expect(findings.map((f) => f.match)).toEqual([{ kind: 'subject-data', field: 'contact.phone' }]);
      expect(result.stdout + result.stderr).not.toContain('13800138000');
    }
  });

  it('does not call a file it cannot read clean: a zip archive exits 1 with SCAN_INCOMPLETE', async () => {
    const { dir, args } = await vaultWithChild();
    const zip = join(dir, 'logs.zip');
    writeFileSync(zip, Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(200, 0x11)]));
    const result = await runCli(['scan', zip, ...args]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('[SCAN_INCOMPLETE]');
    expect(result.stdout).toContain('NOT fully scanned');
  });

  it('reports a corrupt SQLite file with one line and exit 3, and a refused role with exit 4', async () => {
    const { dir, args } = await vaultWithChild();
    const bad = join(dir, 'broken.db');
    writeFileSync(bad, Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(4096, 0x5a)]));
    const corrupt = await runCli(['scan', bad, ...args]);
    expect(corrupt.code).toBe(3);
    expect(corrupt.stderr.trim().split('\n')).toHaveLength(1);
    expect(corrupt.stderr).toContain('broken.db');
    const refused = await runCli(['scan', bad, '--role', 'service', ...args]);
    expect(refused.code).toBe(4);
  });
});

describe('childvault canary plant', () => {
  it('plants canaries, prints their subject ids, and a scan reports a leaked canary as CANARY', async () => {
    const { dir, args } = await vaultWithChild();
    const planted = await runCli(['canary', 'plant', '2', '--json', ...args]);
    expect(planted.stderr).toBe('');
    expect(planted.code).toBe(0);
    const receipt = JSON.parse(planted.stdout) as { planted: number; total: number; subjects: string[] };
    expect(receipt).toMatchObject({ planted: 2, total: 2 });
    expect(receipt.subjects).toHaveLength(2);

    // A copy of a canary left on disk (here a guardian-request export) is a leak the scan proves.
    const copy = join(dir, 'copy.json');
    const exported = await runCli(['subject', 'export', receipt.subjects[0] ?? '', '--out', copy, ...args]);
    expect(exported.code).toBe(0);
    const scan = await runCli(['scan', copy, ...args]);
    expect(scan.code).toBe(5);
    for (const field of ['contact.phone', 'contact.email', 'contact.address', 'face.image']) expect(scan.stdout).toMatch(new RegExp(`CANARY +${field.replace('.', '\\.')}`));

    const bad = await runCli(['canary', 'plant', '0', ...args]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('count must be a whole number from 1 to 1000');
  });
});
