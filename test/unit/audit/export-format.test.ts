import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { csvLine, CsvParser } from '../../../src/audit/csv.js';
import { entryDigest, toEntry, type AuditRecord } from '../../../src/audit/entry.js';
import {
  CSV_COLUMNS,
  CSV_HEADER,
  csvCellsToRecord,
  entryFromLine,
  entryJsonLine,
  entryLineSchema,
  entryToCsvCells,
  entryToJson,
  filterFromHeader,
  filterMismatch,
  filterToHeader,
  headerLineSchema,
  matchesFilter,
  checkpointLineSchema,
  elidedLineSchema,
} from '../../../src/audit/export-format.js';
import { parseEntryRecord, scanEntryCells, scanEntryLine } from '../../../src/audit/export-scan.js';
import { hexBytes, isoOf, isoToMs } from '../../../src/audit/export-text.js';
import { loadSodium } from '../../../src/crypto/sodium.js';
import { buildChain, pseudonym, sampleRecord, T0 } from '../../helpers/audit-chain.js';
import { hex } from '../../helpers/unit-bytes.js';

beforeAll(async () => {
  await loadSodium();
});

const recordArb: fc.Arbitrary<AuditRecord> = fc.record({
  ts: fc.integer({ min: 0, max: Date.parse('9999-12-31T23:59:59.999Z') }),
  actor: fc.string({ minLength: 1, maxLength: 20 }),
  role: fc.string({ minLength: 1, maxLength: 8 }),
  purpose: fc.string({ minLength: 1, maxLength: 8 }),
  action: fc.constantFrom('put', 'get', 'erase', 'audit.export'),
  subject: fc.option(fc.uint8Array({ minLength: 32, maxLength: 32 }), { nil: null }),
  categories: fc.array(fc.constantFrom('face', 'voice', 'location', 'contact', 'x_1'), { maxLength: 6 }),
  outcome: fc.constantFrom('allowed', 'denied', 'error'),
  reason: fc.option(fc.string({ minLength: 1, maxLength: 12 }), { nil: null }),
  approval: fc.option(fc.string({ minLength: 1, maxLength: 12 }), { nil: null }),
  consent: fc.option(fc.string({ minLength: 1, maxLength: 12 }), { nil: null }),
  requestId: fc.option(fc.string({ minLength: 1, maxLength: 12 }), { nil: null }),
  detail: fc.option(
    fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.string({ maxLength: 8 }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.boolean()), {
      maxKeys: 4,
    }),
    { nil: null },
  ),
});

/** A stored entry (with arbitrary hashes: the format does not care whether they chain). */
function stored(record: AuditRecord, seq = 1) {
  return { ...toEntry(seq, record), prevHash: new Uint8Array(32).fill(1), hash: new Uint8Array(32).fill(2) };
}

describe('export records of an entry', () => {
  it('entryJsonLine is JSON.stringify(entryToJson(entry)) for ordinary details', () => {
    for (const e of buildChain(40).entries) {
      expect(entryJsonLine(e)).toBe(JSON.stringify(entryToJson(e)));
    }
  });

  it('puts fields in the documented order with null for absent ones', () => {
    const e = stored({ ...sampleRecord(1), ts: T0, subject: null, categories: [], reason: null, detail: null });
    expect(Object.keys(JSON.parse(entryJsonLine(e)) as object)).toEqual(Object.keys(entryLineSchema.shape));
    expect(JSON.parse(entryJsonLine(e))).toMatchObject({ type: 'entry', ts: '2026-11-27T10:00:00.000Z', subject: null, categories: [], reason: null, detail: null });
  });

  it('round-trips JSON → entry with the identical digest, for any record (property)', () => {
    fc.assert(
      fc.property(recordArb, fc.integer({ min: 1, max: 2 ** 40 }), (record, seq) => {
        const e = stored(record, seq);
        const line = entryJsonLine(e);
        const parsed = entryLineSchema.parse(JSON.parse(line));
        const back = entryFromLine(parsed);
        expect(hex(entryDigest(back))).toBe(hex(entryDigest(e)));
        expect(back.categories).toBe(e.categories);
        expect(back.detail).toBe(e.detail);
        // The fast path agrees with the schema, and rebuilds the exact line.
        const fast = parseEntryRecord(JSON.parse(line));
        expect(fast).not.toBeNull();
        expect(hex(entryDigest(fast!.entry))).toBe(hex(entryDigest(e)));
        expect(entryJsonLine(fast!.entry)).toBe(line);
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips CSV cells → entry with the identical digest, for any record (property)', () => {
    fc.assert(
      fc.property(recordArb, (record) => {
        const e = stored(record);
        const parser = new CsvParser();
        const [parsedRow] = [...parser.push(csvLine(entryToCsvCells(e))), ...parser.end()];
        const cells = parsedRow!.record;
        expect(cells).toHaveLength(CSV_COLUMNS.length);
        const back = entryFromLine(entryLineSchema.parse(csvCellsToRecord('entry', cells)));
        expect(hex(entryDigest(back))).toBe(hex(entryDigest(e)));
        expect(entryToCsvCells(back).map((c) => c ?? '')).toEqual(cells);
      }),
      { numRuns: 300 },
    );
  });

  it('scanEntryLine reads every written entry line exactly as the general path does (property)', () => {
    fc.assert(
      fc.property(recordArb, fc.integer({ min: 1, max: 2 ** 40 }), (record, seq) => {
        const e = stored(record, seq);
        const line = entryJsonLine(e);
        const general = entryFromLine(entryLineSchema.parse(JSON.parse(line)));
        const scanned = scanEntryLine(line);
        // Strings that JSON escapes are left to the general path.
        if (scanned === null) expect(line).toMatch(/\\/);
        else expect({ ...scanned, digest: hex(entryDigest(scanned)) }).toEqual({ ...general, digest: hex(entryDigest(e)) });
      }),
      { numRuns: 500 },
    );
  });

  it('scanEntryLine accepts an edited line only if the general path accepts it with the same entry (differential)', () => {
    const lines = buildChain(60).entries.map((e) => entryJsonLine(e));
    const alphabet = ['{', '}', '[', ']', '"', ',', ':', '0', '1', '9', 'a', 'e', 'f', 'E', '+', '-', '.', ' ', 'n', 'u', 'l', '\\'];
    fc.assert(
      fc.property(fc.constantFrom(...lines), fc.nat(), fc.constantFrom(...alphabet), (line, at, c) => {
        const i = at % line.length;
        const edited = line.slice(0, i) + c + line.slice(i + 1);
        const scanned = scanEntryLine(edited);
        if (scanned === null) return;
        const general = parseEntryRecord(JSON.parse(edited));
        expect(general).not.toBeNull();
        expect(entryJsonLine(general!.entry)).toBe(edited);
        expect(scanned).toEqual(general!.entry);
      }),
      { numRuns: 3000 },
    );
  });

  it('scanEntryCells reads written CSV cells as the general path does, and accepts edited cells only when it would (differential)', () => {
    const general = (cells: readonly string[]) => {
      const parsed = entryLineSchema.safeParse(csvCellsToRecord('entry', cells));
      if (!parsed.success) return null;
      const entry = entryFromLine(parsed.data);
      return entryToCsvCells(entry).every((c, i) => (c ?? '') === cells[i]) ? entry : null;
    };
    fc.assert(
      fc.property(recordArb, (record) => {
        const cells = entryToCsvCells(stored(record)).map((c) => c ?? '');
        const scanned = scanEntryCells(cells);
        expect(scanned).not.toBeNull();
        expect(scanned).toEqual(general(cells));
      }),
      { numRuns: 300 },
    );
    const rows = buildChain(60).entries.map((e) => entryToCsvCells(e).map((c) => c ?? ''));
    fc.assert(
      fc.property(fc.constantFrom(...rows), fc.nat(CSV_COLUMNS.length - 1), fc.nat(), fc.constantFrom('', 'x', '0', 'E', ',', 'A', '{', '1e+21', 'null'), (row, column, at, c) => {
        const cells = [...row];
        const cell = cells[column]!;
        const i = cell.length === 0 ? 0 : at % cell.length;
        cells[column] = cell.slice(0, i) + c + cell.slice(i + 1);
        const scanned = scanEntryCells(cells);
        let expected = null;
        try {
          expected = general(cells);
        } catch {
          expected = null; // a cell the general path cannot read (bad JSON)
        }
        expect(scanned).toEqual(expected);
      }),
      { numRuns: 3000 },
    );
  });

  it('keeps a detail with number-like keys in its canonical (string-sorted) order', () => {
    const e = stored({ ...sampleRecord(2), detail: { '10': 1, '2': 2, b: true } });
    const line = entryJsonLine(e);
    expect(line).toContain('"detail":{"10":1,"2":2,"b":true}');
    expect(entryFromLine(entryLineSchema.parse(JSON.parse(line))).detail).toBe(e.detail);
  });
});

describe('entry schema', () => {
  const good = entryToJson(stored(sampleRecord(4)));

  it.each([
    ['ts without milliseconds', { ts: '2026-11-27T10:00:00Z' }],
    ['ts that is not a real date', { ts: '2026-02-30T10:00:00.000Z' }],
    ['ts before 1970', { ts: '1969-12-31T23:59:59.999Z' }],
    ['upper-case hex', { hash: 'A'.repeat(64) }],
    ['a short hash', { prevHash: 'ab' }],
    ['a bad category name', { categories: ['Location'] }],
    ['an unknown outcome', { outcome: 'maybe' }],
    ['an empty actor', { actor: '' }],
    ['a nested detail value', { detail: { a: { b: 1 } } }],
    ['a fractional seq', { seq: 1.5 }],
    ['seq 0', { seq: 0 }],
    ['an unknown field', { extra: 1 }],
  ])('refuses %s (and so does the fast path)', (_name, change) => {
    const value = { ...good, ...change };
    expect(entryLineSchema.safeParse(value).success).toBe(false);
    expect(parseEntryRecord(value)).toBeNull();
  });

  it('refuses a missing field', () => {
    const { hash: _hash, ...rest } = good;
    expect(entryLineSchema.safeParse(rest).success).toBe(false);
    expect(parseEntryRecord(rest)).toBeNull();
  });
});

describe('other record schemas', () => {
  const validHeader = {
    type: 'header',
    format: 'childvault-audit-export/1',
    vaultId: '42'.repeat(16),
    publicKey: 'ab'.repeat(32),
    genesis: 'cd'.repeat(32),
    head: 3,
    exportedAt: '2026-11-27T10:00:00.000Z',
    filter: { since: null, until: null, subject: null, actor: null, action: null },
    checkpointEvery: 1000,
    signature: 'ef'.repeat(64),
  };

  it('bound elided records to 1..1000 digests of 64 hex', () => {
    const d = 'ab'.repeat(32);
    expect(elidedLineSchema.safeParse({ type: 'elided', from: 3, digests: [d] }).success).toBe(true);
    expect(elidedLineSchema.safeParse({ type: 'elided', from: 3, digests: [] }).success).toBe(false);
    expect(elidedLineSchema.safeParse({ type: 'elided', from: 3, digests: Array<string>(1001).fill(d) }).success).toBe(false);
    expect(elidedLineSchema.safeParse({ type: 'elided', from: 3, digests: ['ab'] }).success).toBe(false);
  });

  it('require a 128-hex signature on checkpoints and the format name on headers', () => {
    const cp = { type: 'checkpoint', seq: 5, ts: '2026-11-27T10:00:00.000Z', hash: 'ab'.repeat(32), signature: 'cd'.repeat(64) };
    expect(checkpointLineSchema.safeParse(cp).success).toBe(true);
    expect(checkpointLineSchema.safeParse({ ...cp, signature: 'cd'.repeat(32) }).success).toBe(false);
    expect(headerLineSchema.safeParse(validHeader).success).toBe(true);
    expect(headerLineSchema.safeParse({ ...validHeader, format: 'childvault-audit-export/2' }).success).toBe(false);
    expect(headerLineSchema.safeParse({ ...validHeader, filter: { since: null } }).success).toBe(false);
  });

  it('accept the genesis checkpoint (seq 0) but no negative or fractional seq', () => {
    const cp = { type: 'checkpoint', seq: 0, ts: '2026-11-27T10:00:00.000Z', hash: 'ab'.repeat(32), signature: 'cd'.repeat(64) };
    expect(checkpointLineSchema.safeParse(cp).success).toBe(true);
    expect(checkpointLineSchema.safeParse({ ...cp, seq: -1 }).success).toBe(false);
    expect(checkpointLineSchema.safeParse({ ...cp, seq: 0.5 }).success).toBe(false);
  });

  it('require the header seal (128 hex) and a checkpoint interval from 1 to 1,000,000', () => {
    const header = { ...validHeader, checkpointEvery: 1 };
    expect(headerLineSchema.safeParse(header).success).toBe(true);
    expect(headerLineSchema.safeParse({ ...header, checkpointEvery: 1_000_000 }).success).toBe(true);
    const { signature: _signature, ...unsigned } = header;
    expect(headerLineSchema.safeParse(unsigned).success).toBe(false);
    const { checkpointEvery: _every, ...noInterval } = header;
    expect(headerLineSchema.safeParse(noInterval).success).toBe(false);
    for (const change of [{ signature: 'ef'.repeat(32) }, { signature: 'EF'.repeat(64) }, { checkpointEvery: 0 }, { checkpointEvery: 1.5 }, { checkpointEvery: 1_000_001 }, { checkpointEvery: '1000' }]) {
      expect(headerLineSchema.safeParse({ ...header, ...change }).success, JSON.stringify(change)).toBe(false);
    }
  });

  it('has the documented CSV columns', () => {
    expect(CSV_HEADER).toBe(
      'type,seq,ts,actor,role,purpose,action,subject,categories,outcome,reason,approval,consent,request_id,detail,prev_hash,hash,signature,digests,vault_id,public_key,genesis,head,exported_at,filter,checkpoint_every',
    );
  });

  it('reads the header seal from the signature column and the interval from checkpoint_every', () => {
    const cells = CSV_COLUMNS.map(() => '');
    const set = (column: (typeof CSV_COLUMNS)[number], value: string): void => {
      cells[CSV_COLUMNS.indexOf(column)] = value;
    };
    set('type', 'header');
    set('vault_id', '42'.repeat(16));
    set('public_key', 'ab'.repeat(32));
    set('genesis', 'cd'.repeat(32));
    set('head', '3');
    set('exported_at', '2026-11-27T10:00:00.000Z');
    set('filter', '{"since":null,"until":null,"subject":null,"actor":null,"action":null}');
    set('checkpoint_every', '1000');
    set('signature', 'ef'.repeat(64));
    const record = csvCellsToRecord('header', cells);
    expect(record).toMatchObject({ type: 'header', format: 'childvault-audit-export/1', checkpointEvery: 1000, signature: 'ef'.repeat(64) });
    expect(headerLineSchema.safeParse(record).success).toBe(true);
    set('checkpoint_every', '1e3');
    expect(headerLineSchema.safeParse(csvCellsToRecord('header', cells)).success).toBe(false);
    // An entry row may not carry an interval.
    const entry = entryToCsvCells(stored(sampleRecord(3))).map((c) => c ?? '');
    entry[CSV_COLUMNS.indexOf('checkpoint_every')] = '1000';
    expect(() => csvCellsToRecord('entry', entry)).toThrow(/^column checkpoint_every must be empty in a entry record$/);
  });

  it('refuses CSV cells that a record type leaves empty, naming the column', () => {
    const cells = entryToCsvCells(stored(sampleRecord(3))).map((c) => c ?? '');
    cells[CSV_COLUMNS.indexOf('signature')] = 'ab';
    expect(() => csvCellsToRecord('entry', cells)).toThrow(/^column signature must be empty in a entry record$/);
    const detail = entryToCsvCells(stored(sampleRecord(4))).map((c) => c ?? '');
    detail[CSV_COLUMNS.indexOf('detail')] = '{not json';
    expect(() => csvCellsToRecord('entry', detail)).toThrow(/^column detail is not valid JSON$/);
  });
});

describe('time and hex helpers', () => {
  it('isoOf equals toISOString and isoToMs inverts it, across minutes, days and years (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Date.parse('9999-12-31T23:59:59.999Z') }), (ms) => {
        const iso = new Date(ms).toISOString();
        expect(isoOf(ms)).toBe(iso);
        expect(isoToMs(iso)).toBe(ms);
      }),
      { numRuns: 2000 },
    );
  });

  it('isoToMs refuses what the schema refuses', () => {
    for (const bad of ['2026-13-01T00:00:00.000Z', '2026-02-29T00:00:00.000Z', '2026-01-01T24:00:00.000Z', '2026-01-01T00:00:00.000+', '1969-01-01T00:00:00.000Z', 'x']) {
      expect(isoToMs(bad)).toBeNull();
    }
    expect(isoToMs('2024-02-29T00:00:00.000Z')).toBe(Date.parse('2024-02-29T00:00:00.000Z'));
  });

  it('hexBytes takes only lower-case hex of the exact length', () => {
    expect(hexBytes('00ff', 2)).toEqual(Uint8Array.of(0, 255));
    expect(hexBytes('00FF', 2)).toBeNull();
    expect(hexBytes('00f', 2)).toBeNull();
    expect(hexBytes('0g', 1)).toBeNull();
    expect(hexBytes(12, 1)).toBeNull();
  });
});

describe('filters', () => {
  const e = { ts: T0, subject: pseudonym(1), actor: 'svc:a', action: 'get' };

  it('match when every given condition holds (times inclusive)', () => {
    expect(matchesFilter(e, {})).toBe(true);
    expect(matchesFilter(e, { since: T0, until: T0, subject: pseudonym(1), actor: 'svc:a', action: 'get' })).toBe(true);
    expect(filterMismatch(e, { since: T0 + 1 })).toBe('since');
    expect(filterMismatch(e, { until: T0 - 1 })).toBe('until');
    expect(filterMismatch(e, { subject: pseudonym(2) })).toBe('subject');
    expect(filterMismatch({ ...e, subject: null }, { subject: pseudonym(1) })).toBe('subject');
    expect(filterMismatch(e, { actor: 'svc:b' })).toBe('actor');
    expect(filterMismatch(e, { action: 'put' })).toBe('action');
  });

  it('round-trip through the header form', () => {
    const filter = { since: T0, until: T0 + 5, subject: pseudonym(3), actor: 'svc:a', action: 'get' };
    expect(filterFromHeader(filterToHeader(filter))).toEqual(filter);
    expect(filterToHeader({})).toEqual({ since: null, until: null, subject: null, actor: null, action: null });
  });
});
