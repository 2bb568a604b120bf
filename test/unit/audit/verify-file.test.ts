import fc from 'fast-check';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvLine, CsvParser } from '../../../src/audit/csv.js';
import { chainHash, checkpointMessage, entryDigest, genesisHash, toEntry, type AuditEntry, type AuditRecord } from '../../../src/audit/entry.js';
import {
  chainCsvCells,
  checkpointCsvCells,
  CSV_COLUMNS,
  CSV_COLUMNS_V1,
  csvCellsToRecord,
  elidedCsvCells,
  entryCsvCells,
  entryLineSchema,
  entryLineToRow,
  headerCsvCells,
  sealedFilterJson,
  sealMessage,
  type ChainLine,
  type CheckpointLine,
  type ElidedLine,
  type ExportFilter,
  type ExportFormatName,
  type HeaderFilter,
  type HeaderLine,
} from '../../../src/audit/export-format.js';
import { writeAuditExport, type ExportFormat, type ExportSource } from '../../../src/audit/export.js';
import { verifyAuditExportFile, type FileVerifyReport } from '../../../src/audit/verify-file.js';
import { sign } from '../../../src/crypto/signing.js';
import { loadSodium } from '../../../src/crypto/sodium.js';
import { buildChain, collector, pseudonym, sampleRecord, T0, testSigningKey, type TestChain } from '../../helpers/audit-chain.js';
import { fromHex, hex, makeTempDir, removeTempDir } from '../../helpers/unit-bytes.js';
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

async function exportText(source: ExportSource, format: ExportFormat, filter: ExportFilter = {}, formatVersion: 1 | 2 = 2): Promise<string> {
  const out = collector();
  await writeAuditExport(source, out.stream, { format, filter, formatVersion });
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
      // The cells of the entry as the record holds it (the Doc may carry non-canonical values on purpose).
      return entryCsvCells(entryLineToRow(entryLineSchema.parse(r)));
    case 'elided': {
      const e = r as unknown as ElidedLine;
      return elidedCsvCells(e.from, e.digests);
    }
    case 'chain': {
      const c = r as unknown as ChainLine;
      return chainCsvCells(c.seq, c.hash);
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
    // Format 1's records lack the last column, format: the header's is implied.
    const v1 = rows[0]?.record.length === CSV_COLUMNS_V1.length;
    return new Doc(
      format,
      rows.map((r) => csvCellsToRecord(r.record[0] as 'header' | 'chain' | 'entry' | 'elided' | 'checkpoint', v1 ? [...r.record, r.record[0] === 'header' ? 'childvault-audit-export/1' : ''] : r.record) as Rec),
    );
  }

  text(): string {
    if (this.format === 'jsonl') return this.records.map((r) => `${JSON.stringify(r)}\n`).join('');
    const columns = this.records[0]?.['format'] === 'childvault-audit-export/1' ? CSV_COLUMNS_V1 : CSV_COLUMNS;
    return csvLine(columns) + this.records.map((r) => csvLine(cellsOf(r).slice(0, columns.length))).join('');
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

/** What the checker says of a header whose seal does not cover its fields. */
const HEADER_SEAL = /^line [12]: the header's signature does not match its head, time, interval or filter: the header was edited, or the file was cut and re-headed$/;

/**
 * Signs a header record's seal again with `key` (the vault's own, by default): what only someone
 * holding the vault's signing key can do. Lets a test reach the checks behind the seal.
 */
function reseal(header: Rec, key = chain.key): void {
  const message = sealMessage(
    header['format'] as ExportFormatName,
    fromHex(header['vaultId'] as string),
    header['head'] as number,
    Date.parse(header['exportedAt'] as string),
    header['checkpointEvery'] as number,
    sealedFilterJson(header['filter'] as HeaderFilter),
  );
  header['signature'] = hex(sign(key, message));
}

/** A chain of the sample records with `edit` applied, every hash recomputed from the genesis on. */
function rehashed(count: number, edit: (records: AuditRecord[]) => void): AuditEntry[] {
  const records = Array.from({ length: count }, (_v, i) => sampleRecord(i + 1));
  edit(records);
  const entries: AuditEntry[] = [];
  let prev = chain.genesis;
  records.forEach((r, i) => {
    const u = toEntry(i + 1, r);
    const hash = chainHash(prev, entryDigest(u));
    entries.push({ ...u, prevHash: prev, hash });
    prev = hash;
  });
  return entries;
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
    // The genesis checkpoint (seq 0) and those at 1000, 2000 and the head.
    expect(report).toMatchObject({ ok: true, format, line: null, entries: 2500, elided: 0, checkpoints: 4, problem: null });
    expect(report.head).toEqual({ seq: 2500, hash: hex(chain.entries[2499]!.hash) });
    expect(doc.records[1]).toMatchObject({ type: 'checkpoint', seq: 0, hash: hex(chain.genesis) });
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
    expectFailure(await verify(d.text()), 7, /^entry 8 arrives where 7 belongs: entry 7 was removed or reordered$/, d.lineOf(d.index('entry', 8)));
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
    const forged = rehashed(2500, (records) => records.splice(5, 0, { ...sampleRecord(6), actor: 'svc:forger' }));
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
        r['signature'] = hex(sign(other, checkpointMessage(chain.vaultId, c.seq, c.hash, c.ts, chain.every)));
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

  it('catches edits to the header: the genesis check first, then the seal over vault, head, time, interval and filter', async () => {
    const otherVault = '43'.repeat(16);
    const edits: [string, Partial<Rec>, RegExp][] = [
      ['vault id alone', { vaultId: otherVault }, /genesis is not the genesis hash of its vault id/],
      ['genesis alone', { genesis: 'ab'.repeat(32) }, /genesis is not the genesis hash of its vault id/],
      ['vault id and its genesis', { vaultId: otherVault, genesis: hex(genesisHash(fromHex(otherVault))) }, HEADER_SEAL],
      ['head, smaller', { head: 2400 }, HEADER_SEAL],
      ['head, larger', { head: 2600 }, HEADER_SEAL],
      ['export time', { exportedAt: '2026-11-28T00:00:00.000Z' }, HEADER_SEAL],
      ['filter', { filter: { since: null, until: null, subject: null, actor: 'svc:map', action: null } }, HEADER_SEAL],
      ['interval, smaller', { checkpointEvery: 500 }, HEADER_SEAL],
      ['interval, larger', { checkpointEvery: 2500 }, HEADER_SEAL],
      ['seal', { signature: `${'0'.repeat(127)}1` }, HEADER_SEAL],
    ];
    for (const [name, change, message] of edits) {
      const d = doc.clone();
      Object.assign(d.records[0]!, change);
      const report = await verify(d.text());
      expect(report.ok, name).toBe(false);
      expect(report.problem?.message, name).toMatch(message);
      expect(report.problem?.seq, name).toBeNull();
      expect(report.line, name).toBe(doc.lineOf(0));
    }
  });

  it('still checks the header against the chain when the seal is valid (a header the vault key sealed with wrong values)', async () => {
    const cases: [Partial<Rec>, number | null, RegExp, number | 'last'][] = [
      [{ head: 2400 }, 2401, /^the export announces 2400 entries but holds 2500/, 'last'],
      [{ head: 2600 }, 2501, /^the export announces 2600 entries but holds 2500/, 'last'],
      [{ exportedAt: '2026-11-28T00:00:00.000Z' }, null, /^line [12]: the header's exportedAt is not the time of the export's final checkpoint/, doc.lineOf(0)],
      // The interval is signed into every checkpoint too: from the genesis on, none verifies.
      [{ checkpointEvery: 500 }, 0, /^checkpoint at seq 0 has an invalid signature: .*or for another interval/, doc.lineOf(1)],
    ];
    for (const [change, seq, message, line] of cases) {
      const d = doc.clone();
      Object.assign(d.records[0]!, change);
      reseal(d.records[0]!);
      expectFailure(await verify(d.text()), seq, message, line === 'last' ? d.lineOf(d.records.length - 1) : line);
    }
  });

  it('refuses a file cut at an earlier checkpoint with its header edited to match (the seal covers head and time)', async () => {
    const cut = doc.clone();
    cut.records.splice(cut.index('checkpoint', 2000) + 1);
    Object.assign(cut.records[0]!, { head: 2000, exportedAt: cut.records.at(-1)!['ts'] });
    expectFailure(await verify(cut.text()), null, HEADER_SEAL, doc.lineOf(0));
    // Only the seal stands in the way: the same cut, sealed with the vault's key, would verify.
    reseal(cut.records[0]!);
    expect(await verify(cut.text())).toMatchObject({ ok: true, entries: 2000, checkpoints: 3 });
    // Sealed with another key, it is refused all the same.
    reseal(cut.records[0]!, testSigningKey(9));
    expectFailure(await verify(cut.text()), null, HEADER_SEAL, doc.lineOf(0));
  });

  it('refuses a checkpoint deleted from the middle: "no checkpoint between … checkpoints were deleted"', async () => {
    const d = doc.clone();
    d.records.splice(d.index('checkpoint', 1000), 1);
    expectFailure(
      await verify(d.text()),
      1000,
      /^no checkpoint between seq 0 and 2000, though one is signed every 1000 entries: checkpoints were deleted$/,
      d.lineOf(d.index('checkpoint', 2000)),
    );
    const later = doc.clone();
    later.records.splice(later.index('checkpoint', 2000), 1);
    expectFailure(
      await verify(later.text()),
      2000,
      /^no checkpoint between seq 1000 and 2500, though one is signed every 1000 entries: checkpoints were deleted$/,
      later.lineOf(later.index('checkpoint', 2500)),
    );
  });

  it('refuses an export without its genesis checkpoint', async () => {
    const d = doc.clone();
    d.records.splice(d.index('checkpoint', 0), 1);
    expectFailure(await verify(d.text()), 0, /^the genesis checkpoint \(seq 0\) is missing: checkpoints were deleted$/, d.lineOf(d.index('checkpoint', 1000)));
  });

  it('refuses a chain an insider edited and re-hashed throughout, with every checkpoint line removed', async () => {
    const forged = rehashed(2500, (records) => {
      records[4] = { ...records[4]!, actor: 'svc:evil' };
      records[1495] = { ...records[1495]!, outcome: 'allowed', reason: null }; // a refusal made to disappear
    });
    expect(chain.entries[1495]).toMatchObject({ seq: 1496, outcome: 'denied' });
    expect(forged[1495]).toMatchObject({ seq: 1496, outcome: 'allowed' });
    expect(forged[4]!.actor).toBe('svc:evil');
    const forgedDoc = Doc.parse(format, await exportText({ ...chain.source(), pageEntries: (a, u, l) => forged.slice(a, Math.min(u, a + l)) }, format));
    // The insider keeps the vault's genuine header (same head, time, interval and filter: its seal holds).
    expect(forgedDoc.records[0]).toEqual(doc.records[0]);
    const bare = new Doc(format, forgedDoc.records.filter((r) => r.type !== 'checkpoint'));
    expect(bare.records.filter((r) => r.type === 'entry')).toHaveLength(2500);
    const lastLine = bare.lineOf(bare.records.length - 1);
    expectFailure(await verify(bare.text()), 0, /^the genesis checkpoint \(seq 0\) is missing/, lastLine);
    // Keeping the genesis checkpoint (valid for any chain of this vault) does not help.
    const genesisOnly = new Doc(format, forgedDoc.records.filter((r) => r.type !== 'checkpoint' || r['seq'] === 0));
    expectFailure(await verify(genesisOnly.text()), 2500, /^the export does not end with a signed checkpoint over its last entry/, lastLine + 1);
    // With the vault's checkpoints kept, the first one after the edit gives it away.
    expectFailure(await verify(forgedDoc.text()), 1000, /^the chain at seq 1000 differs from its signed checkpoint/, forgedDoc.lineOf(forgedDoc.index('checkpoint', 1000)));
  });

  it('refuses an export sealed for another checkpoint interval than its checkpoints were signed for', async () => {
    // A wider interval would hide the deleted checkpoints at 1000 and 2000; the header is sealed
    // for it, but the checkpoints were signed for 1000, so none of them verifies.
    const base = chain.source();
    const widened: ExportSource = { ...base, checkpointEvery: 2500, pageCheckpoints: (a, u, l) => base.pageCheckpoints(a, u, l).filter((c) => c.seq % 1000 !== 0 || c.seq === 0) };
    const text = await exportText(widened, format);
    const d = Doc.parse(format, text);
    expect(d.records[0]).toMatchObject({ checkpointEvery: 2500 });
    expect(d.records.filter((r) => r.type === 'checkpoint').map((r) => r['seq'])).toEqual([0, 2500]);
    expectFailure(await verify(text), 0, /^checkpoint at seq 0 has an invalid signature: forged or modified \(or signed by another vault's key, or for another interval\)$/, d.lineOf(1));
    // And a chain whose checkpoints were signed for another interval than its (sealed) header's.
    const other = buildChain(2500, { checkpointEvery: 2500 });
    const mixed = await exportText({ ...other.source(), checkpointEvery: 1000 }, format);
    expectFailure(await verify(mixed), 0, /^checkpoint at seq 0 has an invalid signature/, d.lineOf(1));
  });

  it('refuses elided records in an unfiltered export (contents removed)', async () => {
    const d = doc.clone();
    const i = d.index('entry', 3);
    d.records[i] = { type: 'elided', from: 3, digests: [hex(entryDigest(chain.entries[2]!))] };
    expectFailure(await verify(d.text()), 3, /an unfiltered export leaves out entries 3-3/, d.lineOf(i));
  });

  it('refuses records after the final checkpoint, a second header, and a missing header', async () => {
    const appended = doc.clone();
    appended.records.push(structuredClone(appended.records[appended.index('entry', 1)]!));
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
    ['an unknown record type', '{"type":"note","text":"hello"}', /^line 5: type must be header, chain, entry, elided or checkpoint$/],
    ['a non-object', '{}', /^line 5: type must be header, chain, entry, elided or checkpoint$/],
    ['an empty line', '', /^line 5 is empty$/],
    ['leading whitespace', ' {"type":"entry"}', /^line 5 is not a JSON object on one line$/],
  ])('reports %s with its line number', async (_name, content, message) => {
    const report = await verify(withLine(5, content), small.key.publicKey);
    expectFailure(report, null, message, 5);
    expect(report.format).toBe('jsonl');
  });

  it('refuses an entry that is valid JSON but not in the compact form the vault writes', async () => {
    // Line 1 the header, line 2 the genesis checkpoint: entry 6 is on line 8.
    expect(lines[7]).toMatch(/^\{"type":"entry","seq":6,/);
    const spaced = lines[7]!.replace('"seq":6,', '"seq": 6,');
    expectFailure(await verify(withLine(8, spaced), small.key.publicKey), 6, /^entry 6 \(line 8\) is not exactly as the vault wrote it \(the first difference is at field seq\): the file was edited$/, 8);
    const reordered = JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(lines[7]!) as object).reverse()));
    expectFailure(await verify(withLine(8, reordered), small.key.publicKey), 6, /^entry 6 \(line 8\) is not exactly as the vault wrote it \(the first difference is at field seq\)/, 8);
    const detailSpaced = lines[7]!.replace('"detail":{"note":', '"detail":{ "note":');
    expect(detailSpaced).not.toBe(lines[7]);
    expectFailure(await verify(withLine(8, detailSpaced), small.key.publicKey), 6, /^entry 6 \(line 8\) is not exactly as the vault wrote it \(the first difference is at field detail\)/, 8);
  });

  it('refuses a header that is valid JSON but not in the compact form the vault writes', async () => {
    const spaced = lines[0]!.replace('"checkpointEvery":10,', '"checkpointEvery": 10,');
    expect(spaced).not.toBe(lines[0]);
    expectFailure(await verify(withLine(1, spaced), small.key.publicKey), null, /^line 1: the header record is not exactly as the vault wrote it \(the first difference is at character \d+\): the file was edited$/, 1);
  });

  it('catches one-byte edits that keep every value equal (only the exact text proves them)', async () => {
    const text = lines.join('\n');
    expect(text).toContain('"big":9007199254740991');
    for (const edit of ['"big":9007199254740991.0', '"big":9.007199254740991e15', '"big":9007199254740991e0']) {
      const report = await verify(text.replace('"big":9007199254740991', edit), small.key.publicKey);
      expect(report.ok).toBe(false);
      expect(report.problem?.message).toMatch(/is not exactly as the vault wrote it \(the first difference is at field detail\)/);
    }
  });

  it('reports a line longer than the limit without reading it all', async () => {
    const report = await verify(`${lines[0]}\n${'{'.repeat(3 * 1024 * 1024)}`, small.key.publicKey);
    expectFailure(report, null, /^line 2 is longer than 1 MiB/, 2);
  });

  it('reports a line of 1-2 MiB that ends in the chunk after the one it starts in', async () => {
    // Read in 1 MiB chunks: the first holds less than 1 MiB of line 2, the second ends it.
    const long = `{${'"x"'.repeat(512 * 1024)}}`;
    expect(Buffer.byteLength(long)).toBeGreaterThan(1024 * 1024);
    expect(Buffer.byteLength(long)).toBeLessThan(2 * 1024 * 1024);
    expectFailure(await verify(`${lines[0]}\n${long}\n${lines.slice(1).join('\n')}`, small.key.publicKey), null, /^line 2 is longer than 1 MiB: it is not an export record$/, 2);
  });

  it('accepts CRLF line ends (also mixed with LF) and a missing final line end', async () => {
    const text = lines.join('\n');
    expect((await verify(text.replaceAll('\n', '\r\n'), small.key.publicKey)).ok).toBe(true);
    expect((await verify(text.replace('\n', '\r\n'), small.key.publicKey)).ok).toBe(true);
    expect((await verify(text.trimEnd(), small.key.publicKey)).ok).toBe(true);
  });

  it('refuses a file that is not valid UTF-8 (a replaced byte would read like U+FFFD), and a byte order mark', async () => {
    const bytes = Buffer.from(lines.join('\n'));
    const at = bytes.indexOf('"actor":"') + 9;
    const line = bytes.subarray(0, at).toString().split('\n').length;
    const invalid = Buffer.from(bytes);
    invalid[at] = 0xff;
    expectFailure(await verify(invalid, small.key.publicKey), null, new RegExp(`^line ${line} is not valid UTF-8$`), line);
    // The same text with U+FFFD, valid UTF-8, is read, and fails as an edit.
    const replaced = Buffer.concat([bytes.subarray(0, at), Buffer.from('\ufffd'), bytes.subarray(at + 1)]);
    expect((await verify(replaced, small.key.publicKey)).problem?.message).toMatch(/was modified/);
    const bom = await verify(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]), small.key.publicKey);
    expectFailure(bom, null, /^line 1 is neither a JSON Lines export header nor the CSV header row/, 1);
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
    // Line 1 the column names, line 2 the header record, line 3 the genesis checkpoint: entry 1 is on line 4.
    expect(rows[2]).toMatch(/^checkpoint,0,/);
    expect(rows[3]).toMatch(/^entry,1,/);
    const withRow = (n: number, row: string): string => [...rows.slice(0, n - 1), row, ...rows.slice(n)].join('\r\n');
    expectFailure(await verify(`${text}entry,1,"unterminated\r\n`, small.key.publicKey), null, new RegExp(`^line ${rows.length}: a quoted field is not terminated`), rows.length);
    expectFailure(await verify(withRow(4, 'entry,1,"opens here'), small.key.publicKey), null, /^line 4: text after a closing quote/, 4);
    expectFailure(await verify(withRow(4, 'entry,"1"x'), small.key.publicKey), null, /^line 4: text after a closing quote/, 4);
    expectFailure(await verify(withRow(4, 'entry,1,2'), small.key.publicKey), null, /^line 4 has 3 cells; an export record has 27$/, 4);
    expectFailure(await verify(withRow(4, ''), small.key.publicKey), null, /^line 4 is empty$/, 4);
    const cells = rows[3]!.split(',');
    cells[1] = 'one';
    expectFailure(await verify(withRow(4, cells.join(',')), small.key.publicKey), null, /^line 4: seq expected number$/, 4);
    const camel = rows[3]!.split(',');
    camel[13] = 'x'.repeat(300);
    expectFailure(await verify(withRow(4, camel.join(',')), small.key.publicKey), null, /^line 4: request_id must be at most 256 characters$/, 4);
  });

  it('accepts LF line ends as well as CRLF, record by record (quoted line breaks stay content)', async () => {
    expect(text).toMatch(/"[^"]*\r\n[^"]*"/); // the sample holds a quoted CRLF, which must not change
    const records = new CsvParser().push(text);
    expect(records.length).toBeGreaterThan(20);
    // Re-terminate every record with LF only, keeping the cells exactly.
    const lf = [CSV_COLUMNS, ...records.slice(1).map((r) => r.record)].map((cells) => csvLine(cells).replace(/\r\n$/, '\n')).join('');
    expect(lf).not.toBe(text);
    expect(await verify(lf, small.key.publicKey)).toMatchObject({ ok: true, format: 'csv' });
    // Converting every CRLF, also inside quoted cells, changes those cells: an edit.
    expect((await verify(text.replaceAll('\r\n', '\n'), small.key.publicKey)).ok).toBe(false);
  });

  it('refuses a cell quoted without need (the exact-text rule holds for CSV quoting too)', async () => {
    const rows = text.split('\r\n');
    expect(rows[3]).toMatch(/^entry,1,2026-11-27T10:00:01\.000Z,svc:map,/);
    for (const [row, message] of [
      [rows[3]!.replace(',svc:map,', ',"svc:map",'), /^line 4: column actor is quoted but holds no comma, quote or line break \(only such cells are quoted\)$/],
      [rows[3]!.replace(/^entry,/, '"entry",'), /^line 4: column type is quoted/],
      [rows[3]!.replace(',,', ',"",'), /^line 4: column \w+ is quoted/],
    ] as const) {
      expect(row).not.toBe(rows[3]);
      expectFailure(await verify([...rows.slice(0, 3), row, ...rows.slice(4)].join('\r\n'), small.key.publicKey), null, message, 4);
    }
    const header = rows[0]!.replace(',request_id,', ',"request_id",');
    expectFailure(await verify([header, ...rows.slice(1)].join('\r\n'), small.key.publicKey), null, /^line 1: column request_id is quoted/, 1);
  });

  it('refuses a CSV file that is not valid UTF-8', async () => {
    const bytes = Buffer.from(text);
    const invalid = Buffer.from(bytes);
    invalid[bytes.indexOf('svc:map')] = 0xfe;
    expectFailure(await verify(invalid, small.key.publicKey), null, /^line \d+ is not valid UTF-8$/);
  });

  it('reports a bad checkpoint_every cell in the header record by its column', async () => {
    const rows = text.split('\r\n');
    const header = rows[1]!.split(',');
    // The last two cells: checkpoint_every, then format.
    expect(header.slice(-2)).toEqual(['10', 'childvault-audit-export/2']);
    for (const [cell, message] of [
      ['ten', /^line 2: checkpoint_every expected number$/],
      ['1e3', /^line 2: checkpoint_every expected number$/],
      ['', /^line 2: checkpoint_every expected number$/],
      ['0', /^line 2: checkpoint_every must be at least 1$/],
    ] as const) {
      const edited = [...rows.slice(0, 1), [...header.slice(0, -2), cell, header.at(-1)].join(','), ...rows.slice(2)].join('\r\n');
      expectFailure(await verify(edited, small.key.publicKey), null, message, 2);
    }
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
    expectFailure(braced, null, /^line 1 is not valid UTF-8$/, 1);
    const nul = await verify(Uint8Array.of(0x7b, 0x00, 0x7d, 0x0a));
    expectFailure(nul, null, /^line 1 is not valid JSON$/, 1);
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

  it.each(filters)('verify OK by %s in format 2 and in format 1 (JSON Lines and CSV)', async (_name, filter) => {
    for (const version of [2, 1] as const) {
      for (const format of ['jsonl', 'csv'] as const) {
        const report = await verify(await exportText(chain.source(), format, filter, version));
        expect(report.problem).toBeNull();
        expect(report.ok).toBe(true);
        // Each entry is shown, a digest, or (format 2) left out with a stretch that shows nothing.
        expect(report.entries + report.elided + report.omitted).toBe(2500);
        if (version === 1) expect({ omitted: report.omitted, checkpoints: report.checkpoints }).toEqual({ omitted: 0, checkpoints: 4 });
      }
    }
  });

  it('format 1 read: an unfiltered export too, and its CSV has no format column', async () => {
    for (const format of ['jsonl', 'csv'] as const) {
      const text = await exportText(small.source(), format, {}, 1);
      expect(text.startsWith(format === 'csv' ? `${CSV_COLUMNS_V1.join(',')}\r\n` : '{"type":"header","format":"childvault-audit-export/1"')).toBe(true);
      expect(await verify(text, small.key.publicKey)).toMatchObject({ ok: true, entries: 25, elided: 0, omitted: 0 });
    }
  });


  it('catch an edited filter: the seal covers it, and included entries no longer match it', async () => {
    const text = await exportText(chain.source(), 'jsonl', { actor: 'svc:map' });
    const edited = text.replace('"actor":"svc:map","action":null}', '"actor":"svc:mbp","action":null}');
    expect(edited).not.toBe(text);
    expectFailure(await verify(edited), null, HEADER_SEAL, 1);
    // Behind the seal: a header sealed by the vault's key with the wrong filter is caught at its first included entry.
    const d = Doc.parse('jsonl', edited);
    reseal(d.records[0]!);
    const first = d.records.find((r) => r.type === 'entry')!;
    expectFailure(await verify(d.text()), first['seq'] as number, /does not match the export's actor filter: the header or the entry was edited/, d.lineOf(d.records.indexOf(first)));
  });

  it('catch a filter removed from the header (the seal covers it)', async () => {
    const d = Doc.parse('jsonl', await exportText(chain.source(), 'jsonl', { actor: 'svc:map' }));
    d.records[0]!['filter'] = { since: null, until: null, subject: null, actor: null, action: null };
    expectFailure(await verify(d.text()), null, HEADER_SEAL, 1);
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

describe('format 2: a filtered export holds only the stretches that show an entry', () => {
  // Checkpoints every 10 (and at 25); entries 12 and 13 shown: the header, the genesis checkpoint,
  // a chain record at 11, entries 12 and 13, digests 14-20, the checkpoints at 20 and 25.
  const filter: ExportFilter = { since: T0 + 12_000, until: T0 + 13_000 };
  let d: Doc;

  beforeAll(async () => {
    d = Doc.parse('jsonl', await exportText(small.source(), 'jsonl', filter));
  });

  const check = (doc: Doc) => verify(doc.text(), small.key.publicKey);
  const entryAt = (doc: Doc, seq: number) => doc.records[doc.index('entry', seq)]!;

  it('verifies, counting what it shows, the digests and what it leaves out', async () => {
    expect(d.records.map((r) => [r.type, r['seq'] ?? r['from'] ?? null])).toEqual([
      ['header', null], ['checkpoint', 0], ['chain', 11], ['entry', 12], ['entry', 13], ['elided', 14], ['checkpoint', 20], ['checkpoint', 25],
    ]);
    expect(await check(d)).toMatchObject({ ok: true, entries: 2, elided: 7, omitted: 16, checkpoints: 3, head: { seq: 25 } });
    const csv = await exportText(small.source(), 'csv', filter);
    expect(await verify(csv, small.key.publicKey)).toMatchObject({ ok: true, entries: 2, elided: 7, omitted: 16, checkpoints: 3 });
  });

  it('catches a forged chain record, even with the entries after it re-hashed: the signed checkpoint after it is not reached', async () => {
    const forged = d.clone();
    let prev = 'ab'.repeat(32);
    forged.records[forged.index('chain', 11)]!['hash'] = prev;
    for (const seq of [12, 13]) {
      const e = entryAt(forged, seq);
      e['prevHash'] = prev;
      prev = hex(chainHash(fromHex(prev), entryDigest(small.entries[seq - 1]!)));
      e['hash'] = prev;
    }
    expectFailure(await check(forged), 20, /^the chain at seq 20 differs from its signed checkpoint: entries up to 20 were changed and re-hashed$/, 7);
    // The chain record alone edited: the entry after it does not link.
    const alone = d.clone();
    alone.records[alone.index('chain', 11)]!['hash'] = 'ab'.repeat(32);
    expectFailure(await check(alone), 12, /^entry 12 does not link to entry 11 \(prev_hash differs\)/, 4);
    // A chain record claiming another seq: the entry after it arrives out of place.
    const moved = d.clone();
    moved.records[moved.index('chain', 11)]!['seq'] = 10;
    expectFailure(await check(moved), 11, /^entry 12 arrives where 11 belongs: entry 11 was removed or reordered$/, 4);
  });

  it('catches a digest removed from the run that ends a stretch, or from its middle', async () => {
    const trailing = d.clone();
    expect(trailing.records[5]).toMatchObject({ type: 'elided', from: 14 });
    (trailing.records[5]!['digests'] as string[]).pop();
    expectFailure(await check(trailing), 20, /^the log ends at seq 19 but a signed checkpoint covers seq 20: entries after 19 were removed$/, 7);
    const middle = d.clone();
    (middle.records[5]!['digests'] as string[]).splice(2, 1);
    expectFailure(await check(middle), 20, /^the log ends at seq 19 but a signed checkpoint covers seq 20/, 7);
  });

  it('refuses a chain record anywhere but right after a checkpoint, or not followed by the entry after it', async () => {
    const inside = d.clone();
    inside.records.splice(4, 0, { type: 'chain', seq: 12, hash: hex(small.entries[11]!.hash) });
    expectFailure(await check(inside), 12, /^line 5: the chain record at seq 12 does not follow a checkpoint: a filtered export takes up the chain only after one \(the file was edited\)$/, 5);
    const noEntry = d.clone();
    noEntry.records.splice(3, 2);
    expectFailure(await check(noEntry), null, /^line 4: a chain record must be followed by the entry after it, not by a elided record: the file was edited$/, 4);
    const twice = d.clone();
    twice.records.splice(3, 0, { type: 'chain', seq: 11, hash: hex(small.entries[10]!.hash) });
    expectFailure(await check(twice), null, /^line 4: a chain record must be followed by the entry after it, not by a chain record/, 4);
  });

  it('refuses digests right after a checkpoint, and a left-out checkpoint put back: one written form', async () => {
    const digests = d.clone();
    digests.records.splice(2, 1, { type: 'elided', from: 11, digests: [hex(entryDigest(small.entries[10]!))] });
    expectFailure(await check(digests), 11, /^line 3: digests follow the checkpoint before them: a filtered export starts each stretch with the first entry it shows \(the file was edited\)$/, 3);
    const putBack = d.clone();
    const cp10 = small.checkpoints.find((c) => c.seq === 10)!;
    putBack.records.splice(2, 0, { type: 'checkpoint', seq: 10, ts: new Date(cp10.ts).toISOString(), hash: hex(cp10.hash), signature: hex(cp10.signature) });
    expectFailure(await check(putBack), 10, /^line 3: the checkpoint at seq 10 follows the checkpoint before it directly, but only the export's final checkpoint may \(the file was edited\)$/, 3);
  });

  it('refuses a chain record in an unfiltered export and in format 1 (which has none)', async () => {
    const full = Doc.parse('jsonl', await exportText(small.source(), 'jsonl'));
    full.records.splice(2, 11, { type: 'chain', seq: 11, hash: hex(small.entries[10]!.hash) });
    expectFailure(await check(full), 1, /^line 3: an unfiltered export leaves out entries 1-11: their contents were removed$/, 3);
    const v1 = d.clone();
    v1.records[0]!['format'] = 'childvault-audit-export/1';
    reseal(v1.records[0]!, small.key);
    expectFailure(await check(v1), null, /^line 3: type must be header, entry, elided or checkpoint$/, 3);
  });

  it('refuses a relabelled format (the seal covers it) and, in CSV, a header record naming another format than its columns', async () => {
    const relabelled = d.clone();
    relabelled.records[0]!['format'] = 'childvault-audit-export/1';
    expectFailure(await check(relabelled), null, HEADER_SEAL, 1);
    const csv = await exportText(small.source(), 'csv', filter);
    const claimsV1 = csv.replace(',childvault-audit-export/2\r\n', ',childvault-audit-export/1\r\n');
    expect(claimsV1).not.toBe(csv);
    expectFailure(await verify(claimsV1, small.key.publicKey), null, /^line 2: column format must be childvault-audit-export\/2 under this CSV header row$/, 2);
    const unknown = csv.replace(',childvault-audit-export/2\r\n', ',childvault-audit-export/3\r\n');
    expect((await verify(unknown, small.key.publicKey)).ok).toBe(false);
  });

  it('cannot tell a stretch removed whole (as no filtered export can prove it shows every match)', async () => {
    const removed = d.clone();
    removed.records.splice(2, 5);
    // What remains is a valid export that shows nothing: completeness needs the unfiltered export.
    expect(await check(removed)).toMatchObject({ ok: true, entries: 0 });
  });
});

describe('any single-byte change is detected (property)', () => {
  const cases: [string, ExportFormat, ExportFilter][] = [
    ['an unfiltered JSON Lines export', 'jsonl', {}],
    ['an actor-filtered JSON Lines export', 'jsonl', { actor: 'svc:map' }],
    ['a JSON Lines export filtered by time, with chain records and stretches left out', 'jsonl', { since: T0 + 12_000, until: T0 + 13_000 }],
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
