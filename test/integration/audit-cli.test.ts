/**
 * `childvault audit` paths that need no vault: offline verification of an export file (with only
 * the public key — no master key, no --db) and option checking. The export files are made by the
 * real writer over a real, signed chain.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeAuditExport, type ExportFormat } from '../../src/audit/export.js';
import type { ExportFilter } from '../../src/audit/export-format.js';
import { loadSodium } from '../../src/crypto/sodium.js';
import { buildChain, collector, testSigningKey, type TestChain } from '../helpers/audit-chain.js';
import { tempDir } from '../helpers/fixtures.js';
import { runCli } from '../helpers/processes.js';
import { hex } from '../helpers/unit-bytes.js';

let chain: TestChain;
let publicKey: string;

beforeAll(async () => {
  await loadSodium();
  chain = buildChain(2500, { checkpointEvery: 1000 });
  publicKey = hex(chain.key.publicKey);
});

async function exportFile(format: ExportFormat = 'jsonl', filter: ExportFilter = {}, edit: (text: string) => string = (t) => t): Promise<string> {
  const out = collector();
  await writeAuditExport(chain.source(), out.stream, { format, filter });
  const path = join(tempDir(), `audit.${format}`);
  writeFileSync(path, edit(out.text()));
  return path;
}

describe('childvault audit verify --file (offline)', () => {
  it('prints OK with the counts, needing neither a vault nor a master key', async () => {
    const file = await exportFile();
    const result = await runCli(['audit', 'verify', '--file', file, '--public-key', publicKey]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    // The genesis checkpoint (seq 0), then those at 1000, 2000 and the head.
    expect(result.stdout).toBe('OK: 2500 entries (0 elided), 4 checkpoints, head seq 2500\n');
  });

  it('verifies a filtered CSV export, counting the elided entries; takes an upper-case key', async () => {
    const file = await exportFile('csv', { actor: 'svc:map' });
    const result = await runCli(['audit', 'verify', '--file', file, '--public-key', publicKey.toUpperCase()]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('OK: 625 entries (1875 elided), 4 checkpoints, head seq 2500\n');
  });

  it('prints the report as JSON with --json', async () => {
    const result = await runCli(['audit', 'verify', '--json', '--file', await exportFile(), '--public-key', publicKey]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: true, format: 'jsonl', entries: 2500, checkpoints: 4, line: null, head: { seq: 2500 } });
  });

  it('exits 3 with one line naming the seq, the line and the problem for a tampered file', async () => {
    const file = await exportFile('jsonl', {}, (t) => t.replace('"seq":5,"ts":"2026-11-27T10:00:05.000Z","actor":"svc:map"', '"seq":5,"ts":"2026-11-27T10:00:05.000Z","actor":"svc:evil"'));
    const result = await runCli(['audit', 'verify', '--file', file, '--public-key', publicKey]);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    // Line 1 the header, line 2 the genesis checkpoint: entry 5 is on line 7.
    expect(result.stderr).toBe('childvault: FAILED at seq 5 (line 7): entry 5 was modified: its fields do not hash to its recorded hash [INTEGRITY]\n');
  });

  it('exits 3 for a truncated file and for the wrong public key, and prints the failed report with --json', async () => {
    const truncated = await exportFile('jsonl', {}, (t) => t.slice(0, t.lastIndexOf('{"type":"entry","seq":2400,')));
    const cut = await runCli(['audit', 'verify', '--file', truncated, '--public-key', publicKey]);
    expect(cut.code).toBe(3);
    // The file now ends with entry 2399, on line 2403 (after the header and the checkpoints at 0, 1000 and 2000).
    expect(cut.stderr).toMatch(/^childvault: FAILED at seq 2400 \(line 2403\): the export announces 2500 entries but holds 2399/);
    const wrongKey = await runCli(['audit', 'verify', '--json', '--file', await exportFile(), '--public-key', hex(testSigningKey(9).publicKey)]);
    expect(wrongKey.code).toBe(3);
    // With --json the error line is JSON too.
    expect(JSON.parse(wrongKey.stderr)).toEqual({ error: { code: 'INTEGRITY', message: expect.stringMatching(/^FAILED: line 1: the export names another public key/) as string } });
    expect(JSON.parse(wrongKey.stdout)).toMatchObject({ ok: false, line: 1, problem: { seq: null } });
  });

  it('exits 3 for a file cut at an earlier checkpoint and re-headed to match: the header seal fails', async () => {
    const recut = await exportFile('jsonl', {}, (t) => {
      const lines = t.split('\n');
      const at = lines.findIndex((l) => l.startsWith('{"type":"checkpoint","seq":2000,'));
      const checkpoint = JSON.parse(lines[at]!) as { ts: string };
      const header = JSON.parse(lines[0]!) as Record<string, unknown>;
      const edited = JSON.stringify({ ...header, head: 2000, exportedAt: checkpoint.ts });
      return `${[edited, ...lines.slice(1, at + 1)].join('\n')}\n`;
    });
    const result = await runCli(['audit', 'verify', '--file', recut, '--public-key', publicKey]);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      "childvault: FAILED: line 1: the header's signature does not match its head, time, interval or filter: the header was edited, or the file was cut and re-headed [INTEGRITY]\n",
    );
  });

  it('exits 3 for an export with a checkpoint line deleted from the middle', async () => {
    const file = await exportFile('csv', {}, (t) => t.replace(/\r\ncheckpoint,1000,[^\r]*/, ''));
    const result = await runCli(['audit', 'verify', '--file', file, '--public-key', publicKey]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^childvault: FAILED at seq 1000 \(line \d+\): no checkpoint between seq 0 and 2000, though one is signed every 1000 entries: checkpoints were deleted \[INTEGRITY\]\n$/);
  });

  it('exits 3 for an entry in a non-canonical form that hashes alike, naming the field and the rule', async () => {
    // Entry 2 (line 4) holds the categories contact and location: reordered, they would hash the same.
    const reordered = await exportFile('jsonl', {}, (t) => t.replace('"categories":["contact","location"]', '"categories":["location","contact"]'));
    const result = await runCli(['audit', 'verify', '--file', reordered, '--public-key', publicKey]);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe('childvault: FAILED: line 4: categories must be in ascending order (by code point) without repeats [INTEGRITY]\n');
    const emptyDetail = await exportFile('jsonl', {}, (t) => t.replace(/("seq":1,[^\n]*"detail":)null/, '$1{}'));
    const empty = await runCli(['audit', 'verify', '--file', emptyDetail, '--public-key', publicKey]);
    expect(empty.code).toBe(3);
    expect(empty.stderr).toBe('childvault: FAILED: line 3: detail must be null, not an empty object (the two would hash alike) [INTEGRITY]\n');
  });

  it('exits 3 for a CSV cell quoted without need, and accepts LF line ends', async () => {
    const quoted = await exportFile('csv', {}, (t) => t.replace('\r\nentry,1,2026-11-27T10:00:01.000Z,svc:map,', '\r\nentry,1,2026-11-27T10:00:01.000Z,"svc:map",'));
    const result = await runCli(['audit', 'verify', '--file', quoted, '--public-key', publicKey]);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe('childvault: FAILED: line 4: column actor is quoted but holds no comma, quote or line break (only such cells are quoted) [INTEGRITY]\n');
    // LF between records (quoted CRLFs inside cells untouched: they are content).
    const lf = await exportFile('csv', {}, (t) => {
      const edited = t.replace(/\r\n(?=(?:header|checkpoint|entry|elided),)/g, '\n');
      expect(edited.split('\r\n').length).toBeLessThan(t.split('\r\n').length / 10);
      return edited;
    });
    const ok = await runCli(['audit', 'verify', '--file', lf, '--public-key', publicKey]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
  });

  it('exits 3 for a file that is not an export, without echoing it', async () => {
    const path = join(tempDir(), 'notes.txt');
    writeFileSync(path, 'PLANTED-CHILD-NAME,born 2019\n');
    const result = await runCli(['audit', 'verify', '--file', path, '--public-key', publicKey]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('not an audit export');
    expect(result.stderr).not.toContain('PLANTED');
  });

  it('refuses a missing or malformed --public-key (usage, exit 2) and a missing file (exit 1)', async () => {
    const file = await exportFile();
    const missing = await runCli(['audit', 'verify', '--file', file]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--file needs --public-key');
    const short = await runCli(['audit', 'verify', '--file', file, '--public-key', 'abcd']);
    expect(short.code).toBe(2);
    expect(short.stderr).toBe('childvault: --public-key must be 64 hex characters [USAGE]\n');
    const alone = await runCli(['audit', 'verify', '--public-key', publicKey]);
    expect(alone.code).toBe(2);
    const nofile = await runCli(['audit', 'verify', '--file', join(tempDir(), 'nope.jsonl'), '--public-key', publicKey]);
    expect(nofile.code).toBe(1);
    expect(nofile.stderr).toMatch(/cannot be read \[NOT_FOUND\]\n$/);
  });
});

describe('childvault audit option checking', () => {
  it.each([
    [['audit', 'export', '--since', 'yesterday'], '--since must be an ISO 8601 date or time'],
    [['audit', 'export', '--until', '2026-02-30'], '--until must be an ISO 8601 date or time'],
    [['audit', 'export', '--since', '2026-11-01T08:00:00'], '--since must be an ISO 8601 date or time'],
    [['audit', 'export', '--since', '2026-12-01', '--until', '2026-11-01'], '--since must not be after --until'],
    [['audit', 'export', '--format', 'xml'], '--format must be jsonl or csv'],
    [['audit', 'report', '--since', '2026-11-01', '--until', 'soon'], '--until must be an ISO 8601 date or time'],
  ])('%j is a usage error naming the option', async (args, message) => {
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`childvault: ${message}${message.includes('ISO') ? ', like 2026-11-01 or 2026-11-01T08:00:00Z (with Z or an offset)' : ''} [USAGE]\n`);
  });

  it('refuses to overwrite an existing --out file before opening anything', async () => {
    const file = await exportFile();
    const result = await runCli(['audit', 'export', '--out', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/already exists; refusing to overwrite it \[CONFLICT\]\n$/);
  });

  it('refuses a report --since after now when --until is not given (it defaults to now)', async () => {
    const result = await runCli(['audit', 'report', '--since', '2099-01-01']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('childvault: --since must not be after now (the end of the period when --until is not given) [USAGE]\n');
  });

  it('shows an example in the help of every audit command', async () => {
    for (const sub of ['export', 'verify', 'public-key', 'checkpoint', 'report']) {
      const help = await runCli(['audit', sub, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('Example:');
      expect(help.stdout).toContain(`$ childvault audit ${sub}`);
    }
  });
});
