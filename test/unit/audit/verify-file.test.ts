import fc from 'fast-check';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvLine, CsvParser } from '../../../src/audit/csv.js';
import { chainHash, checkpointMessage, entryDigest, toEntry, type AuditEntry } from '../../../src/audit/entry.js';
import {
  checkpointCsvCells,
  CSV_COLUMNS,
  csvCellsToRecord,
  elidedCsvCells,
  entryFromLine,
  entryToCsvCells,
  headerCsvCells,
  type CheckpointLine,
  type ElidedLine,
  type EntryLine,
  type ExportFilter,
  type HeaderLine,
} from '../../../src/audit/export-format.js';
import { writeAuditExport, type ExportFormat, type ExportSource } from '../../../src/audit/export.js';
import { verifyAuditExportFile, type FileVerifyReport } from '../../../src/audit/verify-file.js';
import { sign } from '../../../src/crypto/signing.js';
import { loadSodium } from '../../../src/crypto/sodium.js';
import { buildChain, collector, pseudonym, sampleRecord, T0, testSigningKey, type TestChain } from '../../helpers/audit-chain.js';
import { hex, makeTempDir, removeTempDir } from '../../helpers/unit-bytes.js';
import { expectVaultRejection } from '../../helpers/unit-errors.js';

type Rec = Record<string, unknown> & { type: string };

let dir: string;
let files = 0;
let chain: TestChain;
let small: TestChain;

beforeAll(async () => {
  await loadSodium();
  dir = makeTempDir();
  chain = buildChain(2500, { checkpointEvery: 1000 });
  small = buildChain(25, { checkpointEvery: 10 });
});

afterAll(() => {
  removeTempDir(dir);
});

async function exportText(source: ExportSource, format: ExportFormat, filter: ExportFilter = {}): Promise<string> {
  const out = collector();
  await writeAuditExport(source, out.stream, { format, filter });
  return out.text();
}

function fileWith(content: string | Uint8Array): string {
  const path = join(dir, `export-${files++}`);
  writeFileSync(path, content);
  return path;
}

async function verify(content: string | Uint8Array, publicKey: Uint8Array = chain.key.publicKey): Promise<FileVerifyReport> {
  return verifyAuditExportFile(fileWith(content), publicKey);
}

/** Cells of a record object, as the writer would write them. */
function cellsOf(r: Rec): (string | null)[] {
  switch (r.type) {
    case 'header':
      return headerCsvCells(r as unknown as HeaderLine);
    case 'entry':
      return entryToCsvCells(entryFromLine(r as unknown as EntryLine));
    case 'elided': {
      const e = r as unknown as ElidedLine;
      return elidedCsvCells(e.from, e.digests);
    }
    default:
      return checkpointCsvCells(r as unknown as CheckpointLine);
  }
}

/** An export as editable records, in either format; `text()` writes them back. */
class Doc {
  constructor(
    readonly format: ExportFormat,
    readonly records: Rec[],
  ) {}

  static parse(format: ExportFormat, text: string): Doc {
    if (format === 'jsonl') return new Doc(format, text.slice(0, -1).split('\n').map((l) => JSON.parse(l) as Rec));
    const parser = new CsvParser();
    const rows = [...parser.push(text), ...parser.end()].slice(1);
    return new Doc(
      format,
      rows.map((r) => csvCellsToRecord(r.record[0] as 'header' | 'entry' | 'elided' | 'checkpoint', r.record) as Rec),
    );
  }

  text(): string {
    if (this.format === 'jsonl') return this.records.map((r) => `${JSON.stringify(r)}\n`).join('');
    return csvLine(CSV_COLUMNS) + this.records.map((r) => csvLine(cellsOf(r))).join('');
  }

  index(type: string, seq: number): number {
    const i = this.records.findIndex((r) => r.type === type && r['seq'] === seq);
    if (i === -1) throw new Error(`no ${type} ${seq}`);
    return i;
  }

  /** The line the record at `index` starts on in `text()` (CSV cells may span lines). */
  lineOf(index: number): number {
    if (this.format === 'jsonl') return index + 1;
    const parser = new CsvParser();
    return [...parser.push(this.text()), ...parser.end()][index + 1]!.line;
  }

  clone(): Doc {
    return new Doc(this.format, this.records.map((r) => structuredClone(r)));
  }
}

function expectFailure(report: FileVerifyReport, seq: number | null, message: RegExp, line?: number): void {
  expect(report.ok).toBe(false);
  expect(report.problem?.message).toMatch(message);
  expect(report.problem?.seq).toBe(seq);
  if (line !== undefined) expect(report.line).toBe(line);
}

describe.each(['jsonl', 'csv'] as const)('verifyAuditExportFile (%s)', (format) => {
  let text: string;
  let doc: Doc;

  beforeAll(async () => {
    text = await exportText(chain.source(), format);
    doc = Doc.parse(format, text);
  });

  it('verifies an untouched export, and the test harness rewrites it byte for byte', async () => {
    expect(doc.text()).toBe(text);
    const report = await verify(text);
    expect(report).toMatchObject({ ok: true, format, line: null, entries: 2500, elided: 0, checkpoints: 3, problem: null });
    expect(report.head).toEqual({ seq: 2500, hash: hex(chain.entries[2499]!.hash) });
  });

  it('catches an edited field: "entry N was modified"', async () => {
    for (const [field, value] of [
      ['actor', 'svc:evil'],
      ['ts', '2026-11-27T10:00:05.001Z'],
      ['categories', ['face']],
      ['detail', { returned: 99 }],
      ['subject', hex(pseudonym(99))],
    ] as const) {
      const d = doc.clone();
      const i = d.index('entry', 5);
      d.records[i]![field] = value;
      expectFailure(await verify(d.text()), 5, /^entry 5 was modified/, d.lineOf(i));
    }
  });

  it('catches a deleted entry: "entry N+1 arrives where N belongs"', async () => {
    const d = doc.clone();
    d.records.splice(d.index('entry', 7), 1);
    expectFailure(await verify(d.text()), 7, /^entry 8 arrives where 7 belongs: entries 7 were removed or reordered/, d.lineOf(d.index('entry', 8)));
  });

  it('catches reordered and duplicated entries at the first out-of-place seq', async () => {
    const d = doc.clone();
    const i = d.index('entry', 10);
    [d.records[i], d.records[i + 1]] = [d.records[i + 1]!, d.records[i]!];
    expectFailure(await verify(d.text()), 10, /entry 11 arrives where 10 belongs/, d.lineOf(i));
    const dup = doc.clone();
    dup.records.splice(dup.index('entry', 12) + 1, 0, structuredClone(dup.records[dup.index('entry', 12)]!));
    expectFailure(await verify(dup.text()), 12, /^entry 12 appears after entry 12/);
  });

  it('catches a forged entry inserted with the chain re-hashed after it: "differs from its signed checkpoint"', async () => {
    const forged: AuditEntry[] = [];
    let prev = chain.genesis;
    const records = chain.entries.map((_e, i) => sampleRecord(i + 1));
    records.splice(5, 0, { ...sampleRecord(6), actor: 'svc:forger' });
    records.forEach((r, i) => {
      const u = toEntry(i + 1, r);
      const hash = chainHash(prev, entryDigest(u));
      forged.push({ ...u, prevHash: prev, hash });
      prev = hash;
    });
    const source: ExportSource = { ...chain.source(), pageEntries: (a, u, l) => forged.slice(a, Math.min(u, a + l)) };
    const forgedText = await exportText(source, format);
    const forgedDoc = Doc.parse(format, forgedText);
    expectFailure(await verify(forgedText), 1000, /^the chain at seq 1000 differs from its signed checkpoint/, forgedDoc.lineOf(forgedDoc.index('checkpoint', 1000)));
  });

  it('catches a tail cut before the last checkpoint', async () => {
    const cut = doc.clone();
    cut.records.splice(cut.index('entry', 2201));
    const report = await verify(cut.text());
    expectFailure(report, 2201, /^the export announces 2500 entries but holds 2200/, cut.lineOf(cut.records.length - 1));
    // Entries removed but the final (signed) checkpoint kept.
    const hollow = doc.clone();
    hollow.records.splice(hollow.index('entry', 2001), 500);
    expectFailure(await verify(hollow.text()), 2001, /^the log ends at seq 2000 but a signed checkpoint covers seq 2500/);
  });

  it('catches an export file cut short at any point', async () => {
    // (Only the final line end missing is accepted: nothing is lost.)
    for (const at of [text.length - (format === 'csv' ? 3 : 2), text.length - 40, Math.floor(text.length / 2), 300]) {
      const report = await verify(text.slice(0, at));
      expect(report.ok).toBe(false);
      expect(report.line).not.toBeNull();
    }
  });

  it('catches a forged or altered checkpoint: "invalid signature"', async () => {
    const other = testSigningKey(9);
    const cases: ((r: Rec) => void)[] = [
      (r) => {
        r['signature'] = `${(r['signature'] as string).slice(0, -1)}${(r['signature'] as string).endsWith('0') ? '1' : '0'}`;
      },
      (r) => {
        r['ts'] = '2030-01-01T00:00:00.000Z';
      },
      (r) => {
        const c = chain.checkpoints[0]!;
        r['signature'] = hex(sign(other, checkpointMessage(chain.vaultId, c.seq, c.hash, c.ts)));
      },
    ];
    for (const change of cases) {
      const d = doc.clone();
      const i = d.index('checkpoint', 1000);
      change(d.records[i]!);
      expectFailure(await verify(d.text()), 1000, /^checkpoint at seq 1000 has an invalid signature/, d.lineOf(i));
    }
  });

  it('fails with the wrong public key, and when the header names another key', async () => {
    const line = doc.lineOf(0);
    expectFailure(await verify(text, testSigningKey(9).publicKey), null, new RegExp(`^line ${line}: the export names another public key than the one given`), line);
    const d = doc.clone();
    d.records[0]!['publicKey'] = hex(testSigningKey(9).publicKey);
    expectFailure(await verify(d.text()), null, /another public key/, line);
  });

  it('catches edits to the header: vault id, genesis, head, export time', async () => {
    const edits: [string, unknown, RegExp][] = [
      ['vaultId', '43'.repeat(16), /genesis is not the genesis hash of its vault id/],
      ['genesis', 'ab'.repeat(32), /genesis is not the genesis hash of its vault id/],
      ['head', 2400, /^the export announces 2400 entries but holds 2500/],
      ['head', 2600, /^the export announces 2600 entries but holds 2500/],
      ['exportedAt', '2026-11-28T00:00:00.000Z', /^line [12]: the header's exportedAt is not the time of the export's final checkpoint/],
    ];
    for (const [field, value, message] of edits) {
      const d = doc.clone();
      d.records[0]![field] = value;
      const report = await verify(d.text());
      expect(report.ok).toBe(false);
      expect(report.problem?.message).toMatch(message);
    }
  });

  it('refuses elided records in an unfiltered export (contents removed)', async () => {
    const d = doc.clone();
    const i = d.index('entry', 3);
    d.records[i] = { type: 'elided', from: 3, digests: [hex(entryDigest(chain.entries[2]!))] };
    expectFailure(await verify(d.text()), 3, /an unfiltered export leaves out entries 3-3/, d.lineOf(i));
  });

  it('refuses records after the final checkpoint, a second header, and a missing header', async () => {
    const appended = doc.clone();
    appended.records.push(structuredClone(appended.records[1]!));
    expectFailure(await verify(appended.text()), null, /^line \d+ follows the final checkpoint \(at the export head, seq 2500\)/, appended.lineOf(appended.records.length - 1));
    const twice = doc.clone();
    twice.records.splice(3, 0, structuredClone(twice.records[0]!));
    expectFailure(await verify(twice.text()), null, /a second header record/, twice.lineOf(3));
    const headless = doc.clone();
    headless.records.shift();
    expectFailure(await verify(headless.text()), null, /must start with its header record/);
  });

  it('reports a malformed field by line and field name, never echoing the value', async () => {
    const d = doc.clone();
    const i = d.index('entry', 20);
    d.records[i]!['actor'] = 'PLANTED-SECRET-VALUE';
    const report = await verify(d.text().replace(hex(chain.entries[19]!.hash), 'PLANTED'.padEnd(64, 'X')));
    expectFailure(report, null, new RegExp(`^line ${d.lineOf(i)}: hash must be 64 lower-case hex characters$`), d.lineOf(i));
    expect(JSON.stringify(report)).not.toContain('PLANTED');
  });
});

describe('verifyAuditExportFile: malformed input (JSON Lines)', () => {
  let lines: string[];
  const withLine = (n: number, content: string): string => [...lines.slice(0, n - 1), content, ...lines.slice(n)].join('\n');

  beforeAll(async () => {
    lines = (await exportText(small.source(), 'jsonl')).split('\n');
  });

  it.each([
    ['broken JSON', '{"type":"entry","seq":5', /^line 5 is not a JSON object on one line$/],
    ['invalid JSON', '{"type":"entry",}', /^line 5 is not valid JSON$/],
    ['an unknown record type', '{"type":"note","text":"hello"}', /^line 5: type must be header, entry, elided or checkpoint$/],
    ['a non-object', '{}', /^line 5: type must be header, entry, elided or checkpoint$/],
    ['an empty line', '', /^line 5 is empty$/],
    ['leading whitespace', ' {"type":"entry"}', /^line 5 is not a JSON object on one line$/],
  ])('reports %s with its line number', async (_name, content, message) => {
    const report = await verify(withLine(5, content), small.key.publicKey);
    expectFailure(report, null, message, 5);
    expect(report.format).toBe('jsonl');
  });

  it('refuses an entry that is valid JSON but not in the compact form the vault writes', async () => {
    const spaced = lines[6]!.replace('"seq":6,', '"seq": 6,');
    expectFailure(await verify(withLine(7, spaced), small.key.publicKey), 6, /^entry 6 \(line 7\): it is not exactly as the vault wrote it/, 7);
    const reordered = JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(lines[6]!) as object).reverse()));
    expectFailure(await verify(withLine(7, reordered), small.key.publicKey), 6, /not exactly as the vault wrote it/, 7);
  });

  it('catches one-byte edits that keep every value equal (only the exact text proves them)', async () => {
    const text = lines.join('\n');
    expect(text).toContain('"big":1e+21');
    for (const edit of ['"big":1E+21', '"big":1e021']) {
      const report = await verify(text.replace('"big":1e+21', edit), small.key.publicKey);
      expect(report.ok).toBe(false);
      expect(report.problem?.message).toMatch(/not exactly as the vault wrote it/);
    }
  });

  it('reports a line longer than the limit without reading it all', async () => {
    const report = await verify(`${lines[0]}\n${'{'.repeat(3 * 1024 * 1024)}`, small.key.publicKey);
    expectFailure(report, null, /^line 2 is longer than 1 MiB/, 2);
  });

  it('accepts CRLF line ends and a missing final line end', async () => {
    const text = lines.join('\n');
    expect((await verify(text.replaceAll('\n', '\r\n'), small.key.publicKey)).ok).toBe(true);
    expect((await verify(text.trimEnd(), small.key.publicKey)).ok).toBe(true);
  });
});

describe('verifyAuditExportFile: malformed input (CSV)', () => {
  let text: string;

  beforeAll(async () => {
    text = await exportText(small.source(), 'csv');
  });

  it('refuses a wrong CSV header row', async () => {
    const report = await verify(text.replace('request_id', 'requestId'), small.key.publicKey);
    expectFailure(report, null, /^line 1: the CSV header row is not the export's columns \(type,seq,/, 1);
    expect(report.format).toBe('csv');
  });

  it('reports CSV syntax errors, wrong cell counts and bad cells with their line numbers', async () => {
    const rows = text.split('\r\n');
    const withRow = (n: number, row: string): string => [...rows.slice(0, n - 1), row, ...rows.slice(n)].join('\r\n');
    expectFailure(await verify(`${text}entry,1,"unterminated\r\n`, small.key.publicKey), null, new RegExp(`^line ${rows.length}: a quoted field is not terminated`), rows.length);
    expectFailure(await verify(withRow(3, 'entry,1,"opens here'), small.key.publicKey), null, /^line 3: text after a closing quote/, 3);
    expectFailure(await verify(withRow(3, 'entry,"1"x'), small.key.publicKey), null, /^line 3: text after a closing quote/, 3);
    expectFailure(await verify(withRow(3, 'entry,1,2'), small.key.publicKey), null, /^line 3 has 3 cells; an export record has 25$/, 3);
    expectFailure(await verify(withRow(3, ''), small.key.publicKey), null, /^line 3 is empty$/, 3);
    const cells = rows[2]!.split(',');
    cells[1] = 'one';
    expectFailure(await verify(withRow(3, cells.join(',')), small.key.publicKey), null, /^line 3: seq expected number$/, 3);
    const camel = rows[2]!.split(',');
    camel[13] = 'x'.repeat(300);
    expectFailure(await verify(withRow(3, camel.join(',')), small.key.publicKey), null, /^line 3: request_id must be at most 256 characters$/, 3);
  });
});

describe('verifyAuditExportFile: not an export', () => {
  it('reports an empty file', async () => {
    expectFailure(await verify(''), null, /^line 1: the file is empty/, 1);
  });

  it('reports a binary file without echoing it', async () => {
    const bytes = new Uint8Array(4096).map((_v, i) => (i * 151 + 7) % 256);
    const report = await verify(bytes);
    expectFailure(report, null, /^line 1 is neither a JSON Lines export header nor the CSV header row/, 1);
    expect(report.format).toBeNull();
    const braced = await verify(Uint8Array.of(0x7b, 0xff, 0x00, 0x7d, 0x0a, 0x01));
    expectFailure(braced, null, /^line 1 is not valid JSON$/, 1);
  });

  it('throws NOT_FOUND for a missing file or a directory, VALIDATION for a bad key length', async () => {
    await expectVaultRejection(verifyAuditExportFile(join(dir, 'missing.jsonl'), chain.key.publicKey), 'NOT_FOUND');
    const sub = join(dir, 'a-directory');
    mkdirSync(sub);
    await expectVaultRejection(verifyAuditExportFile(sub, chain.key.publicKey), 'NOT_FOUND');
    await expectVaultRejection(verifyAuditExportFile(fileWith('x'), new Uint8Array(16)), 'VALIDATION');
  });

  it('reports progress in bytes up to the file size', async () => {
    const content = await exportText(chain.source(), 'jsonl');
    const seen: [number, number][] = [];
    await verifyAuditExportFile(fileWith(content), chain.key.publicKey, (done, total) => seen.push([done, total]));
    expect(seen.at(-1)).toEqual([Buffer.byteLength(content), Buffer.byteLength(content)]);
  });
});

describe('filtered exports', () => {
  const filters: [string, ExportFilter][] = [
    ['subject', { subject: pseudonym(3) }],
    ['actor', { actor: 'svc:map' }],
    ['action', { action: 'erase' }],
    ['time', { since: T0 + 500_000, until: T0 + 900_000 }],
    ['everything', { actor: 'svc:map', action: 'get', since: T0, until: T0 + 3_000_000 }],
    ['nothing matches', { actor: 'nobody' }],
  ];

  it.each(filters)('verify OK by %s, with the others as elided digests (JSON Lines and CSV)', async (_name, filter) => {
    for (const format of ['jsonl', 'csv'] as const) {
      const report = await verify(await exportText(chain.source(), format, filter));
      expect(report.problem).toBeNull();
      expect(report.ok).toBe(true);
      expect(report.entries + report.elided).toBe(2500);
      expect(report.elided).toBeGreaterThan(0);
      expect(report.checkpoints).toBe(3);
    }
  });

  it('catch an edited filter that included entries no longer match', async () => {
    const text = await exportText(chain.source(), 'jsonl', { actor: 'svc:map' });
    const report = await verify(text.replace('"actor":"svc:map","action":null}', '"actor":"svc:mbp","action":null}'));
    expect(report.ok).toBe(false);
    expect(report.problem?.message).toMatch(/does not match the export's actor filter/);
  });

  it('catch an edited digest (the chain no longer reaches its checkpoint)', async () => {
    const d = Doc.parse('jsonl', await exportText(chain.source(), 'jsonl', { actor: 'svc:map' }));
    const elided = d.records.find((r) => r.type === 'elided')!;
    (elided['digests'] as string[])[0] = 'ab'.repeat(32);
    const report = await verify(d.text());
    expect(report.ok).toBe(false);
    expect(report.problem?.message).toMatch(/does not link|differs from its signed checkpoint/);
  });
});

describe('any single-byte change is detected (property)', () => {
  const cases: [string, ExportFormat, ExportFilter][] = [
    ['an unfiltered JSON Lines export', 'jsonl', {}],
    ['an actor-filtered JSON Lines export', 'jsonl', { actor: 'svc:map' }],
    ['an unfiltered CSV export', 'csv', {}],
  ];

  it.each(cases)('in %s', async (_name, format, filter) => {
    const original = Buffer.from(await exportText(small.source(), format, filter));
    expect((await verify(original, small.key.publicKey)).ok).toBe(true);
    const path = join(dir, `property-${format}-${files++}`);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: original.length - 1 }), fc.integer({ min: 1, max: 255 }), async (at, delta) => {
        const changed = Buffer.from(original);
        changed[at] = (original[at]! + delta) % 256;
        writeFileSync(path, changed);
        const report = await verifyAuditExportFile(path, small.key.publicKey);
        expect(report.ok, `byte ${at} changed by ${delta} went unnoticed`).toBe(false);
      }),
      { numRuns: Number(process.env['AUDIT_PROPERTY_RUNS'] ?? 600) },
    );
  });
});
