import Database from 'better-sqlite3';
import { Writable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { CsvParser } from '../../../src/audit/csv.js';
import { checkpointMessage, entryDigest, entryToRow, exportSealMessage, type AuditRecord, type EntryRow } from '../../../src/audit/entry.js';
import { CSV_COLUMNS, CSV_COLUMNS_V1, entryJsonLine, type ExportFilter } from '../../../src/audit/export-format.js';
import { EXPORT_PAGE_SIZE, writeAuditExport, type ExportOptions, type ExportSource } from '../../../src/audit/export.js';
import { sign, verifySignature } from '../../../src/crypto/signing.js';
import { loadSodium } from '../../../src/crypto/sodium.js';
import { encodeCanonical, u64 } from '../../../src/format/canonical.js';
import { AuditRepository } from '../../../src/store/audit-repository.js';
import { migrate } from '../../../src/store/migrator.js';
import { buildChain, collector, pseudonym, sampleRecord, T0, type TestChain } from '../../helpers/audit-chain.js';
import { hex } from '../../helpers/unit-bytes.js';
import { expectVaultRejection } from '../../helpers/unit-errors.js';

beforeAll(async () => {
  await loadSodium();
});

type Line = { type: string; seq?: number; from?: number; digests?: string[]; [key: string]: unknown };

async function exportLines(source: ExportSource, filter: ExportFilter = {}, more: Partial<ExportOptions> = {}) {
  const out = collector();
  const result = await writeAuditExport(source, out.stream, { format: 'jsonl', filter, ...more });
  const text = out.text();
  expect(text.endsWith('\n')).toBe(true);
  return { result, text, lines: text.slice(0, -1).split('\n').map((l) => JSON.parse(l) as Line) };
}

/** The format 2 seal: the same fields as format 1's, under the domain `audit-export/2`. */
function sealV2(vaultId: Uint8Array, head: number, exportedAt: number, every: number, filterJson: string): Uint8Array {
  return encodeCanonical('audit-export/2', [vaultId, u64(head), u64(exportedAt), every, filterJson]);
}

/** The seqs the export covers, in order, as [kind, seq] (elided digests expanded). */
function coverage(lines: readonly Line[]): [string, number][] {
  const out: [string, number][] = [];
  for (const l of lines) {
    if (l.type === 'entry' || l.type === 'checkpoint' || l.type === 'chain') out.push([l.type, l.seq ?? 0]);
    if (l.type === 'elided') (l.digests ?? []).forEach((_d, i) => out.push(['elided', (l.from ?? 0) + i]));
  }
  return out;
}

let chain: TestChain;
beforeAll(() => {
  chain = buildChain(2600, { checkpointEvery: 700 });
});

describe('writeAuditExport, JSON Lines', () => {
  it('writes the header, every entry in full, and each checkpoint right after its entry, ending at the head', async () => {
    const { result, text, lines } = await exportLines(chain.source());
    const header = lines[0]!;
    const exportedAt = chain.checkpoints.at(-1)!.ts;
    const seal = sealV2(chain.vaultId, 2600, exportedAt, 700, '{"since":null,"until":null,"subject":null,"actor":null,"action":null}');
    expect(header).toEqual({
      type: 'header',
      format: 'childvault-audit-export/2',
      vaultId: hex(chain.vaultId),
      publicKey: hex(chain.key.publicKey),
      genesis: hex(chain.genesis),
      head: 2600,
      exportedAt: new Date(exportedAt).toISOString(),
      filter: { since: null, until: null, subject: null, actor: null, action: null },
      checkpointEvery: 700,
      // Ed25519 is deterministic: the seal over (vault, head, time, interval, filter) with the vault's key.
      signature: hex(sign(chain.key, seal)),
    });
    expect(Object.keys(header).slice(-2)).toEqual(['checkpointEvery', 'signature']);
    expect(verifySignature(chain.key.publicKey, seal, Buffer.from(header['signature'] as string, 'hex'))).toBe(true);
    // The genesis checkpoint (seq 0, over the genesis hash) comes right after the header.
    expect(lines[1]).toEqual({
      type: 'checkpoint',
      seq: 0,
      ts: new Date(chain.checkpoints[0]!.ts).toISOString(),
      hash: hex(chain.genesis),
      signature: hex(sign(chain.key, checkpointMessage(chain.vaultId, 0, chain.genesis, chain.checkpoints[0]!.ts, 700))),
    });
    const expected: [string, number][] = [['checkpoint', 0]];
    for (const e of chain.entries) {
      expected.push(['entry', e.seq]);
      if (e.seq % 700 === 0 || e.seq === 2600) expected.push(['checkpoint', e.seq]);
    }
    expect(coverage(lines)).toEqual(expected);
    expect(lines.some((l) => l.type === 'elided')).toBe(false);
    expect(lines.at(-1)).toMatchObject({ type: 'checkpoint', seq: 2600 });
    expect(text.split('\n')[2]).toBe(entryJsonLine(entryToRow(chain.entries[0]!)));
    expect(result).toEqual({ entries: 2600, elided: 0, omitted: 0, checkpoints: 5, head: 2600, bytes: Buffer.byteLength(text) });
  });

  it('writes format 1 on request: its name, and its seal under the domain audit-export', async () => {
    const { lines } = await exportLines(chain.source(), {}, { formatVersion: 1 });
    const seal = exportSealMessage(chain.vaultId, 2600, chain.checkpoints.at(-1)!.ts, 700, '{"since":null,"until":null,"subject":null,"actor":null,"action":null}');
    expect(lines[0]).toMatchObject({ format: 'childvault-audit-export/1', signature: hex(sign(chain.key, seal)) });
    await expectVaultRejection(writeAuditExport(chain.source(), collector().stream, { format: 'jsonl', filter: {}, formatVersion: 3 as 2 }), 'VALIDATION');
  });

  it('exports up to the given head only (entries appended later are not included)', async () => {
    const { lines, result } = await exportLines(chain.source(1400));
    expect(lines[0]).toMatchObject({ head: 1400 });
    expect(lines.at(-1)).toMatchObject({ type: 'checkpoint', seq: 1400 });
    expect(result.entries).toBe(1400);
  });

  it('turns entries outside the filter into elided digests: consecutive, at most 1000 per line, broken by entries and checkpoints', async () => {
    const { lines, result } = await exportLines(chain.source(), { actor: 'svc:map' });
    expect(lines[0]).toMatchObject({ filter: { actor: 'svc:map', since: null, until: null, subject: null, action: null } });
    // The seal covers the filter exactly as the header writes it.
    const seal = sealV2(chain.vaultId, 2600, chain.checkpoints.at(-1)!.ts, 700, '{"since":null,"until":null,"subject":null,"actor":"svc:map","action":null}');
    expect(lines[0]!['signature']).toBe(hex(sign(chain.key, seal)));
    // Every stretch between checkpoints shows an entry of svc:map (entry 1, 701, …): nothing is left out.
    const cover = coverage(lines);
    expect(cover.filter(([k]) => k !== 'checkpoint').map(([, s]) => s)).toEqual(chain.entries.map((e) => e.seq));
    for (const [kind, seq] of cover) {
      if (kind === 'entry') expect(chain.entries[seq - 1]!.actor).toBe('svc:map');
      if (kind === 'elided') expect(chain.entries[seq - 1]!.actor).not.toBe('svc:map');
    }
    for (const l of lines.filter((x) => x.type === 'elided')) {
      expect(l.digests!.length).toBeGreaterThanOrEqual(1);
      expect(l.digests!.length).toBeLessThanOrEqual(1000);
      l.digests!.forEach((d, i) => {
        expect(d).toBe(hex(entryDigest(chain.entries[l.from! + i - 1]!)));
      });
    }
    expect(result).toMatchObject({ entries: 650, elided: 1950, omitted: 0, checkpoints: 5 });
  });

  it('format 2, filtered: holds only the stretches that show an entry, each from a chain record (or a checkpoint written) to the checkpoint that proves it', async () => {
    // svc:rare's entries: 5, 702 and 703, 2101, 2599; checkpoints every 700 (and at 2600).
    const rare = new Set([5, 702, 703, 2101, 2599]);
    const records: AuditRecord[] = Array.from({ length: 2600 }, (_v, i) => ({ ...sampleRecord(i + 1), ...(rare.has(i + 1) ? { actor: 'svc:rare' } : {}) }));
    const sparse = buildChain(records, { checkpointEvery: 700 });
    const { lines, result, text } = await exportLines(sparse.source(), { actor: 'svc:rare' });
    const runs = (from: number, to: number): [string, number][] => Array.from({ length: to - from + 1 }, (_v, i) => ['elided', from + i]);
    expect(coverage(lines)).toEqual([
      ['checkpoint', 0],
      ['chain', 4], ['entry', 5], ...runs(6, 700), ['checkpoint', 700],
      ['chain', 701], ['entry', 702], ['entry', 703], ...runs(704, 1400), ['checkpoint', 1400],
      // Nothing shown from 1401 to 2100: neither digests nor the checkpoint at 2100.
      ['chain', 2100], ['entry', 2101], ...runs(2102, 2598), ['entry', 2599], ['elided', 2600], ['checkpoint', 2600],
    ]);
    // A chain record holds the chain's hash before the entry after it, which is that entry's prevHash.
    for (const [i, l] of lines.entries()) {
      if (l.type !== 'chain') continue;
      expect(l).toEqual({ type: 'chain', seq: l.seq, hash: hex(sparse.entries[l.seq! - 1]!.hash) });
      expect(lines[i + 1]).toMatchObject({ type: 'entry', seq: l.seq! + 1, prevHash: l['hash'] });
    }
    expect(result).toEqual({ entries: 5, elided: 695 + 697 + 497 + 1, omitted: 4 + 1 + 700, checkpoints: 4, head: 2600, bytes: Buffer.byteLength(text) });
    expect(result.entries + result.elided + result.omitted).toBe(2600);
  });

  it('format 2, filtered: an entry right after a checkpoint written needs no chain record; nothing shown leaves the genesis and final checkpoints', async () => {
    const byTime = await exportLines(chain.source(), { since: T0 + 701_000, until: T0 + 702_000 });
    expect(coverage(byTime.lines)).toEqual([
      ['checkpoint', 0],
      ['chain', 700], ['entry', 701], ['entry', 702], ...Array.from({ length: 698 }, (_v, i): [string, number] => ['elided', 703 + i]), ['checkpoint', 1400],
      ['checkpoint', 2600],
    ]);
    const first = await exportLines(chain.source(), { until: T0 + 1000 });
    expect(coverage(first.lines).slice(0, 3)).toEqual([['checkpoint', 0], ['entry', 1], ['elided', 2]]);
    const none = await exportLines(chain.source(), { action: 'no-such-action' });
    expect(none.lines.map((l) => [l.type, l.seq])).toEqual([['header', undefined], ['checkpoint', 0], ['checkpoint', 2600]]);
    expect(none.result).toMatchObject({ entries: 0, elided: 0, omitted: 2600, checkpoints: 2 });
  });

  it('format 1: splits long elided runs at 1000 digests and at every checkpoint', async () => {
    const { lines } = await exportLines(chain.source(), { action: 'no-such-action' }, { formatVersion: 1 });
    const runs = lines.filter((l) => l.type === 'elided').map((l) => [l.from, l.digests!.length]);
    // Checkpoints at 700, 1400, 2100, 2600 end runs; none is longer than 1000.
    expect(runs).toEqual([
      [1, 700],
      [701, 700],
      [1401, 700],
      [2101, 500],
    ]);
    const all = await exportLines(buildChain(2500, { checkpointEvery: 5000 }).source(), { action: 'no-such-action' }, { formatVersion: 1 });
    expect(all.lines.filter((l) => l.type === 'elided').map((l) => [l.from, l.digests!.length])).toEqual([
      [1, 1000],
      [1001, 1000],
      [2001, 500],
    ]);
  });

  it('filters by subject pseudonym and by time, inclusively', async () => {
    const bySubject = await exportLines(chain.source(), { subject: pseudonym(3) });
    for (const l of bySubject.lines.filter((x) => x.type === 'entry')) expect(l['subject']).toBe(hex(pseudonym(3)));
    expect(bySubject.lines[0]).toMatchObject({ filter: { subject: hex(pseudonym(3)) } });
    const byTime = await exportLines(chain.source(), { since: T0 + 10_000, until: T0 + 20_000 });
    expect(byTime.lines.filter((x) => x.type === 'entry').map((x) => x.seq)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    expect(byTime.lines[0]).toMatchObject({ filter: { since: '2026-11-27T10:00:10.000Z', until: '2026-11-27T10:00:20.000Z' } });
  });

  it('reports progress per page up to the head', async () => {
    const seen: [number, number][] = [];
    await exportLines(buildChain(12_000, { checkpointEvery: 1000 }).source(), {}, { onProgress: (d, t) => seen.push([d, t]) });
    expect(seen).toHaveLength(12_000 / EXPORT_PAGE_SIZE);
    expect(seen[0]).toEqual([EXPORT_PAGE_SIZE, 12_000]);
    expect(seen.at(-1)).toEqual([12_000, 12_000]);
    expect(seen.every(([d], i) => i === 0 || d > seen[i - 1]![0])).toBe(true);
  });

  it('waits for drain: never writes while the stream is above its high-water mark', async () => {
    const source = buildChain(12_000, { checkpointEvery: 1000 }).source();
    let writes = 0;
    let pendingAtWrite = 0;
    const stream = new Writable({
      highWaterMark: 1024,
      write(_chunk: Buffer, _enc, callback) {
        writes++;
        setTimeout(callback, 2);
      },
    });
    const original = stream.write.bind(stream);
    stream.write = ((chunk: Buffer) => {
      pendingAtWrite = Math.max(pendingAtWrite, stream.writableLength);
      return original(chunk);
    }) as typeof stream.write;
    const result = await writeAuditExport(source, stream, { format: 'jsonl', filter: {} });
    expect(writes).toBe(1 + 12_000 / EXPORT_PAGE_SIZE); // the header, then one write per page
    // Each write comes after write() returned true (below the mark) or after 'drain'.
    expect(pendingAtWrite).toBeLessThan(1024);
    expect(result.entries).toBe(12_000);
  });

  it('keeps the export faithful when the log has a gap: the elided run breaks there', async () => {
    const source = chain.source();
    const gappy: ExportSource = { ...source, pageEntries: (a, u, l) => source.pageEntries(a, u, l).filter((e) => e.seq !== 5) };
    const { lines } = await exportLines(gappy, { action: 'no-such-action' }, { formatVersion: 1 });
    expect(lines.filter((l) => l.type === 'elided').slice(0, 2).map((l) => [l.from, l.digests!.length])).toEqual([
      [1, 4],
      [6, 695],
    ]);
  });
});

describe('writeAuditExport, CSV', () => {
  it('writes the header row, then the same records as JSON Lines, one per row', async () => {
    const out = collector();
    const result = await writeAuditExport(chain.source(1400), out.stream, { format: 'csv', filter: { actor: 'svc:map' } });
    const parser = new CsvParser();
    const rows = [...parser.push(out.text()), ...parser.end()].map((r) => r.record);
    expect(rows[0]).toEqual([...CSV_COLUMNS]);
    for (const row of rows) expect(row).toHaveLength(CSV_COLUMNS.length);
    const col = (name: (typeof CSV_COLUMNS)[number]) => CSV_COLUMNS.indexOf(name);
    expect(rows[1]![0]).toBe('header');
    expect(rows[1]![col('head')]).toBe('1400');
    expect(rows[1]![col('checkpoint_every')]).toBe('700');
    expect(rows[1]![col('signature')]).toMatch(/^[0-9a-f]{128}$/);
    expect(rows[2]!.slice(0, 2)).toEqual(['checkpoint', '0']);
    expect(rows[2]![col('hash')]).toBe(hex(chain.genesis));
    expect(JSON.parse(rows[1]![col('filter')]!)).toEqual({ since: null, until: null, subject: null, actor: 'svc:map', action: null });
    const types = rows.slice(2).map((r) => r[0]);
    expect(types.filter((t) => t === 'entry')).toHaveLength(result.entries);
    expect(types.filter((t) => t === 'checkpoint')).toHaveLength(3); // the genesis, 700 and 1400
    const elided = rows.filter((r) => r[0] === 'elided');
    expect(elided.reduce((n, r) => n + r[col('digests')]!.split(' ').length, 0)).toBe(result.elided);
    expect(rows.at(-1)![0]).toBe('checkpoint');
    expect(out.text().endsWith('\r\n')).toBe(true);
    // Format 2's last column names the format in the header record, and is empty in the others.
    expect(rows[1]![col('format')]).toBe('childvault-audit-export/2');
    expect(rows.slice(2).every((r) => r[col('format')] === '')).toBe(true);
  });

  it('writes format 1 with its own columns (no format column)', async () => {
    const out = collector();
    await writeAuditExport(chain.source(1400), out.stream, { format: 'csv', filter: { actor: 'svc:map' }, formatVersion: 1 });
    const parser = new CsvParser();
    const rows = [...parser.push(out.text()), ...parser.end()].map((r) => r.record);
    expect(rows[0]).toEqual([...CSV_COLUMNS_V1]);
    for (const row of rows) expect(row).toHaveLength(CSV_COLUMNS_V1.length);
  });
});

describe('writeAuditExport preconditions and failures', () => {
  it('refuses a source without a signed checkpoint at its head', async () => {
    const source = { ...chain.source(), head: 1401 };
    const error = await expectVaultRejection(writeAuditExport(source, collector().stream, { format: 'jsonl', filter: {} }), 'VALIDATION');
    expect(error.message).toContain('no signed checkpoint at the export head (seq 1401)');
  });

  it('refuses an empty log, an unknown format and a malformed filter', async () => {
    const stream = collector().stream;
    await expectVaultRejection(writeAuditExport({ ...chain.source(), head: 0 }, stream, { format: 'jsonl', filter: {} }), 'VALIDATION');
    await expectVaultRejection(writeAuditExport(chain.source(), stream, { format: 'xml' as 'csv', filter: {} }), 'VALIDATION');
    const short = await expectVaultRejection(writeAuditExport(chain.source(), stream, { format: 'jsonl', filter: { subject: new Uint8Array(16) } }), 'VALIDATION');
    expect(short.field).toBe('filter.subject');
    await expectVaultRejection(writeAuditExport(chain.source(), stream, { format: 'jsonl', filter: { since: -1 } }), 'VALIDATION');
    await expectVaultRejection(writeAuditExport(chain.source(), stream, { format: 'jsonl', filter: { actor: '' } }), 'VALIDATION');
  });

  it('fails with STORAGE (not a crash) when the stream fails', async () => {
    const stream = new Writable({
      write(_chunk, _enc, callback) {
        callback(Object.assign(new Error('no space left'), { code: 'ENOSPC' }));
      },
    });
    const error = await expectVaultRejection(writeAuditExport(buildChain(12_000).source(), stream, { format: 'jsonl', filter: {} }), 'STORAGE');
    expect(error.message).toBe('writing the audit export failed (ENOSPC)');
    expect(stream.listenerCount('error')).toBe(0);
  });
});

describe('writeAuditExport from hex rows (pageEntryRows)', () => {
  const ROW_SQL = `SELECT seq, ts, actor, role, purpose, action, nullif(lower(hex(subject)), ''), categories, outcome, reason, approval, consent,
    request_id, detail, lower(hex(prev_hash)), lower(hex(hash)) FROM audit_log WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`;

  it('writes exactly what the entry path writes, with the documented SQL over a real table', async () => {
    const db = new Database(':memory:');
    try {
      await migrate(db);
      const repo = new AuditRepository(db);
      const small = buildChain(1300, { checkpointEvery: 400 });
      for (const e of small.entries) repo.insert(e, new Uint8Array(32));
      for (const c of small.checkpoints) repo.insertCheckpoint(c);
      const rows = db.prepare<[number, number, number], EntryRow>(ROW_SQL).raw(true);
      const base: ExportSource = { ...small.source(), pageEntries: (a, u, l) => repo.page(a, u, l), pageCheckpoints: (a, u, l) => repo.checkpointPage(a, u, l) };
      const fast: ExportSource = { ...base, pageEntryRows: (a, u, l) => rows.all(a, u, l) };
      for (const format of ['jsonl', 'csv'] as const) {
        for (const filter of [{}, { actor: 'svc:map' }, { subject: pseudonym(3) }, { since: T0 + 100_000 }] as ExportFilter[]) {
          const slow = collector();
          const quick = collector();
          await writeAuditExport(base, slow.stream, { format, filter });
          await writeAuditExport(fast, quick.stream, { format, filter });
          expect(quick.text()).toBe(slow.text());
        }
      }
    } finally {
      db.close();
    }
  });
});
