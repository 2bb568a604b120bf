/**
 * The audit export format `childvault-audit-export/1` (docs/audit.md, "Exports"): the four record
 * types, their zod schemas, and the converters between stored entries and export records, in
 * JSON Lines and in CSV.
 *
 * Why one module for both directions: the writer and the offline verifier must agree byte for
 * byte. Every record has exactly one text form (the `*JsonLine` / `*CsvCells` functions), and the
 * verifier rebuilds that form from what it parsed and compares: a file that verifies is exactly
 * what the vault wrote, so no edit — not even one that keeps the values equal (`1e21` → `1E21`,
 * categories reordered) — goes unnoticed. (The verifier's fast paths for the same rules are in
 * export-scan.ts; the text helpers in export-text.ts.)
 */
import { z } from 'zod';
import { equalBytes } from '../crypto/hash.js';
import { needs, VaultError } from '../errors.js';
import { toHex } from '../format/ids.js';
import { safe } from '../schema/zod-errors.js';
import { AUDIT_OUTCOMES, canonicalCategories, canonicalDetail, type AuditEntry } from './entry.js';
import type { CheckpointRow } from '../store/audit-repository.js';
import { fromHex, hexOf, isoOf, jsonString, jsonStringOrNull, PLAIN_JSON } from './export-text.js';

/** The format name in every JSON Lines header; a reader refuses any other. */
export const EXPORT_FORMAT = 'childvault-audit-export/1';

/** At most this many digests per `elided` record. */
export const MAX_ELIDED_PER_LINE = 1000;

/** The CSV columns, in order; the CSV header row is these names joined by `,`. */
export const CSV_COLUMNS = [
  'type',
  'seq',
  'ts',
  'actor',
  'role',
  'purpose',
  'action',
  'subject',
  'categories',
  'outcome',
  'reason',
  'approval',
  'consent',
  'request_id',
  'detail',
  'prev_hash',
  'hash',
  'signature',
  'digests',
  'vault_id',
  'public_key',
  'genesis',
  'head',
  'exported_at',
  'filter',
  'checkpoint_every',
] as const;

export type CsvColumn = (typeof CSV_COLUMNS)[number];

/** The CSV header row, without its terminator. */
export const CSV_HEADER = CSV_COLUMNS.join(',');

/** Timestamps in exports: ISO 8601, UTC, milliseconds. */
export const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** Category names as the vault defines them. */
export const CATEGORY_NAME = /^[a-z][a-z0-9_]{0,31}$/;

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
const text = z.string().min(1).max(256);
const detailValue = z.union([z.string(), z.number(), z.boolean()]);

/** The `filter` of a header: what the export kept in full (null: no restriction). */
export const headerFilterSchema = z.strictObject({
  since: isoTime.nullable(),
  until: isoTime.nullable(),
  subject: hex(32).nullable(),
  actor: text.nullable(),
  action: text.nullable(),
});

export const headerLineSchema = z.strictObject({
  type: z.literal('header'),
  format: z.literal(EXPORT_FORMAT),
  vaultId: hex(16),
  publicKey: hex(32),
  genesis: hex(32),
  head: seq,
  exportedAt: isoTime,
  filter: headerFilterSchema,
  checkpointEvery: z.number().int().min(1).max(1_000_000),
  /** Ed25519 over exportSealMessage(vaultId, head, exportedAt, checkpointEvery, filter). */
  signature: hex(64),
});

export const entryLineSchema = z.strictObject({
  type: z.literal('entry'),
  seq,
  ts: isoTime,
  actor: text,
  role: text,
  purpose: text,
  action: text,
  subject: hex(32).nullable(),
  categories: z.array(z.string().regex(CATEGORY_NAME, safe('must be a category name (a-z, 0-9, _)'))).max(64),
  outcome: z.enum(AUDIT_OUTCOMES),
  reason: text.nullable(),
  approval: text.nullable(),
  consent: text.nullable(),
  requestId: text.nullable(),
  detail: z.record(z.string().max(256), detailValue).nullable(),
  prevHash: hex(32),
  hash: hex(32),
});

export const elidedLineSchema = z.strictObject({
  type: z.literal('elided'),
  from: seq,
  digests: z.array(hex(32)).min(1).max(MAX_ELIDED_PER_LINE),
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
export type ExportRecordType = 'header' | 'entry' | 'elided' | 'checkpoint';

/** The schema of each record type. */
export const RECORD_SCHEMAS = {
  header: headerLineSchema,
  entry: entryLineSchema,
  elided: elidedLineSchema,
  checkpoint: checkpointLineSchema,
} as const;

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



/** True when `entry` matches every condition of `filter`. */
export function matchesFilter(entry: Pick<AuditEntry, 'ts' | 'subject' | 'actor' | 'action'>, filter: ExportFilter): boolean {
  return filterMismatch(entry, filter) === null;
}

/** The first condition of `filter` that `entry` fails, for a message (null when it matches). */
export function filterMismatch(entry: Pick<AuditEntry, 'ts' | 'subject' | 'actor' | 'action'>, filter: ExportFilter): keyof ExportFilter | null {
  if (filter.since !== undefined && entry.ts < filter.since) return 'since';
  if (filter.until !== undefined && entry.ts > filter.until) return 'until';
  if (filter.subject !== undefined && (entry.subject === null || !equalBytes(entry.subject, filter.subject))) return 'subject';
  if (filter.actor !== undefined && entry.actor !== filter.actor) return 'actor';
  if (filter.action !== undefined && entry.action !== filter.action) return 'action';
  return null;
}

/** Checks a filter given by a caller (library API): times, pseudonym length, non-empty names. */
export function checkFilter(filter: ExportFilter): void {
  /* Precondition: times are non-negative whole milliseconds. */
  for (const key of ['since', 'until'] as const) {
    const t = filter[key];
    needs(t === undefined || (Number.isSafeInteger(t) && t >= 0), 'VALIDATION', `filter.${key} must be a time from 1970 on, in whole milliseconds`, `filter.${key}`);
  }
  /* Precondition: the subject is a 32-byte pseudonym, never a subject id. */
  needs(filter.subject === undefined || (filter.subject instanceof Uint8Array && filter.subject.length === 32), 'VALIDATION', 'filter.subject must be a 32-byte pseudonym', 'filter.subject');
  for (const key of ['actor', 'action'] as const) {
    const v = filter[key];
    needs(v === undefined || (typeof v === 'string' && v.length >= 1 && v.length <= 256), 'VALIDATION', `filter.${key} must be 1 to 256 characters`, `filter.${key}`);
  }
}

/** The header's form of a filter. */
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

/** What a header says about the export. */
export interface HeaderFields {
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
    format: EXPORT_FORMAT,
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

/** The exact filter text the header seal covers (fixed key order, as written in the header). */
export function sealedFilterJson(f: HeaderFilter): string {
  return JSON.stringify(headerFilterJson(f));
}

/** The one JSON text of a header record (no line terminator). */
export function headerJsonLine(h: HeaderLine): string {
  return JSON.stringify({
    type: h.type,
    format: h.format,
    vaultId: h.vaultId,
    publicKey: h.publicKey,
    genesis: h.genesis,
    head: h.head,
    exportedAt: h.exportedAt,
    filter: headerFilterJson(h.filter),
    checkpointEvery: h.checkpointEvery,
    signature: h.signature,
  });
}

function headerFilterJson(f: HeaderFilter): HeaderFilter {
  return { since: f.since, until: f.until, subject: f.subject, actor: f.actor, action: f.action };
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
    filter: JSON.stringify(headerFilterJson(h.filter)),
    checkpoint_every: String(h.checkpointEvery),
    signature: h.signature,
  });
}

/**
 * An entry as an export record (detail as an object). For the text of a JSON Lines record use
 * {@link entryJsonLine}: it keeps the stored detail text verbatim.
 */
export function entryToJson(e: AuditEntry): EntryLine {
  const text = entryText(e);
  return {
    type: 'entry',
    ...text,
    outcome: e.outcome,
    categories: text.categories === '' ? [] : text.categories.split(','),
    detail: text.detail === null ? null : (JSON.parse(text.detail) as Record<string, string | number | boolean>),
  };
}

/** An entry with every field in its export text (hex, ISO time, canonical categories and detail). */
export interface EntryText {
  readonly seq: number;
  readonly ts: string;
  readonly actor: string;
  readonly role: string;
  readonly purpose: string;
  readonly action: string;
  readonly subject: string | null;
  /** Canonical: sorted, de-duplicated, comma-joined. */
  readonly categories: string;
  readonly outcome: string;
  readonly reason: string | null;
  readonly approval: string | null;
  readonly consent: string | null;
  readonly requestId: string | null;
  /** Canonical JSON, or null. */
  readonly detail: string | null;
  readonly prevHash: string;
  readonly hash: string;
}

/** The export text of a stored entry's fields. */
export function entryText(e: AuditEntry): EntryText {
  return {
    seq: e.seq,
    ts: isoOf(e.ts),
    actor: e.actor,
    role: e.role,
    purpose: e.purpose,
    action: e.action,
    subject: e.subject === null ? null : hexOf(e.subject),
    categories: e.categories,
    outcome: e.outcome,
    reason: e.reason,
    approval: e.approval,
    consent: e.consent,
    requestId: e.requestId,
    detail: e.detail,
    prevHash: hexOf(e.prevHash),
    hash: hexOf(e.hash),
  };
}

function categoriesJson(categories: string): string {
  if (categories === '') return '[]';
  return PLAIN_JSON.test(categories) ? `["${categories.replaceAll(',', '","')}"]` : `[${categories.split(',').map(jsonString).join(',')}]`;
}

/** The one JSON text of an entry record, from its fields' text. */
export function entryTextJsonLine(t: EntryText): string {
  return (
    `{"type":"entry","seq":${t.seq},"ts":"${t.ts}","actor":${jsonString(t.actor)},"role":${jsonString(t.role)},"purpose":${jsonString(t.purpose)},` +
    `"action":${jsonString(t.action)},"subject":${t.subject === null ? 'null' : `"${t.subject}"`},"categories":${categoriesJson(t.categories)},` +
    `"outcome":"${t.outcome}","reason":${jsonStringOrNull(t.reason)},"approval":${jsonStringOrNull(t.approval)},"consent":${jsonStringOrNull(t.consent)},` +
    `"requestId":${jsonStringOrNull(t.requestId)},"detail":${t.detail ?? 'null'},"prevHash":"${t.prevHash}","hash":"${t.hash}"}`
  );
}

/**
 * The one JSON text of an entry record (no line terminator): the fields of {@link entryToJson}
 * in that order, with the stored canonical detail spliced in as it is.
 */
export function entryJsonLine(e: AuditEntry): string {
  return entryTextJsonLine(entryText(e));
}

function csvCells(values: Partial<Record<CsvColumn, string | null>>): (string | null)[] {
  return CSV_COLUMNS.map((c) => values[c] ?? null);
}

/** The CSV cells of an entry record, from its fields' text. */
export function entryTextCsvCells(t: EntryText): (string | null)[] {
  // prettier-ignore
  return [
    'entry', String(t.seq), t.ts, t.actor, t.role, t.purpose, t.action, t.subject, t.categories === '' ? null : t.categories, t.outcome,
    t.reason, t.approval, t.consent, t.requestId, t.detail, t.prevHash, t.hash, null, null, null, null, null, null, null, null, null,
  ];
}

/** The CSV cells of an entry record: categories comma-joined, detail as its canonical JSON. */
export function entryToCsvCells(e: AuditEntry): (string | null)[] {
  return entryTextCsvCells(entryText(e));
}

/** The one JSON text of an elided record. */
export function elidedJsonLine(from: number, digests: readonly string[]): string {
  return `{"type":"elided","from":${from},"digests":["${digests.join('","')}"]}`;
}

/** The CSV cells of an elided record: `seq` is the first seq, digests space-separated. */
export function elidedCsvCells(from: number, digests: readonly string[]): (string | null)[] {
  return csvCells({ type: 'elided', seq: String(from), digests: digests.join(' ') });
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

// ---------------------------------------------------------------------------------------------
// Export records → stored form

/**
 * Rebuilds the stored entry from a validated entry record, so `ChainVerifier.entry()` can check
 * it: categories and detail in their canonical text, times in milliseconds, hex as bytes.
 */
export function entryFromLine(line: EntryLine): AuditEntry {
  return {
    seq: line.seq,
    ts: Date.parse(line.ts),
    actor: line.actor,
    role: line.role,
    purpose: line.purpose,
    action: line.action,
    subject: line.subject === null ? null : fromHex(line.subject),
    categories: canonicalCategories(line.categories),
    outcome: line.outcome,
    reason: line.reason,
    approval: line.approval,
    consent: line.consent,
    requestId: line.requestId,
    detail: canonicalDetail(line.detail),
    prevHash: fromHex(line.prevHash),
    hash: fromHex(line.hash),
  };
}

/** A validated checkpoint record as the verifier takes it. */
export function checkpointFromLine(c: CheckpointLine): CheckpointRow {
  return { seq: c.seq, ts: Date.parse(c.ts), hash: fromHex(c.hash), signature: fromHex(c.signature) };
}

/** The export field a CSV column carries (the same name unless listed). */
const FIELD_OF_COLUMN: Partial<Record<CsvColumn, string>> = {
  request_id: 'requestId',
  prev_hash: 'prevHash',
  vault_id: 'vaultId',
  public_key: 'publicKey',
  exported_at: 'exportedAt',
  checkpoint_every: 'checkpointEvery',
};

/** The CSV column that carries an export field (for messages about CSV input). */
export function columnOfField(field: string, type: ExportRecordType): string {
  if (type === 'elided' && field === 'from') return 'seq';
  for (const [column, f] of Object.entries(FIELD_OF_COLUMN)) if (f === field) return column;
  return field;
}

/** The columns each record type fills; all others must be empty. */
const COLUMNS_OF_TYPE: Record<ExportRecordType, ReadonlySet<CsvColumn>> = {
  header: new Set(['type', 'vault_id', 'public_key', 'genesis', 'head', 'exported_at', 'filter', 'checkpoint_every', 'signature']),
  entry: new Set(CSV_COLUMNS.slice(0, CSV_COLUMNS.indexOf('signature'))),
  elided: new Set(['type', 'seq', 'digests']),
  checkpoint: new Set(['type', 'seq', 'ts', 'hash', 'signature']),
};

const WHOLE_NUMBER = /^(0|[1-9][0-9]{0,15})$/;

function csvError(column: string, message: string): VaultError {
  return new VaultError('VALIDATION', `column ${column} ${message}`, { field: column });
}

/**
 * Turns the cells of a CSV record of `type` into the object its JSON Lines record would be, for
 * the same schema to validate. Throws VALIDATION naming the column for cells that cannot be read
 * (a cell that should be empty, a number or JSON cell that does not parse).
 */
export function csvCellsToRecord(type: ExportRecordType, cells: readonly string[]): Record<string, unknown> {
  // The CSV header row (checked before any record) stands for the JSON header's format name.
  const out: Record<string, unknown> = type === 'header' ? { type, format: EXPORT_FORMAT } : { type };
  const filled = COLUMNS_OF_TYPE[type];
  for (let i = 1; i < CSV_COLUMNS.length; i++) {
    const column = CSV_COLUMNS[i] as CsvColumn;
    const cell = cells[i] ?? '';
    if (!filled.has(column)) {
      if (cell !== '') throw csvError(column, `must be empty in a ${type} record`);
      continue;
    }
    const value: string | null = cell === '' ? null : cell;
    switch (column) {
      case 'seq':
      case 'head':
        // Not a number: left as text, so the schema reports "expected number".
        out[type === 'elided' ? 'from' : column] = value !== null && WHOLE_NUMBER.test(value) ? Number(value) : value;
        break;
      case 'checkpoint_every':
        out['checkpointEvery'] = value !== null && WHOLE_NUMBER.test(value) ? Number(value) : value;
        break;
      case 'categories':
        out['categories'] = value === null ? [] : value.split(',');
        break;
      case 'digests':
        out['digests'] = value === null ? [] : value.split(' ');
        break;
      case 'detail':
      case 'filter':
        out[column] = value === null ? null : parseJsonCell(column, value);
        break;
      default:
        out[FIELD_OF_COLUMN[column] ?? column] = value;
    }
  }
  return out;
}

function parseJsonCell(column: string, value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    throw csvError(column, 'is not valid JSON');
  }
}
