import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { csvLine, CsvParser } from '../../../src/audit/csv.js';
import {
  AUDIT_ACTIONS,
  canonicalDetail,
  ENTRY_FIELDS,
  entryDigest,
  entryToRow,
  isActionName,
  ROW,
  rowDigest,
  rowToEntry,
  toEntry,
  type AuditEntry,
  type AuditRecord,
  type EntryRow,
} from '../../../src/audit/entry.js';
import {
  checkFilter,
  chainCsvCells,
  chainJsonLine,
  chainLineSchema,
  checkpointLineSchema,
  CSV_COLUMNS,
  CSV_HEADER,
  CSV_HEADER_V1,
  csvCellsToRecord,
  elidedLineSchema,
  entryCsvCells,
  entryJsonFieldAt,
  entryJsonLine,
  entryLineSchema,
  entryLineToRow,
  filterFromHeader,
  filterMismatch,
  filterToHeader,
  headerLineSchema,
} from '../../../src/audit/export-format.js';
import { scanEntryCells, scanEntryLine } from '../../../src/audit/export-scan.js';
import { hexBytes, isoOf, isoToMs } from '../../../src/audit/export-text.js';
import { loadSodium } from '../../../src/crypto/sodium.js';
import { formatIssues } from '../../../src/schema/zod-errors.js';
import { buildChain, pseudonym, sampleRecord, T0 } from '../../helpers/audit-chain.js';
import { hex } from '../../helpers/unit-bytes.js';
import { expectVaultError } from '../../helpers/unit-errors.js';

beforeAll(async () => {
  await loadSodium();
});

const detailKey = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.-]{0,7}$/);

const recordArb: fc.Arbitrary<AuditRecord> = fc.record({
  ts: fc.integer({ min: 0, max: Date.parse('9999-12-31T23:59:59.999Z') }),
  actor: fc.string({ minLength: 1, maxLength: 20, unit: 'grapheme' }),
  role: fc.string({ minLength: 1, maxLength: 8 }),
  purpose: fc.string({ minLength: 1, maxLength: 8, unit: 'binary' }).filter((s) => !/\p{Cs}/u.test(s)),
  action: fc.constantFrom(...AUDIT_ACTIONS),
  subject: fc.option(fc.uint8Array({ minLength: 32, maxLength: 32 }), { nil: null }),
  categories: fc.array(fc.constantFrom('face', 'voice', 'location', 'contact', 'x_1'), { maxLength: 6 }),
  outcome: fc.constantFrom('allowed', 'denied', 'error'),
  reason: fc.option(fc.string({ minLength: 1, maxLength: 12 }), { nil: null }),
  approval: fc.option(fc.string({ minLength: 1, maxLength: 12 }), { nil: null }),
  consent: fc.option(fc.string({ minLength: 1, maxLength: 12 }), { nil: null }),
  requestId: fc.option(fc.string({ minLength: 1, maxLength: 12 }), { nil: null }),
  detail: fc.option(fc.dictionary(detailKey, fc.oneof(fc.string({ maxLength: 8, unit: 'grapheme' }), fc.maxSafeInteger(), fc.integer(), fc.boolean()), { maxKeys: 4 }), { nil: null }),
});

/** A stored entry (with arbitrary hashes: the format does not care whether they chain). */
function stored(record: AuditRecord, seq = 1): AuditEntry {
  return { ...toEntry(seq, record), prevHash: new Uint8Array(32).fill(1), hash: new Uint8Array(32).fill(2) };
}

/** The row a written entry line reads back to through the general path (JSON.parse, schema), or null. */
function generalRow(line: string): EntryRow | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  const parsed = entryLineSchema.safeParse(value);
  if (!parsed.success) return null;
  const row = entryLineToRow(parsed.data);
  return entryJsonLine(row) === line ? row : null;
}

/** The same for CSV cells. */
function generalCellsRow(cells: readonly string[]): EntryRow | null {
  let record: Record<string, unknown>;
  try {
    record = csvCellsToRecord('entry', cells);
  } catch {
    return null; // a cell the general path cannot read (bad JSON, a cell that must be empty)
  }
  const parsed = entryLineSchema.safeParse(record);
  if (!parsed.success) return null;
  const row = entryLineToRow(parsed.data);
  return entryCsvCells(row).every((c, i) => (c ?? '') === cells[i]) ? row : null;
}

/** The message the general path gives for an entry record (as the verifier prints it, without the line). */
function schemaMessage(value: unknown): string | null {
  const parsed = entryLineSchema.safeParse(value);
  return parsed.success ? null : formatIssues('', parsed.error.issues).message;
}

describe('the entry declaration', () => {
  it('names every field once, in the documented order, with its column', () => {
    expect(ENTRY_FIELDS.map((f) => f.name)).toEqual([
      'seq', 'ts', 'actor', 'role', 'purpose', 'action', 'subject', 'categories', 'outcome', 'reason', 'approval', 'consent', 'requestId', 'detail', 'prevHash', 'hash',
    ]);
    expect(ENTRY_FIELDS.map((f) => f.column)).toEqual(CSV_COLUMNS.slice(1, 17));
    expect(ENTRY_FIELDS.map((f, i) => ROW[f.name] === i).every(Boolean)).toBe(true);
  });

  it('converts between stored entries and raw rows without loss', () => {
    for (const e of buildChain(30).entries) {
      const row = entryToRow(e);
      expect(row[ROW.subject]).toBe(e.subject === null ? null : hex(e.subject));
      expect(row[ROW.hash]).toBe(hex(e.hash));
      expect(rowToEntry(row)).toEqual(e);
      expect(hex(rowDigest(row)!)).toBe(hex(entryDigest(e)));
    }
    const bad = [...entryToRow(buildChain(1).entries[0]!)];
    bad[ROW.subject] = 'ab';
    expect(rowDigest(bad as unknown as EntryRow)).toBeNull();
    expect(rowToEntry(bad as unknown as EntryRow)).toBeNull();
  });

  it('digests the fields in declaration order, each field changing the digest', () => {
    const e = stored({ ...sampleRecord(4), subject: pseudonym(4), reason: 'R', approval: 'A', consent: 'C', requestId: 'Q', detail: { n: 1 } });
    const base = hex(entryDigest(e));
    const changes: Partial<Record<keyof AuditEntry, unknown>> = {
      seq: 2, ts: e.ts + 1, actor: 'x', role: 'x', purpose: 'x', action: 'get', subject: pseudonym(5), categories: 'voice', outcome: 'error',
      reason: 'S', approval: 'B', consent: 'D', requestId: 'P', detail: '{"n":2}',
    };
    for (const [field, value] of Object.entries(changes)) expect(hex(entryDigest({ ...e, [field]: value })), field).not.toBe(base);
    // The chain's own hashes are not digested.
    const rechained: AuditEntry = { ...e, prevHash: new Uint8Array(32), hash: new Uint8Array(32) };
    expect(hex(entryDigest(rechained))).toBe(base);
  });

  it('types and bounds the actions: every action the vault writes is a well-formed name', () => {
    for (const action of AUDIT_ACTIONS) expect(isActionName(action), action).toBe(true);
    for (const bad of ['', 'Get', 'get.', '.get', 'get..x', 'get x', 'get_x', '1get', 'a'.repeat(65)]) expect(isActionName(bad), bad).toBe(false);
    expect(isActionName('consent.renew')).toBe(true); // unknown to this version, but well-formed
  });
});

describe('export records of an entry', () => {
  it('entryJsonLine is the documented record: JSON.stringify of the fields in order, detail spliced in', () => {
    for (const e of buildChain(40).entries) {
      const documented = {
        type: 'entry',
        seq: e.seq,
        ts: new Date(e.ts).toISOString(),
        actor: e.actor,
        role: e.role,
        purpose: e.purpose,
        action: e.action,
        subject: e.subject === null ? null : hex(e.subject),
        categories: e.categories === '' ? [] : e.categories.split(','),
        outcome: e.outcome,
        reason: e.reason,
        approval: e.approval,
        consent: e.consent,
        requestId: e.requestId,
        detail: e.detail === null ? null : (JSON.parse(e.detail) as unknown),
        prevHash: hex(e.prevHash),
        hash: hex(e.hash),
      };
      expect(entryJsonLine(entryToRow(e))).toBe(JSON.stringify(documented));
    }
  });

  it('writes null for absent fields and [] for no categories', () => {
    const e = stored({ ...sampleRecord(1), ts: T0, subject: null, categories: [], reason: null, detail: null });
    expect(JSON.parse(entryJsonLine(entryToRow(e)))).toMatchObject({ type: 'entry', ts: '2026-11-27T10:00:00.000Z', subject: null, categories: [], reason: null, detail: null });
    expect(Object.keys(JSON.parse(entryJsonLine(entryToRow(e))) as object)).toEqual(Object.keys(entryLineSchema.shape));
  });

  it('names the field holding a character of the line (for messages about edits)', () => {
    const row = entryToRow(stored(sampleRecord(4)));
    const line = entryJsonLine(row);
    expect(entryJsonFieldAt(row, 0)).toBe('seq');
    expect(entryJsonFieldAt(row, line.indexOf('"actor":'))).toBe('actor');
    expect(entryJsonFieldAt(row, line.indexOf('"detail":') + 12)).toBe('detail');
    expect(entryJsonFieldAt(row, line.length - 1)).toBe('}');
  });

  it('round-trips JSON → row with the identical digest, for any record, and the fast scan agrees (property)', () => {
    fc.assert(
      fc.property(recordArb, fc.integer({ min: 1, max: 2 ** 40 }), (record, seq) => {
        const e = stored(record, seq);
        const row = entryToRow(e);
        const line = entryJsonLine(row);
        const back = generalRow(line);
        expect(back).toEqual(row);
        expect(hex(rowDigest(back!)!)).toBe(hex(entryDigest(e)));
        // The scan reads every written line (escaped strings included) to the same row.
        expect(scanEntryLine(line)).toEqual(row);
      }),
      { numRuns: 400 },
    );
  });

  it('round-trips CSV cells → row with the identical digest, for any record, and the fast scan agrees (property)', () => {
    fc.assert(
      fc.property(recordArb, (record) => {
        const e = stored(record);
        const row = entryToRow(e);
        const parser = new CsvParser({ minimalQuotes: true });
        const [parsedRow] = [...parser.push(csvLine(entryCsvCells(row))), ...parser.end()];
        const cells = parsedRow!.record;
        expect(cells).toHaveLength(CSV_COLUMNS.length);
        expect(generalCellsRow(cells)).toEqual(row);
        expect(scanEntryCells(cells)).toEqual(row);
      }),
      { numRuns: 300 },
    );
  });

  it('scanEntryLine accepts an edited line exactly when the general path does, with the same row (differential)', () => {
    const lines = buildChain(60).entries.map((e) => entryJsonLine(entryToRow(e)));
    const alphabet = ['{', '}', '[', ']', '"', ',', ':', '0', '1', '9', 'a', 'e', 'f', 'E', '+', '-', '.', ' ', 'n', 'u', 'l', '\\', 'é', '\ud800', '\u0001', '\\u0061', '\\/', '\\n', '\\"'];
    let accepted = 0;
    fc.assert(
      fc.property(fc.constantFrom(...lines), fc.nat(), fc.constantFrom(...alphabet), fc.boolean(), (line, at, c, insert) => {
        const i = at % line.length;
        const edited = line.slice(0, i) + c + line.slice(insert ? i : i + 1);
        const scanned = scanEntryLine(edited);
        expect(scanned).toEqual(generalRow(edited));
        if (scanned !== null) accepted++;
      }),
      { numRuns: 4000 },
    );
    // Some edits are valid records (another letter in a name): the comparison above was not vacuous.
    expect(accepted).toBeGreaterThan(0);
  });

  it('scanEntryCells accepts edited cells exactly when the general path does, with the same row (differential)', () => {
    const rows = buildChain(60).entries.map((e) => entryCsvCells(entryToRow(e)).map((c) => c ?? ''));
    let accepted = 0;
    fc.assert(
      fc.property(fc.constantFrom(...rows), fc.nat(CSV_COLUMNS.length - 1), fc.nat(), fc.constantFrom('', 'x', '0', 'E', ',', 'A', '{', '1e+21', 'null', 'z'), (row, column, at, c) => {
        const cells = [...row];
        const cell = cells[column]!;
        const i = cell.length === 0 ? 0 : at % cell.length;
        cells[column] = cell.slice(0, i) + c + cell.slice(i + 1);
        const scanned = scanEntryCells(cells);
        expect(scanned).toEqual(generalCellsRow(cells));
        if (scanned !== null) accepted++;
      }),
      { numRuns: 3000 },
    );
    expect(accepted).toBeGreaterThan(0);
  });
});

describe('entry schema: the rules that keep the encoding injective', () => {
  const good = JSON.parse(entryJsonLine(entryToRow(stored({ ...sampleRecord(4), categories: ['contact', 'location'], detail: { a: 1, b: 'x' } })))) as Record<string, unknown>;

  /** The refusal, the message the verifier gives, and the text form a tampered file would carry. */
  it.each([
    ['ts without milliseconds', { ts: '2026-11-27T10:00:00Z' }, /^ts must be an ISO 8601 UTC time with milliseconds/],
    ['ts that is not a real date', { ts: '2026-02-30T10:00:00.000Z' }, /^ts must be an ISO 8601 UTC time/],
    ['ts before 1970', { ts: '1969-12-31T23:59:59.999Z' }, /^ts must be an ISO 8601 UTC time/],
    ['upper-case hex', { hash: 'A'.repeat(64) }, /^hash must be 64 lower-case hex characters$/],
    ['a short hash', { prevHash: 'ab' }, /^prevHash must be at least 64 characters/],
    ['a category name outside the alphabet', { categories: ['Location'] }, /^categories\[0\] must be a category name/],
    ['a category name holding a comma (["a,b"] would hash like ["a","b"])', { categories: ['contact,location'] }, /^categories\[0\] must be a category name/],
    ['categories out of order', { categories: ['location', 'contact'] }, /^categories must be in ascending order \(by code point\) without repeats$/],
    ['a repeated category', { categories: ['contact', 'contact'] }, /^categories must be in ascending order \(by code point\) without repeats$/],
    ['an unknown outcome', { outcome: 'maybe' }, /^outcome is not one of the allowed values$/],
    ['an empty actor', { actor: '' }, /^actor must be at least 1 characters$/],
    ['an empty optional field ("" would hash like null)', { reason: '' }, /^reason must be at least 1 characters$/],
    ['a lone surrogate (it would hash like U+FFFD)', { actor: 'svc:\ud800' }, /^actor must not hold a lone surrogate/],
    ['an action that is not an action name', { action: 'Get' }, /^action must be an action name/],
    ['an empty detail ({} would hash like null)', { detail: {} }, /^detail must be null, not an empty object/],
    ['detail keys out of order', { detail: { b: 'x', a: 1 } }, /^detail keys must be in ascending order \(by code point\) without repeats$/],
    ['a detail key that is not an ASCII name', { detail: { '10': 1 } }, /^detail keys must be ASCII names/],
    ['a detail key with a space', { detail: { 'a b': 1 } }, /^detail keys must be ASCII names/],
    ['a fractional detail number', { detail: { a: 1.5 } }, /^detail values must be a whole number/],
    ['a detail number beyond 2^53', { detail: { a: 2 ** 53 } }, /^detail values must be a whole number/],
    ['a nested detail value', { detail: { a: { b: 1 } } }, /^detail\.a matches none of the allowed shapes$/],
    ['a fractional seq', { seq: 1.5 }, /^seq expected int$/],
    ['seq 0', { seq: 0 }, /^seq must be at least 1$/],
    ['an unknown field', { extra: 1 }, /^\(input\) has unknown field\(s\) extra$/],
  ])('refuses %s, saying why (and so does the fast scan)', (_name, change, message) => {
    const value = { ...good, ...change };
    expect(schemaMessage(value)).toMatch(message);
    expect(scanEntryLine(JSON.stringify(value))).toBeNull();
  });

  it('refuses text escaped otherwise than JSON.stringify escapes it (the general path: not the written form)', () => {
    const line = entryJsonLine(entryToRow(stored({ ...sampleRecord(4), actor: 'svc:map', approval: 'a"b' })));
    expect(line).toContain('"approval":"a\\"b"');
    for (const edited of [line.replace('"svc:map"', '"svc:m\\u0061p"'), line.replace('"svc:map"', '"svc:map\\/"'), line.replace('"a\\"b"', '"a\\u0022b"')]) {
      expect(edited).not.toBe(line);
      expect(scanEntryLine(edited)).toBeNull();
      expect(generalRow(edited)).toBeNull();
    }
    expect(scanEntryLine(line)).not.toBeNull();
  });

  it('accepts an action this version does not write (an export from a newer vault)', () => {
    const value = { ...good, action: 'consent.renew' };
    expect(schemaMessage(value)).toBeNull();
    expect(scanEntryLine(JSON.stringify(value))).toEqual(entryLineToRow(entryLineSchema.parse(value)));
  });

  it('refuses a missing field', () => {
    const { hash: _hash, ...rest } = good;
    expect(schemaMessage(rest)).toMatch(/^hash expected string$/);
    expect(scanEntryLine(JSON.stringify(rest))).toBeNull();
  });

  it('refuses the same rules in CSV cells, and the fast scan agrees', () => {
    const cells = entryCsvCells(entryToRow(stored({ ...sampleRecord(4), categories: ['contact', 'location'], detail: { a: 1, b: 'x' } }))).map((c) => c ?? '');
    const at = (column: string) => CSV_COLUMNS.indexOf(column as never);
    for (const [column, cell, message] of [
      ['categories', 'location,contact', /^categories must be in ascending order/],
      ['categories', 'contact,,location', /^categories\[1\] must be a category name/],
      ['detail', '{"b":"x","a":1}', /^detail keys must be in ascending order/],
      ['detail', '{}', /^detail must be null, not an empty object/],
      ['action', 'key rotate', /^action must be an action name/],
    ] as const) {
      const edited = [...cells];
      edited[at(column)] = cell;
      expect(schemaMessage(csvCellsToRecord('entry', edited)), `${column} ${cell}`).toMatch(message);
      expect(scanEntryCells(edited)).toBeNull();
    }
  });
});

describe('canonical detail (the writer side)', () => {
  it('sorts keys by code point and writes integers, strings and booleans compactly; {} is no detail', () => {
    expect(canonicalDetail({ b: 1, B: true, a_1: 'x', A: -2, 'b.c': 3, 'b-c': 4 })).toBe('{"A":-2,"B":true,"a_1":"x","b":1,"b-c":4,"b.c":3}');
    expect(canonicalDetail({})).toBeNull();
    expect(canonicalDetail(null)).toBeNull();
    expect(canonicalDetail({ big: Number.MAX_SAFE_INTEGER, zero: -0 })).toBe('{"big":9007199254740991,"zero":0}');
  });

  it.each([
    ['a number-like key (parsers reorder those)', { '10': 1 }],
    ['a non-ASCII key', { 'é': 1 }],
    ['a fraction', { a: 0.5 }],
    ['an unsafe integer', { a: 2 ** 53 }],
    ['a non-finite number', { a: Infinity }],
    ['a lone surrogate', { a: '\udc00' }],
  ])('refuses %s as a programming error', (_name, detail) => {
    expect(() => canonicalDetail(detail)).toThrow(TypeError);
  });

  it('refuses to record an entry the verifier would refuse', () => {
    expect(() => toEntry(1, { ...sampleRecord(1), actor: '' })).toThrow(/internal: audit field actor/);
    expect(() => toEntry(1, { ...sampleRecord(1), requestId: 'x'.repeat(257) })).toThrow(/internal: audit field requestId/);
    expect(() => toEntry(1, { ...sampleRecord(1), categories: ['a,b'] })).toThrow(/internal: audit categories/);
    expect(() => toEntry(1, { ...sampleRecord(1), detail: { '1': 1 } })).toThrow(TypeError);
    // A detail label from outside (a forged row's name) cannot make an entry the verifier refuses.
    expect(() => toEntry(1, { ...sampleRecord(1), detail: { tampered: `apv_${'x'.repeat(3_000_000)}` } })).toThrow(/internal: audit detail is longer than 65536 characters/);
    expect(() => toEntry(1, { ...sampleRecord(1), detail: { label: 'x'.repeat(60_000) } })).not.toThrow();
  });
});

describe('other record schemas', () => {
  const validHeader = {
    type: 'header',
    format: 'childvault-audit-export/2',
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

  it('require a 128-hex signature on checkpoints and a known format name on headers (2, or 1 which is still read)', () => {
    const cp = { type: 'checkpoint', seq: 5, ts: '2026-11-27T10:00:00.000Z', hash: 'ab'.repeat(32), signature: 'cd'.repeat(64) };
    expect(checkpointLineSchema.safeParse(cp).success).toBe(true);
    expect(checkpointLineSchema.safeParse({ ...cp, signature: 'cd'.repeat(32) }).success).toBe(false);
    expect(headerLineSchema.safeParse(validHeader).success).toBe(true);
    expect(headerLineSchema.safeParse({ ...validHeader, format: 'childvault-audit-export/1' }).success).toBe(true);
    for (const unknown of ['childvault-audit-export/3', 'childvault-audit-export/0', 'childvault-audit-export', null]) {
      expect(headerLineSchema.safeParse({ ...validHeader, format: unknown }).success, String(unknown)).toBe(false);
    }
    expect(headerLineSchema.safeParse({ ...validHeader, filter: { since: null } }).success).toBe(false);
  });

  it('hold the header filter to what a writer can produce: a pseudonym, ISO times, an action name', () => {
    const filter = validHeader.filter;
    expect(headerLineSchema.safeParse({ ...validHeader, filter: { ...filter, subject: 'u:1001' } }).success).toBe(false);
    expect(headerLineSchema.safeParse({ ...validHeader, filter: { ...filter, since: '2026-11-01' } }).success).toBe(false);
    expect(headerLineSchema.safeParse({ ...validHeader, filter: { ...filter, action: 'GET' } }).success).toBe(false);
    expect(headerLineSchema.safeParse({ ...validHeader, filter: { ...filter, action: 'consent.renew', actor: 'svc:x' } }).success).toBe(true);
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

  it('has the documented CSV columns: version 1\'s, and format in version 2', () => {
    expect(CSV_HEADER_V1).toBe(
      'type,seq,ts,actor,role,purpose,action,subject,categories,outcome,reason,approval,consent,request_id,detail,prev_hash,hash,signature,digests,vault_id,public_key,genesis,head,exported_at,filter,checkpoint_every',
    );
    expect(CSV_HEADER).toBe(`${CSV_HEADER_V1},format`);
  });

  it('bound chain records to a seq from 1 and a 64-hex hash, nothing else', () => {
    const chain = { type: 'chain', seq: 41, hash: 'ab'.repeat(32) };
    expect(chainLineSchema.safeParse(chain).success).toBe(true);
    for (const change of [{ seq: 0 }, { seq: 1.5 }, { hash: 'AB'.repeat(32) }, { hash: 'ab' }, { ts: '2026-11-27T10:00:00.000Z' }]) {
      expect(chainLineSchema.safeParse({ ...chain, ...change }).success, JSON.stringify(change)).toBe(false);
    }
    expect(chainJsonLine(41, 'ab'.repeat(32))).toBe(`{"type":"chain","seq":41,"hash":"${'ab'.repeat(32)}"}`);
    const cells = chainCsvCells(41, 'ab'.repeat(32)).map((c) => c ?? '');
    expect(csvCellsToRecord('chain', cells)).toEqual(chain);
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
    set('format', 'childvault-audit-export/2');
    const record = csvCellsToRecord('header', cells);
    expect(record).toMatchObject({ type: 'header', format: 'childvault-audit-export/2', checkpointEvery: 1000, signature: 'ef'.repeat(64) });
    expect(headerLineSchema.safeParse(record).success).toBe(true);
    set('checkpoint_every', '1e3');
    expect(headerLineSchema.safeParse(csvCellsToRecord('header', cells)).success).toBe(false);
    // An entry row may not carry an interval.
    const entry = entryCsvCells(entryToRow(stored(sampleRecord(3)))).map((c) => c ?? '');
    entry[CSV_COLUMNS.indexOf('checkpoint_every')] = '1000';
    expect(() => csvCellsToRecord('entry', entry)).toThrow(/^column checkpoint_every must be empty in a entry record$/);
  });

  it('refuses CSV cells that a record type leaves empty, naming the column', () => {
    const cells = entryCsvCells(entryToRow(stored(sampleRecord(3)))).map((c) => c ?? '');
    cells[CSV_COLUMNS.indexOf('signature')] = 'ab';
    expect(() => csvCellsToRecord('entry', cells)).toThrow(/^column signature must be empty in a entry record$/);
    const detail = entryCsvCells(entryToRow(stored(sampleRecord(4)))).map((c) => c ?? '');
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
  const row = entryToRow(stored({ ...sampleRecord(1), ts: T0, subject: pseudonym(1), actor: 'svc:a', action: 'get' }));

  it('match when every given condition holds (times inclusive)', () => {
    expect(filterMismatch(row, {})).toBeNull();
    expect(filterMismatch(row, { since: T0, until: T0, subject: pseudonym(1), actor: 'svc:a', action: 'get' })).toBeNull();
    expect(filterMismatch(row, { since: T0 + 1 })).toBe('since');
    expect(filterMismatch(row, { until: T0 - 1 })).toBe('until');
    expect(filterMismatch(row, { subject: pseudonym(2) })).toBe('subject');
    const anonymous = entryToRow(stored({ ...sampleRecord(1), subject: null }));
    expect(filterMismatch(anonymous, { subject: pseudonym(1) })).toBe('subject');
    expect(filterMismatch(row, { actor: 'svc:b' })).toBe('actor');
    expect(filterMismatch(row, { action: 'put' })).toBe('action');
  });

  it('round-trip through the header form, with times normalised to ISO milliseconds', () => {
    const filter = { since: T0, until: T0 + 5, subject: pseudonym(3), actor: 'svc:a', action: 'get' };
    expect(filterFromHeader(filterToHeader(filter))).toEqual(filter);
    expect(filterToHeader(filter)).toMatchObject({ since: '2026-11-27T10:00:00.000Z', until: '2026-11-27T10:00:00.005Z', subject: hex(pseudonym(3)) });
    expect(filterToHeader({})).toEqual({ since: null, until: null, subject: null, actor: null, action: null });
  });

  it('refuse values the header could not carry (a verifier would refuse the export)', () => {
    for (const filter of [{ action: 'GET' }, { actor: '' }, { actor: 'x\ud800' }, { subject: new Uint8Array(16) }, { since: -1 }]) {
      expectVaultError(() => {
        checkFilter(filter);
      }, 'VALIDATION');
    }
    expect(() => {
      checkFilter({ action: 'consent.renew', actor: 'svc:a', since: 0 });
    }).not.toThrow();
  });
});
