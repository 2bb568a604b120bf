/**
 * The audit export format `childvault-audit-export/2` (docs/audit.md, "Exports"), and version 1,
 * which it still reads: the five record types, their zod schemas, and their one text form in JSON
 * Lines and in CSV — the entry's derived from its declaration (entry.ts `ENTRY_FIELDS`), so that
 * adding a field there adds it here.
 *
 * Why one module for both directions: the writer and the offline verifier must agree byte for
 * byte. Every record has exactly one text form (the `*JsonLine` / `*CsvCells` functions), and the
 * verifier rebuilds that form from what it parsed and compares: a file that verifies is exactly
 * what the vault wrote, so no edit — not even one that keeps the values equal (`1e2` → `100`,
 * an escaped letter) — goes unnoticed. The schemas add the rules that keep the digest's encoding
 * injective (docs/audit.md, "Rules for verifiers"), each with its own message. (The verifier's
 * fast paths for the same rules are in export-scan.ts; the text helpers in export-text.ts.)
 */
import { z } from 'zod';
import { needs, VaultError } from '../errors.js';
import { encodeCanonical, u64 } from '../format/canonical.js';
import { toHex } from '../format/ids.js';
import { safe } from '../schema/zod-errors.js';
import {
  ACTION_NAME,
  areCanonicalCategories,
  AUDIT_OUTCOMES,
  CATEGORY_NAME,
  canonicalDetail,
  detailProblem,
  ENTRY_FIELD_COUNT,
  exportSealMessage,
  ENTRY_FIELDS,
  FIELD_KINDS,
  hasLoneSurrogate,
  MAX_ACTION_CHARS,
  MAX_CATEGORIES,
  MAX_FIELD_CHARS,
  ROW,
  type EntryColumns,
  type EntryFieldSpec,
  type EntryRow,
  type FieldKind,
  type FieldValue,
} from './entry.js';
import type { CheckpointRow } from '../store/audit-repository.js';
import { fromHex, hexOf, isoOf, jsonString, PLAIN_JSON } from './export-text.js';

/**
 * The format an export is written in. Version 2 added the `chain` record, with which a filtered
 * export leaves out entirely the stretches of the log it shows nothing of (docs/audit.md, "What a
 * filtered export proves").
 */
export const EXPORT_FORMAT = 'childvault-audit-export/2';

/** Version 1: a filtered export carries the digest of every entry it leaves out. Still read (and written on request). */
export const EXPORT_FORMAT_V1 = 'childvault-audit-export/1';

/** The format names a reader accepts; it refuses any other. */
export const EXPORT_FORMATS = [EXPORT_FORMAT_V1, EXPORT_FORMAT] as const;

export type ExportFormatName = (typeof EXPORT_FORMATS)[number];

/** The version number of a format name (1 or 2). */
export function formatVersion(format: ExportFormatName): 1 | 2 {
  return format === EXPORT_FORMAT_V1 ? 1 : 2;
}

/** At most this many digests per `elided` record. */
export const MAX_ELIDED_PER_LINE = 1000;

type Fields = typeof ENTRY_FIELDS;

const ENTRY_COLUMNS = ENTRY_FIELDS.map((f) => f.column) as unknown as EntryColumns;

/**
 * The CSV columns of version 1, in order; its CSV header row is these names joined by `,`. The
 * entry's columns come right after `type`; checkpoints reuse `seq`, `ts` and `hash`, elided runs
 * `seq` (the run's first seq); the rest are the header's, and `signature` is shared with
 * checkpoints. Version 1 has no format column: this list stands for it.
 */
export const CSV_COLUMNS_V1 = ['type', ...ENTRY_COLUMNS, 'signature', 'digests', 'vault_id', 'public_key', 'genesis', 'head', 'exported_at', 'filter', 'checkpoint_every'] as const;

/**
 * The CSV columns of version 2: version 1's and `format`, which the header record fills with the
 * format name (so a later version can keep these columns and still say which it is). A `chain`
 * record uses `seq` and `hash`.
 */
export const CSV_COLUMNS = [...CSV_COLUMNS_V1, 'format'] as const;

export type CsvColumn = (typeof CSV_COLUMNS)[number];

/** The CSV header row, without its terminator. */
export const CSV_HEADER = CSV_COLUMNS.join(',');

/** Version 1's CSV header row. */
export const CSV_HEADER_V1 = CSV_COLUMNS_V1.join(',');

/** The CSV column of each entry field, by field index. */
const ENTRY_CSV_OFFSET = 1;

/** Timestamps in exports: ISO 8601, UTC, milliseconds. */
export const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
export { CATEGORY_NAME } from './entry.js';

const hex = (bytes: number) =>
  z
    .string()
    .length(bytes * 2)
    .regex(/^[0-9a-f]*$/, safe(`must be ${bytes * 2} lower-case hex characters`));

/** An ISO timestamp that is a real instant from 1970 on and prints back exactly as written. */
const isoTime = z.string().refine(
  (s) => {
    if (!ISO_MS.test(s)) return false;
    const ms = Date.parse(s);
    return Number.isFinite(ms) && ms >= 0 && new Date(ms).toISOString() === s;
  },
  safe('must be an ISO 8601 UTC time with milliseconds, like 2026-11-27T10:00:00.000Z'),
);

const seq = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
/** Entry text: never empty (absence is null, and both would hash as ''), well-formed Unicode. */
const text = z
  .string()
  .min(1)
  .max(MAX_FIELD_CHARS)
  .refine((s) => !hasLoneSurrogate(s), safe('must not hold a lone surrogate (UTF-8 cannot encode it, so it would hash like U+FFFD)'));
const actionName = z
  .string()
  .max(MAX_ACTION_CHARS)
  .regex(ACTION_NAME, safe('must be an action name: lower-case words of a-z and 0-9 joined by . or -, starting with a letter'));
const categories = z
  .array(z.string().regex(CATEGORY_NAME, safe('must be a category name (a-z, then a-z, 0-9 or _; at most 32)')))
  .max(MAX_CATEGORIES)
  // (Only once every name is valid: a bad name is reported on its own.)
  .refine((names) => !names.every((n) => CATEGORY_NAME.test(n)) || areCanonicalCategories(names), safe('must be in ascending order (by code point) without repeats'));
const detail = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).superRefine((value, ctx) => {
  const problem = detailProblem(value);
  if (problem !== null) ctx.addIssue({ code: 'custom', message: safe(problem).message });
});

/** The schema of each kind, in its JSON Lines form. */
const KIND_SCHEMAS = {
  seq,
  time: isoTime,
  text,
  action: actionName,
  pseudonym: hex(32),
  categories,
  outcome: z.enum(AUDIT_OUTCOMES),
  detail,
  hash: hex(32),
} satisfies Record<FieldKind, z.ZodType>;

type EntryShape = { [F in Fields[number] as F['name']]: z.ZodType<FieldValue<F, 'json'>> };

/** The entry record's fields, derived from the declaration. */
const ENTRY_SHAPE = Object.fromEntries(
  ENTRY_FIELDS.map((f: EntryFieldSpec) => {
    const schema: z.ZodType = KIND_SCHEMAS[f.kind];
    return [f.name, f.nullable ? schema.nullable() : schema];
  }),
) as EntryShape;

/** The `filter` of a header: what the export kept in full (null: no restriction). */
export const headerFilterSchema = z.strictObject({
  since: isoTime.nullable(),
  until: isoTime.nullable(),
  subject: hex(32).nullable(),
  actor: text.nullable(),
  action: actionName.nullable(),
});

export const headerLineSchema = z.strictObject({
  type: z.literal('header'),
  format: z.enum(EXPORT_FORMATS),
  vaultId: hex(16),
  publicKey: hex(32),
  genesis: hex(32),
  head: seq,
  exportedAt: isoTime,
  filter: headerFilterSchema,
  checkpointEvery: z.number().int().min(1).max(1_000_000),
  /** Ed25519 over sealMessage(format, vaultId, head, exportedAt, checkpointEvery, filter). */
  signature: hex(64),
});

export const entryLineSchema = z.strictObject({ type: z.literal('entry'), ...ENTRY_SHAPE });

export const elidedLineSchema = z.strictObject({
  type: z.literal('elided'),
  from: seq,
  digests: z.array(hex(32)).min(1).max(MAX_ELIDED_PER_LINE),
});

/**
 * Version 2: the chain's hash at `seq`, as the next entry (seq + 1) claims it; the entries up to
 * `seq` since the checkpoint before are left out. Only a signed checkpoint after it proves it.
 */
export const chainLineSchema = z.strictObject({
  type: z.literal('chain'),
  seq,
  hash: hex(32),
});

export const checkpointLineSchema = z.strictObject({
  type: z.literal('checkpoint'),
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), // 0: the genesis checkpoint
  ts: isoTime,
  hash: hex(32),
  signature: hex(64),
});

export type HeaderFilter = z.output<typeof headerFilterSchema>;
export type HeaderLine = z.output<typeof headerLineSchema>;
export type EntryLine = z.output<typeof entryLineSchema>;
export type ElidedLine = z.output<typeof elidedLineSchema>;
export type CheckpointLine = z.output<typeof checkpointLineSchema>;
export type ChainLine = z.output<typeof chainLineSchema>;
export type ExportRecordType = 'header' | 'chain' | 'entry' | 'elided' | 'checkpoint';

/** The schema of each record type. */
export const RECORD_SCHEMAS = {
  header: headerLineSchema,
  chain: chainLineSchema,
  entry: entryLineSchema,
  elided: elidedLineSchema,
  checkpoint: checkpointLineSchema,
} as const;

/** The record types of each version, in the order a message lists them. */
export const RECORD_TYPES_OF: Readonly<Record<1 | 2, readonly ExportRecordType[]>> = {
  1: ['header', 'entry', 'elided', 'checkpoint'],
  2: ['header', 'chain', 'entry', 'elided', 'checkpoint'],
};

// ---------------------------------------------------------------------------------------------
// Filters

/**
 * Which entries an export keeps in full; the others become `elided` digests. All given
 * conditions must hold. Times are milliseconds, inclusive; `subject` is the pseudonym.
 */
export interface ExportFilter {
  readonly since?: number;
  readonly until?: number;
  readonly subject?: Uint8Array;
  readonly actor?: string;
  readonly action?: string;
}

/**
 * The first condition of `filter` that the entry `r` fails, for a message (null when it
 * matches). `subjectHex`: the filter's pseudonym as hex (rows hold hex), or null for none.
 */
export function filterMismatch(r: EntryRow, filter: ExportFilter, subjectHex: string | null = filter.subject === undefined ? null : toHex(filter.subject)): keyof ExportFilter | null {
  const ts = r[ROW.ts];
  if (filter.since !== undefined && ts < filter.since) return 'since';
  if (filter.until !== undefined && ts > filter.until) return 'until';
  if (subjectHex !== null && r[ROW.subject] !== subjectHex) return 'subject';
  if (filter.actor !== undefined && r[ROW.actor] !== filter.actor) return 'actor';
  if (filter.action !== undefined && r[ROW.action] !== filter.action) return 'action';
  return null;
}

/** Checks a filter given by a caller (library API): values its export's header can carry. */
export function checkFilter(filter: ExportFilter): void {
  /* Precondition: times are non-negative whole milliseconds. */
  for (const key of ['since', 'until'] as const) {
    const t = filter[key];
    needs(t === undefined || (Number.isSafeInteger(t) && t >= 0), 'VALIDATION', `filter.${key} must be a time from 1970 on, in whole milliseconds`, `filter.${key}`);
  }
  /* Precondition: the subject is a 32-byte pseudonym, never a subject id. */
  needs(filter.subject === undefined || (filter.subject instanceof Uint8Array && filter.subject.length === 32), 'VALIDATION', 'filter.subject must be a 32-byte pseudonym', 'filter.subject');
  /* Precondition: an actor the header can carry (a verifier would refuse any other). */
  const actor = filter.actor;
  needs(actor === undefined || (typeof actor === 'string' && text.safeParse(actor).success), 'VALIDATION', `filter.actor must be 1 to ${MAX_FIELD_CHARS} characters of well-formed text`, 'filter.actor');
  /* Precondition: a well-formed action name (one this version does not write matches nothing). */
  const action = filter.action;
  needs(action === undefined || (typeof action === 'string' && actionName.safeParse(action).success), 'VALIDATION', 'filter.action must be an action name like get or consent.grant', 'filter.action');
}

/** The header's form of a filter: times normalised to ISO with milliseconds, the pseudonym as hex. */
export function filterToHeader(filter: ExportFilter): HeaderFilter {
  return {
    since: filter.since === undefined ? null : new Date(filter.since).toISOString(),
    until: filter.until === undefined ? null : new Date(filter.until).toISOString(),
    subject: filter.subject === undefined ? null : toHex(filter.subject),
    actor: filter.actor ?? null,
    action: filter.action ?? null,
  };
}

/** The filter a (validated) header announces. */
export function filterFromHeader(h: HeaderFilter): ExportFilter {
  return {
    ...(h.since === null ? {} : { since: Date.parse(h.since) }),
    ...(h.until === null ? {} : { until: Date.parse(h.until) }),
    ...(h.subject === null ? {} : { subject: fromHex(h.subject) }),
    ...(h.actor === null ? {} : { actor: h.actor }),
    ...(h.action === null ? {} : { action: h.action }),
  };
}

// ---------------------------------------------------------------------------------------------
// Header

/** What a header says about the export. */
export interface HeaderFields {
  readonly format: ExportFormatName;
  readonly vaultId: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly genesis: Uint8Array;
  readonly head: number;
  /** The time of the signed checkpoint at `head`. */
  readonly exportedAt: number;
  readonly filter: ExportFilter;
  readonly checkpointEvery: number;
  /** The header seal (see exportSealMessage). */
  readonly signature: Uint8Array;
}

/** The header record. */
export function headerToJson(h: HeaderFields): HeaderLine {
  return {
    type: 'header',
    format: h.format,
    vaultId: toHex(h.vaultId),
    publicKey: toHex(h.publicKey),
    genesis: toHex(h.genesis),
    head: h.head,
    exportedAt: isoOf(h.exportedAt),
    filter: filterToHeader(h.filter),
    checkpointEvery: h.checkpointEvery,
    signature: toHex(h.signature),
  };
}

/**
 * The exact filter text the header seal covers, and that the header (JSON Lines) or its `filter`
 * cell (CSV) holds: compact JSON, keys in the order since, until, subject, actor, action, nulls
 * kept — not sorted like `detail`.
 */
export function sealedFilterJson(f: HeaderFilter): string {
  return JSON.stringify({ since: f.since, until: f.until, subject: f.subject, actor: f.actor, action: f.action });
}

/**
 * The bytes a header's signature covers. Version 1: exportSealMessage (domain `audit-export`).
 * Version 2 signs the same fields under the domain `audit-export/2`, so its seal also says which
 * rules the file is read by: relabelling one version as the other breaks it.
 */
export function sealMessage(format: ExportFormatName, vaultId: Uint8Array, head: number, exportedAt: number, checkpointEvery: number, filterJson: string): Uint8Array {
  if (format === EXPORT_FORMAT_V1) return exportSealMessage(vaultId, head, exportedAt, checkpointEvery, filterJson);
  return encodeCanonical('audit-export/2', [vaultId, u64(head), u64(exportedAt), checkpointEvery, filterJson]);
}

/** The one JSON text of a header record (no line terminator). */
export function headerJsonLine(h: HeaderLine): string {
  return (
    `{"type":"header","format":${JSON.stringify(h.format)},"vaultId":"${h.vaultId}","publicKey":"${h.publicKey}","genesis":"${h.genesis}","head":${h.head},` +
    `"exportedAt":"${h.exportedAt}","filter":${sealedFilterJson(h.filter)},"checkpointEvery":${h.checkpointEvery},"signature":"${h.signature}"}`
  );
}

/** The CSV cells of a header record. */
export function headerCsvCells(h: HeaderLine): (string | null)[] {
  return csvCells({
    type: 'header',
    vault_id: h.vaultId,
    public_key: h.publicKey,
    genesis: h.genesis,
    head: String(h.head),
    exported_at: h.exportedAt,
    filter: sealedFilterJson(h.filter),
    checkpoint_every: String(h.checkpointEvery),
    signature: h.signature,
    format: h.format,
  });
}

// ---------------------------------------------------------------------------------------------
// Entries, derived from the declaration

/** What precedes each field's value in an entry's JSON text. */
export const ENTRY_JSON_KEYS: readonly string[] = ENTRY_FIELDS.map((f, i) => `${i === 0 ? '{"type":"entry",' : ','}"${f.name}":`);

function categoriesJson(joined: string): string {
  if (joined === '') return '[]';
  return PLAIN_JSON.test(joined) ? `["${joined.replaceAll(',', '","')}"]` : `[${joined.split(',').map(jsonString).join(',')}]`;
}

/** A field's value in JSON, from its raw-row form. */
function jsonValue(kind: FieldKind | undefined, v: unknown): string {
  if (v === null) return 'null';
  switch (kind) {
    case 'seq':
      return `${v as number}`;
    case 'time':
      return `"${isoOf(v as number)}"`;
    case 'text':
    case 'action':
      return jsonString(v as string);
    case 'categories':
      return categoriesJson(v as string);
    case 'detail':
      // The stored text is already canonical JSON: spliced in as it is.
      return v as string;
    default:
      // Hex, outcome: nothing to escape.
      return `"${v as string}"`;
  }
}

/** The JavaScript expression of field `i`'s JSON value in the compiled writer (`r` is the row). */
function jsonValueSource(f: EntryFieldSpec, i: number): { readonly quoted: boolean; readonly source: string } {
  const v = `r[${i}]`;
  switch (f.kind) {
    case 'seq':
      return { quoted: false, source: v };
    case 'time':
      return { quoted: true, source: `isoOf(${v})` };
    case 'text':
    case 'action':
      return { quoted: false, source: `jsonString(${v})` };
    case 'categories':
      return { quoted: false, source: `categoriesJson(${v})` };
    case 'detail':
      return { quoted: false, source: v };
    default:
      return { quoted: true, source: v };
  }
}

/**
 * Compiles {@link entryJsonLine} from the declaration into one string expression, as
 * fast-json-stringify compiles a schema: `'{"type":"entry","seq":' + r[0] + ',"ts":"' + isoOf(r[1])
 * + …`. Why: the export writes one line per entry, and a loop over the fields (with
 * {@link jsonValue}) costs ~30% more per line than that expression — measurably slowing exports.
 * Only the declaration goes into the source — its names, checked to be identifiers, as JSON
 * string literals, and fixed code per kind — never data.
 */
function compileEntryJsonLine(): (r: EntryRow) => string {
  const pieces: string[] = [];
  let literal = '{"type":"entry"';
  const flush = (): void => {
    if (literal !== '') pieces.push(JSON.stringify(literal));
    literal = '';
  };
  ENTRY_FIELDS.forEach((f: EntryFieldSpec, i) => {
    if (!/^[A-Za-z]+$/.test(f.name)) throw new Error('internal: entry field names must be identifiers');
    literal += `,"${f.name}":`;
    const { quoted, source } = jsonValueSource(f, i);
    if (f.nullable) {
      flush();
      pieces.push(`(r[${i}] === null ? "null" : ${quoted ? `'"' + ${source} + '"'` : source})`);
    } else if (quoted) {
      literal += '"';
      flush();
      pieces.push(source);
      literal = '"';
    } else {
      flush();
      pieces.push(source);
    }
  });
  literal += '}';
  flush();
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- compiled from the constant declaration only (see above)
    const compile = new Function('isoOf', 'jsonString', 'categoriesJson', `'use strict'; return (r) => ${pieces.join(' + ')};`) as (...helpers: unknown[]) => (r: EntryRow) => string;
    return compile(isoOf, jsonString, categoriesJson);
  } catch {
    // A hardened process (node --disallow-code-generation-from-strings): the same text, by a loop.
    return entryJsonLineByLoop;
  }
}

/** {@link entryJsonLine} as a loop over the declaration: the writer where code cannot be compiled. */
export function entryJsonLineByLoop(r: EntryRow): string {
  let out = '';
  for (let i = 0; i < ENTRY_JSON_KEYS.length; i++) out += (ENTRY_JSON_KEYS[i] as string) + jsonValue(FIELD_KINDS[i], r[i]);
  return `${out}}`;
}

/**
 * The one JSON text of an entry record (no line terminator): `type`, then every field in
 * declaration order, with the stored canonical detail spliced in as it is. Compiled from the
 * declaration (see compileEntryJsonLine).
 */
export const entryJsonLine: (r: EntryRow) => string = compileEntryJsonLine();

/**
 * The field of an entry's JSON text that holds character `at` (the first difference from the
 * text a verifier read), or `'}'` past the last field: names where a file was edited.
 */
export function entryJsonFieldAt(r: EntryRow, at: number): string {
  let end = 0;
  for (let i = 0; i < ENTRY_FIELD_COUNT; i++) {
    end += (ENTRY_JSON_KEYS[i] as string).length + jsonValue(FIELD_KINDS[i], r[i]).length;
    if (at < end) return (ENTRY_FIELDS[i] as EntryFieldSpec).name;
  }
  return '}';
}

/** A field's CSV cell, from its raw-row form (null for an empty cell). */
function csvValue(kind: FieldKind | undefined, v: unknown): string | null {
  if (v === null) return null;
  switch (kind) {
    case 'seq':
      return `${v as number}`;
    case 'time':
      return isoOf(v as number);
    case 'categories':
      return v === '' ? null : (v as string);
    default:
      return v as string;
  }
}

const EMPTY_CELLS: readonly null[] = CSV_COLUMNS.map(() => null);

/** The CSV cells of an entry record: categories comma-joined, detail as its canonical JSON. */
export function entryCsvCells(r: EntryRow): (string | null)[] {
  const cells: (string | null)[] = EMPTY_CELLS.slice();
  cells[0] = 'entry';
  for (let i = 0; i < ENTRY_FIELD_COUNT; i++) cells[ENTRY_CSV_OFFSET + i] = csvValue(FIELD_KINDS[i], r[i]);
  return cells;
}

/**
 * The raw row of a validated entry record, so the chain verifier can check it: times in
 * milliseconds, categories comma-joined, detail in its canonical text.
 */
export function entryLineToRow(line: EntryLine): EntryRow {
  const values = line as unknown as Readonly<Record<string, unknown>>;
  return ENTRY_FIELDS.map((f) => {
    const v = values[f.name];
    if (v === null) return null;
    switch (f.kind) {
      case 'time':
        return Date.parse(v as string);
      case 'categories':
        return (v as string[]).join(',');
      case 'detail':
        return canonicalDetail(v as Record<string, string | number | boolean>);
      default:
        return v;
    }
  }) as unknown as EntryRow;
}

// ---------------------------------------------------------------------------------------------
// Elided runs and checkpoints

function csvCells(values: Partial<Record<CsvColumn, string | null>>): (string | null)[] {
  return CSV_COLUMNS.map((c) => values[c] ?? null);
}

/** The one JSON text of an elided record. */
export function elidedJsonLine(from: number, digests: readonly string[]): string {
  return `{"type":"elided","from":${from},"digests":["${digests.join('","')}"]}`;
}

/** The CSV cells of an elided record: `seq` is the first seq, digests space-separated. */
export function elidedCsvCells(from: number, digests: readonly string[]): (string | null)[] {
  return csvCells({ type: 'elided', seq: String(from), digests: digests.join(' ') });
}

/** The one JSON text of a chain record. */
export function chainJsonLine(seq: number, hash: string): string {
  return `{"type":"chain","seq":${seq},"hash":"${hash}"}`;
}

/** The CSV cells of a chain record. */
export function chainCsvCells(seq: number, hash: string): (string | null)[] {
  return csvCells({ type: 'chain', seq: String(seq), hash });
}

/** A stored checkpoint as an export record. */
export function checkpointToJson(c: CheckpointRow): CheckpointLine {
  return { type: 'checkpoint', seq: c.seq, ts: isoOf(c.ts), hash: hexOf(c.hash), signature: hexOf(c.signature) };
}

/** The one JSON text of a checkpoint record. */
export function checkpointJsonLine(c: CheckpointLine): string {
  return `{"type":"checkpoint","seq":${c.seq},"ts":"${c.ts}","hash":"${c.hash}","signature":"${c.signature}"}`;
}

/** The CSV cells of a checkpoint record. */
export function checkpointCsvCells(c: CheckpointLine): (string | null)[] {
  return csvCells({ type: 'checkpoint', seq: String(c.seq), ts: c.ts, hash: c.hash, signature: c.signature });
}

/** A validated checkpoint record as the verifier takes it. */
export function checkpointFromLine(c: CheckpointLine): CheckpointRow {
  return { seq: c.seq, ts: Date.parse(c.ts), hash: fromHex(c.hash), signature: fromHex(c.signature) };
}

// ---------------------------------------------------------------------------------------------
// CSV cells → records

/** The record field each CSV column carries, per record type (the columns a type leaves empty are absent). */
const FIELDS_OF_TYPE: Record<ExportRecordType, Partial<Record<CsvColumn, string>>> = {
  header: {
    vault_id: 'vaultId',
    public_key: 'publicKey',
    genesis: 'genesis',
    head: 'head',
    exported_at: 'exportedAt',
    filter: 'filter',
    checkpoint_every: 'checkpointEvery',
    signature: 'signature',
    format: 'format',
  },
  chain: { seq: 'seq', hash: 'hash' },
  entry: Object.fromEntries(ENTRY_FIELDS.map((f) => [f.column, f.name])),
  elided: { seq: 'from', digests: 'digests' },
  checkpoint: { seq: 'seq', ts: 'ts', hash: 'hash', signature: 'signature' },
};

/** How a cell becomes the value its JSON Lines record would hold. */
const CELL_READERS: Partial<Record<string, (cell: string, column: string) => unknown>> = {
  seq: wholeNumber,
  head: wholeNumber,
  checkpoint_every: wholeNumber,
  categories: (cell) => (cell === '' ? [] : cell.split(',')),
  digests: (cell) => (cell === '' ? [] : cell.split(' ')),
  detail: jsonCell,
  filter: jsonCell,
};

const WHOLE_NUMBER = /^(0|[1-9][0-9]{0,15})$/;

/** A number, or the cell as it is (so the schema reports "expected number"). */
function wholeNumber(cell: string): unknown {
  return cell === '' ? null : WHOLE_NUMBER.test(cell) ? Number(cell) : cell;
}

function jsonCell(cell: string, column: string): unknown {
  if (cell === '') return null;
  try {
    return JSON.parse(cell) as unknown;
  } catch {
    throw csvError(column, 'is not valid JSON');
  }
}

/** The CSV column that carries an export field (for messages about CSV input). */
export function columnOfField(field: string, type: ExportRecordType): string {
  for (const [column, f] of Object.entries(FIELDS_OF_TYPE[type])) if (f === field) return column;
  return field;
}

function csvError(column: string, message: string): VaultError {
  return new VaultError('VALIDATION', `column ${column} ${message}`, { field: column });
}

/**
 * Turns the cells of a CSV record of `type` into the object its JSON Lines record would be, for
 * the same schema to validate. Throws VALIDATION naming the column for cells that cannot be read
 * (a cell that should be empty, a JSON cell that does not parse).
 */
export function csvCellsToRecord(type: ExportRecordType, cells: readonly string[]): Record<string, unknown> {
  // (A version 1 record reaches here with the format cell its header row implies: see verify-file.ts.)
  const out: Record<string, unknown> = { type };
  const fields = FIELDS_OF_TYPE[type];
  for (let i = 1; i < CSV_COLUMNS.length; i++) {
    const column = CSV_COLUMNS[i] as CsvColumn;
    const cell = cells[i] ?? '';
    const field = fields[column];
    if (field === undefined) {
      if (cell !== '') throw csvError(column, `must be empty in a ${type} record`);
      continue;
    }
    const read = CELL_READERS[column];
    out[field] = read === undefined ? (cell === '' ? null : cell) : read(cell, column);
  }
  return out;
}
