/**
 * The verifier's fast paths for entry records: nearly every record of an export is an entry, and
 * nearly every one is exactly as the vault wrote it. These read such a record in one pass —
 * validating each field by its kind and proving the written form as they go — into the raw row
 * the chain verifier takes, and return null for anything else, which then takes the general path
 * (JSON.parse or the CSV cells, the zod schema, the written-form comparison) that accepts the
 * same records with the same row and explains the others.
 *
 * Both walk the entry's declaration (entry.ts `ENTRY_FIELDS`): a field added there is read here.
 *
 * Why: verification must reach hundreds of thousands of entries a second, and the general path
 * spends most of its time on work these avoid (parsing to objects, rebuilding text to compare).
 * The differential tests in test/unit/audit/export-format.test.ts hold the two paths together.
 */
import {
  areCanonicalCategories,
  AUDIT_OUTCOMES,
  canonicalDetail,
  CATEGORY_NAME,
  detailProblem,
  ENTRY_FIELD_COUNT,
  ENTRY_FIELDS,
  FIELD_KINDS,
  FIELD_NULLABLE,
  isActionName,
  hasLoneSurrogate,
  MAX_CATEGORIES,
  MAX_FIELD_CHARS,
  type EntryFieldSpec,
  type EntryRow,
  type FieldKind,
} from './entry.js';
import { CSV_COLUMNS, ENTRY_JSON_KEYS } from './export-format.js';
import { digitsAt, isoToMs, jsonString } from './export-text.js';

const HEX = new Int8Array(128).fill(0);
for (const c of '0123456789abcdef') HEX[c.charCodeAt(0)] = 1;

/** True when the 64 characters of `s` from `at` are lower-case hex (validated without decoding: no bytes to allocate). */
function isHex64(s: string, at: number): boolean {
  if (at + 64 > s.length) return false;
  for (let i = at; i < at + 64; i++) if (HEX[s.charCodeAt(i)] !== 1) return false;
  return true;
}

const OUTCOMES: readonly string[] = AUDIT_OUTCOMES;

/** Detail texts already found canonical: details repeat (`{"returned":1}`), parsing them does not need to. */
const canonicalDetails = new Set<string>();

/** True when `text` is a detail exactly as the vault writes one (canonicalDetail's output). */
export function isCanonicalDetailText(text: string): boolean {
  if (canonicalDetails.has(text)) return true;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return false;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return false;
  const detail = parsed as Record<string, string | number | boolean>;
  if (detailProblem(detail) !== null || canonicalDetail(detail) !== text) return false;
  // Only short texts are kept (at most 4096 × 256 characters): a hostile file cannot fill memory.
  if (text.length <= 256) {
    if (canonicalDetails.size >= 4096) canonicalDetails.clear();
    canonicalDetails.add(text);
  }
  return true;
}

/** Entry text as a reader accepts it: 1..256 code units, well-formed. */
function isText(s: string): boolean {
  return s.length >= 1 && s.length <= MAX_FIELD_CHARS && !hasLoneSurrogate(s);
}

// ---------------------------------------------------------------------------------------------
// JSON Lines

/** Backslash, controls (JSON escapes them) and lone surrogates: text with any of them is read by JSON.parse. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const SPECIAL = /[\\\x00-\x1f]|\p{Cs}/u;

/** The minute prefix of the last timestamp read (`2026-11-27T10:00:`) and its milliseconds. */
let scannedMinute = '';
let scannedMinuteMs = 0;

/** {@link isoToMs} of the 24 characters at `at`, reusing the minute of the previous call. */
function scanTime(line: string, at: number): number | null {
  if (scannedMinute === '' || !line.startsWith(scannedMinute, at)) {
    const ms = isoToMs(line.slice(at, at + 24));
    if (ms === null) return null;
    scannedMinute = line.slice(at, at + 17);
    scannedMinuteMs = ms - (ms % 60_000);
    return ms;
  }
  if (line.charCodeAt(at + 19) !== 0x2e || line.charCodeAt(at + 23) !== 0x5a) return null; // '.', 'Z'
  const sec = digitsAt(line, at + 17, 2);
  const milli = digitsAt(line, at + 20, 3);
  return sec < 0 || sec > 59 || milli < 0 ? null : scannedMinuteMs + sec * 1000 + milli;
}

/** A cursor over one line; each read returns undefined (and the scan gives up) on a mismatch. */
class LineScanner {
  at = 0;
  constructor(readonly line: string) {}

  literal(text: string): boolean {
    // A loop, not startsWith(text, at): V8 does not inline that builtin, and this runs ~17 times a line.
    const line = this.line;
    const at = this.at;
    if (at + text.length > line.length) return false;
    for (let i = 0; i < text.length; i++) if (line.charCodeAt(at + i) !== text.charCodeAt(i)) return false;
    this.at = at + text.length;
    return true;
  }

  /**
   * A JSON string exactly as JSON.stringify writes it, holding no lone surrogate: its value.
   * Strings holding escapes are parsed and written back, so only the canonical escaping passes.
   */
  string(): string | undefined {
    const line = this.line;
    const start = this.at;
    if (line.charCodeAt(start) !== 0x22) return undefined;
    let end = line.indexOf('"', start + 1);
    let escaped = false;
    for (;;) {
      if (end === -1) return undefined;
      let backslashes = 0;
      while (line.charCodeAt(end - 1 - backslashes) === 0x5c) backslashes++;
      if (backslashes === 0) break;
      escaped = true;
      if (backslashes % 2 === 0) break;
      end = line.indexOf('"', end + 1);
    }
    const raw = line.slice(start + 1, end);
    this.at = end + 1;
    // Text without escapes, controls or lone surrogates (nearly all of it) is its own value.
    if (!escaped && !SPECIAL.test(raw)) return raw;
    const token = line.slice(start, end + 1);
    let value: unknown;
    try {
      value = JSON.parse(token);
    } catch {
      return undefined;
    }
    // Escapes can spell a lone surrogate, which no entry text may hold.
    return typeof value === 'string' && jsonString(value) === token && !hasLoneSurrogate(value) ? value : undefined;
  }

  /** A whole number as JSON.stringify writes it (no sign, no leading zero), >= 1. */
  seq(): number | undefined {
    const line = this.line;
    const start = this.at;
    let end = start;
    while (end < line.length && end - start <= 16) {
      const c = line.charCodeAt(end);
      if (c < 0x30 || c > 0x39) break;
      end++;
    }
    if (end === start || line.charCodeAt(start) === 0x30) return undefined;
    const n = Number(line.slice(start, end));
    if (!Number.isSafeInteger(n)) return undefined;
    this.at = end;
    return n;
  }

  /** `"<ISO time>"`: its milliseconds. */
  time(): number | undefined {
    if (!this.literal('"')) return undefined;
    const ms = scanTime(this.line, this.at);
    this.at += 24;
    return ms !== null && this.literal('"') ? ms : undefined;
  }

  /** Entry text: 1..256 code units (string() has refused lone surrogates). */
  text(): string | undefined {
    const v = this.string();
    return v !== undefined && v.length >= 1 && v.length <= MAX_FIELD_CHARS ? v : undefined;
  }

  action(): string | undefined {
    const v = this.string();
    return v !== undefined && isActionName(v) ? v : undefined;
  }

  outcome(): string | undefined {
    const v = this.string();
    return v !== undefined && OUTCOMES.includes(v) ? v : undefined;
  }

  /** `"<64 hex>"` of a pseudonym: the hex (validated here; the digest decodes it). */
  pseudonym(): string | undefined {
    const line = this.line;
    const at = this.at;
    if (line.charCodeAt(at) !== 0x22 || line.charCodeAt(at + 65) !== 0x22 || !isHex64(line, at + 1)) return undefined;
    this.at = at + 66;
    return line.slice(at + 1, at + 65);
  }

  /** `"<64 hex>"` of a chain hash: the hex (validated, not decoded: the verifier compares it as hex). */
  hex(): string | undefined {
    const line = this.line;
    const at = this.at;
    if (line.charCodeAt(at) !== 0x22 || line.charCodeAt(at + 65) !== 0x22 || !isHex64(line, at + 1)) return undefined;
    this.at = at + 66;
    return line.slice(at + 1, at + 65);
  }

  /** A JSON array of category names in canonical order: their comma-joined text. */
  categories(): string | undefined {
    if (!this.literal('[')) return undefined;
    if (this.literal(']')) return '';
    let joined = '';
    let previous = '';
    for (let n = 0; ; n++) {
      const name = this.string();
      if (name === undefined || n >= MAX_CATEGORIES || !CATEGORY_NAME.test(name) || (n > 0 && !(previous < name))) return undefined;
      joined += n === 0 ? name : `,${name}`;
      previous = name;
      if (this.literal(']')) return joined;
      if (!this.literal(',')) return undefined;
    }
  }

  /** A flat JSON object in canonical detail form: its text. */
  detail(): string | undefined {
    const line = this.line;
    const start = this.at;
    if (line.charCodeAt(start) !== 0x7b) return undefined;
    // The object ends at the first '}' outside a string; a nested object or array is not a detail.
    let i = start + 1;
    for (; i < line.length; i++) {
      const c = line.charCodeAt(i);
      if (c === 0x7d) break;
      if (c === 0x7b || c === 0x5b) return undefined;
      if (c === 0x22) {
        for (i++; i < line.length; i++) {
          const d = line.charCodeAt(i);
          if (d === 0x5c) i++;
          else if (d === 0x22) break;
        }
      }
    }
    if (i >= line.length) return undefined;
    const text = line.slice(start, i + 1);
    if (!isCanonicalDetailText(text)) return undefined;
    this.at = i + 1;
    return text;
  }

  /** A detail that must end at `end` (the fields after it have fixed widths): its text. */
  detailUntil(end: number): string | undefined {
    if (end <= this.at || this.line.charCodeAt(this.at) !== 0x7b) return undefined;
    const text = this.line.slice(this.at, end);
    if (!isCanonicalDetailText(text)) return undefined;
    this.at = end;
    return text;
  }
}

/** The scanner method that reads each kind (`null` is tried first for a nullable field). */
const READ_KIND: Record<FieldKind, string> = {
  seq: 'seq',
  time: 'time',
  text: 'text',
  action: 'action',
  pseudonym: 'pseudonym',
  categories: 'categories',
  outcome: 'outcome',
  detail: 'detail',
  hash: 'hex',
};

/** The length of a field's JSON text when it is always the same (a 64-hex hash), else null. */
function fixedWidth(f: EntryFieldSpec, i: number): number | null {
  return f.kind === 'hash' && !f.nullable ? (ENTRY_JSON_KEYS[i] as string).length + 66 : null;
}

/**
 * Compiles {@link scanEntryLine} from the declaration (as export-format.ts compiles the writer):
 * for each field in turn, `if (!s.literal(<its key>)) return null; const v3 = s.text(); if (v3 ===
 * undefined) return null;` …, then `return [v0, …, v15]`. Why: a loop over the fields (a switch per
 * field, the row filled index by index) cost ~5% of an offline verification. When every field
 * after `detail` has a fixed width, the detail is read up to where they must start (no scan for
 * its end). Only the declaration goes into the source (its keys as JSON string literals, method
 * names per kind), never data.
 */
function compileScanEntryLine(): (line: string) => EntryRow | null {
  const lines = ['const s = new LineScanner(line);'];
  const fields = ENTRY_FIELDS as readonly EntryFieldSpec[];
  fields.forEach((f, i) => {
    lines.push(`if (!s.literal(${JSON.stringify(ENTRY_JSON_KEYS[i])})) return null;`);
    let read = `s.${READ_KIND[f.kind]}()`;
    if (f.kind === 'detail') {
      const after = fields.slice(i + 1).map((g, j) => fixedWidth(g, i + 1 + j));
      if (after.every((w) => w !== null)) read = `s.detailUntil(line.length - ${after.reduce((a: number, w) => a + (w ?? 0), 1)})`;
    }
    lines.push(`const v${i} = ${f.nullable ? `s.literal("null") ? null : ${read}` : read};`, `if (v${i} === undefined) return null;`);
  });
  lines.push(`return s.literal("}") && s.at === line.length ? [${fields.map((_f, i) => `v${i}`).join(', ')}] : null;`);
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- compiled from the constant declaration only (see above)
    const compile = new Function('LineScanner', `'use strict'; return (line) => { ${lines.join('\n')} };`) as (scanner: typeof LineScanner) => (line: string) => EntryRow | null;
    return compile(LineScanner);
  } catch {
    // A hardened process (node --disallow-code-generation-from-strings): every line takes the
    // general path, which accepts the same lines (about three times slower).
    return () => null;
  }
}

/**
 * Reads an entry line that is exactly in the form `entryJsonLine` writes, without JSON.parse and
 * without rebuilding the line to compare it: the scan expects each field of the declaration in
 * turn. Returns its raw row, or null for anything else — the caller then takes the general path
 * (JSON.parse, schema, written-form check), which accepts the same lines with the same row and
 * explains the others. About three times faster than that path. Compiled from the declaration
 * (see compileScanEntryLine).
 */
export const scanEntryLine: (line: string) => EntryRow | null = compileScanEntryLine();

// ---------------------------------------------------------------------------------------------
// CSV

const SEQ_TEXT = /^[1-9][0-9]{0,15}$/;

/** One entry cell's raw-row value, or undefined when it is not what the writer puts there. */
function cellValue(i: number, cell: string): unknown {
  if (cell === '' && FIELD_NULLABLE[i] === true) return null;
  switch (FIELD_KINDS[i]) {
    case 'seq': {
      const n = Number(cell);
      return SEQ_TEXT.test(cell) && Number.isSafeInteger(n) ? n : undefined;
    }
    case 'time':
      return isoToMs(cell) ?? undefined;
    case 'text':
      return isText(cell) ? cell : undefined;
    case 'action':
      return isActionName(cell) ? cell : undefined;
    case 'pseudonym':
      return cell.length === 64 && isHex64(cell, 0) ? cell : undefined;
    case 'hash':
      return cell.length === 64 && isHex64(cell, 0) ? cell : undefined;
    case 'categories':
      return cell === '' || areCanonicalCategories(cell.split(',')) ? cell : undefined;
    case 'outcome':
      return OUTCOMES.includes(cell) ? cell : undefined;
    case 'detail':
      return isCanonicalDetailText(cell) ? cell : undefined;
    default:
      return undefined;
  }
}

/**
 * The CSV counterpart of {@link scanEntryLine}: reads the cells of an entry record that are
 * exactly what the writer puts there into its raw row, or returns null (the general path then
 * explains).
 */
export function scanEntryCells(cells: readonly string[]): EntryRow | null {
  if (cells.length !== CSV_COLUMNS.length || cells[0] !== 'entry') return null;
  for (let i = 1 + ENTRY_FIELD_COUNT; i < cells.length; i++) if (cells[i] !== '') return null;
  const row = new Array<unknown>(ENTRY_FIELD_COUNT);
  for (let i = 0; i < ENTRY_FIELD_COUNT; i++) {
    const value = cellValue(i, cells[1 + i] ?? '');
    if (value === undefined) return null;
    row[i] = value;
  }
  return row as unknown as EntryRow;
}
