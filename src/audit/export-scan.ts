/**
 * The verifier's fast paths for entry records: nearly every record of an export is an entry, and
 * nearly every one is exactly as the vault wrote it. These read such records in one pass —
 * validating, converting to the stored entry, and proving the written form — and return null for
 * anything else, which then takes the general path (JSON.parse, the zod schema, the written-form
 * comparison) that accepts the same records with the same result and explains the others.
 *
 * Why: verification must reach hundreds of thousands of entries a second, and the general path
 * spends most of its time on work these avoid (parsing to objects, rebuilding text to compare).
 * The differential tests in test/unit/audit/export-format.test.ts hold the two paths together.
 */
import { AUDIT_OUTCOMES, canonicalCategories, canonicalDetail, type AuditEntry } from './entry.js';
import { CATEGORY_NAME, CSV_COLUMNS, entryLineSchema, type EntryText } from './export-format.js';
import { digitsAt, hexBytes, isoToMs } from './export-text.js';

function isText(v: unknown): v is string {
  return typeof v === 'string' && v.length >= 1 && v.length <= 256;
}

function isTextOrNull(v: unknown): v is string | null {
  return v === null || isText(v);
}

const OUTCOMES: readonly unknown[] = AUDIT_OUTCOMES;
const ENTRY_FIELDS = Object.keys(entryLineSchema.shape).length;

function sortedCategories(v: unknown): string | null {
  if (!Array.isArray(v) || v.length > 64) return null;
  let ordered = true;
  for (let i = 0; i < v.length; i++) {
    const c: unknown = v[i];
    if (typeof c !== 'string' || !CATEGORY_NAME.test(c)) return null;
    if (i > 0 && !((v[i - 1] as string) < c)) ordered = false;
  }
  return ordered ? (v as string[]).join(',') : canonicalCategories(v as string[]);
}

function isDetail(v: unknown): v is Record<string, string | number | boolean> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.getPrototypeOf(v) !== Object.prototype) return false;
  for (const key in v) {
    if (key.length > 256) return false;
    const value: unknown = (v as Record<string, unknown>)[key];
    if (typeof value !== 'string' && typeof value !== 'boolean' && !(typeof value === 'number' && Number.isFinite(value))) return false;
  }
  return true;
}

/**
 * Validates a parsed entry record and converts it in one pass: the stored entry (for the chain)
 * and its fields' export text (for the written-form check). Accepts only what
 * `entryLineSchema` accepts; returns null for anything else — the caller then asks the schema
 * for a message. Several times faster than the schema plus {@link entryFromLine}.
 */
export function parseEntryRecord(value: unknown): { entry: AuditEntry; text: EntryText } | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const v = value as Record<string, unknown>;
  let fields = 0;
  for (const _key in v) fields++;
  if (fields !== ENTRY_FIELDS || v['type'] !== 'entry') return null;
  const { seq, ts, actor, role, purpose, action, subject, outcome, reason, approval, consent, requestId, detail, prevHash, hash } = v;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) return null;
  const ms = isoToMs(ts);
  if (ms === null || !isText(actor) || !isText(role) || !isText(purpose) || !isText(action)) return null;
  const subjectBytes = subject === null ? null : hexBytes(subject, 32);
  if (subject !== null && subjectBytes === null) return null;
  const categories = sortedCategories(v['categories']);
  if (categories === null || !OUTCOMES.includes(outcome) || !isTextOrNull(reason) || !isTextOrNull(approval) || !isTextOrNull(consent) || !isTextOrNull(requestId)) return null;
  if (detail !== null && !isDetail(detail)) return null;
  const prevHashBytes = hexBytes(prevHash, 32);
  const hashBytes = hexBytes(hash, 32);
  if (prevHashBytes === null || hashBytes === null) return null;
  const canonical = detail === null ? null : canonicalDetail(detail);
  const result = outcome as AuditEntry['outcome'];
  // Plain literals, not spreads of a shared part: V8 copies spreads on a slow path (~10 µs here).
  return {
    entry: { seq, ts: ms, actor, role, purpose, action, subject: subjectBytes, categories, outcome: result, reason, approval, consent, requestId, detail: canonical, prevHash: prevHashBytes, hash: hashBytes },
    text: { seq, ts: ts as string, actor, role, purpose, action, subject: subject as string | null, categories, outcome: result, reason, approval, consent, requestId, detail: canonical, prevHash: prevHash as string, hash: hash as string },
  };
}

const LINE_PREFIX = '{"type":"entry","seq":';
const HASHES_SUFFIX_LENGTH = ',"prevHash":"'.length + 64 + '","hash":"'.length + 64 + '"}'.length;
/** Characters JSON.stringify escapes (quote, backslash, controls, lone surrogates): the scan leaves such strings to JSON.parse. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const NEEDS_ESCAPE = /["\\\x00-\x1f]|\p{Cs}/u;

/** A cursor over one line; every `expect*` returns false (and the scan gives up) on a mismatch. */
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

  /** A JSON string without escapes, 1..256 characters: exactly its text between quotes. */
  text(): string | null {
    const line = this.line;
    if (line.charCodeAt(this.at) !== 0x22) return null;
    const end = line.indexOf('"', this.at + 1);
    if (end === -1) return null;
    const value = line.slice(this.at + 1, end);
    if (value.length < 1 || value.length > 256 || NEEDS_ESCAPE.test(value)) return null;
    this.at = end + 1;
    return value;
  }

  textOrNull(): string | null | undefined {
    if (this.literal('null')) return null;
    return this.text() ?? undefined;
  }

  /** A whole number as JSON.stringify writes it (no sign, no leading zero), >= 1. */
  seq(): number | null {
    const line = this.line;
    const start = this.at;
    let end = start;
    while (end < line.length && end - start <= 16) {
      const c = line.charCodeAt(end);
      if (c < 0x30 || c > 0x39) break;
      end++;
    }
    if (end === start || line.charCodeAt(start) === 0x30) return null;
    const n = Number(line.slice(start, end));
    if (!Number.isSafeInteger(n)) return null;
    this.at = end;
    return n;
  }
}

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


/** Detail texts already found canonical: details repeat (`{"returned":1}`), parsing them does not need to. */
const canonicalDetails = new Set<string>();

function isCanonicalDetailText(text: string): boolean {
  if (canonicalDetails.has(text)) return true;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return false;
  }
  if (!isDetail(parsed) || canonicalDetail(parsed) !== text) return false;
  // Only short texts are kept (at most 4096 × 256 characters): a hostile file cannot fill memory.
  if (text.length <= 256) {
    if (canonicalDetails.size >= 4096) canonicalDetails.clear();
    canonicalDetails.add(text);
  }
  return true;
}

/**
 * Reads an entry line that is exactly in the form {@link entryJsonLine} writes, without
 * JSON.parse and without rebuilding the line to compare it: the scan expects each piece of that
 * form in turn. Returns null for anything else (escaped strings included) — the caller then
 * takes the general path (JSON.parse, schema, written-form check), which accepts the same lines
 * with the same result and explains the others. About three times faster than that path.
 */
export function scanEntryLine(line: string): AuditEntry | null {
  const s = new LineScanner(line);
  if (!s.literal(LINE_PREFIX)) return null;
  const seq = s.seq();
  if (seq === null || !s.literal(',"ts":"')) return null;
  const ts = scanTime(line, s.at);
  s.at += 24;
  if (ts === null || !s.literal('","actor":')) return null;
  const actor = s.text();
  if (actor === null || !s.literal(',"role":')) return null;
  const role = s.text();
  if (role === null || !s.literal(',"purpose":')) return null;
  const purpose = s.text();
  if (purpose === null || !s.literal(',"action":')) return null;
  const action = s.text();
  if (action === null || !s.literal(',"subject":')) return null;
  let subject: Uint8Array | null = null;
  if (!s.literal('null')) {
    if (!s.literal('"')) return null;
    subject = hexBytes(line.slice(s.at, s.at + 64), 32);
    s.at += 64;
    if (subject === null || !s.literal('"')) return null;
  }
  if (!s.literal(',"categories":[')) return null;
  let categories = '';
  if (!s.literal(']')) {
    let previous = '';
    for (let n = 0; ; n++) {
      const name = s.text();
      if (name === null || n >= 64 || !CATEGORY_NAME.test(name) || (n > 0 && !(previous < name))) return null;
      categories += n === 0 ? name : `,${name}`;
      previous = name;
      if (s.literal(']')) break;
      if (!s.literal(',')) return null;
    }
  }
  if (!s.literal(',"outcome":"')) return null;
  const outcome = s.literal('allowed') ? 'allowed' : s.literal('denied') ? 'denied' : s.literal('error') ? 'error' : null;
  if (outcome === null || !s.literal('","reason":')) return null;
  const reason = s.textOrNull();
  if (reason === undefined || !s.literal(',"approval":')) return null;
  const approval = s.textOrNull();
  if (approval === undefined || !s.literal(',"consent":')) return null;
  const consent = s.textOrNull();
  if (consent === undefined || !s.literal(',"requestId":')) return null;
  const requestId = s.textOrNull();
  if (requestId === undefined || !s.literal(',"detail":')) return null;
  // The hashes close the line at fixed offsets; the detail is everything between.
  const hashesAt = line.length - HASHES_SUFFIX_LENGTH;
  if (hashesAt < s.at) return null;
  const detailText = line.slice(s.at, hashesAt);
  let detail: string | null = null;
  if (detailText !== 'null') {
    if (!isCanonicalDetailText(detailText)) return null;
    detail = detailText;
  }
  s.at = hashesAt;
  if (!s.literal(',"prevHash":"')) return null;
  const prevHash = hexBytes(line.slice(s.at, s.at + 64), 32);
  s.at += 64;
  if (prevHash === null || !s.literal('","hash":"')) return null;
  const hash = hexBytes(line.slice(s.at, s.at + 64), 32);
  s.at += 64;
  if (hash === null || !s.literal('"}') || s.at !== line.length) return null;
  return { seq, ts, actor, role, purpose, action, subject, categories, outcome, reason, approval, consent, requestId, detail, prevHash, hash };
}

const CSV_ENTRY_CELLS = CSV_COLUMNS.indexOf('signature');
const SEQ_TEXT = /^[1-9][0-9]{0,15}$/;

function cellText(cell: string): boolean {
  return cell.length >= 1 && cell.length <= 256;
}

/**
 * The CSV counterpart of {@link scanEntryLine}: reads the cells of an entry record that are
 * exactly what the writer puts there, or returns null (the general path then explains).
 */
export function scanEntryCells(cells: readonly string[]): AuditEntry | null {
  if (cells.length !== CSV_COLUMNS.length || cells[0] !== 'entry') return null;
  for (let i = CSV_ENTRY_CELLS; i < cells.length; i++) if (cells[i] !== '') return null;
  const [, seqText = '', tsText = '', actor = '', role = '', purpose = '', action = '', subjectText = '', categories = '', outcome = '', reason = '', approval = '', consent = '', requestId = '', detail = '', prevHashText = '', hashText = ''] =
    cells;
  if (!SEQ_TEXT.test(seqText)) return null;
  const seq = Number(seqText);
  const ts = isoToMs(tsText);
  if (!Number.isSafeInteger(seq) || ts === null || !cellText(actor) || !cellText(role) || !cellText(purpose) || !cellText(action)) return null;
  const subject = subjectText === '' ? null : hexBytes(subjectText, 32);
  if (subjectText !== '' && subject === null) return null;
  if (categories !== '') {
    const names = categories.split(',');
    if (names.length > 64) return null;
    for (let i = 0; i < names.length; i++) {
      const name = names[i] ?? '';
      if (!CATEGORY_NAME.test(name) || (i > 0 && !((names[i - 1] ?? '') < name))) return null;
    }
  }
  if (outcome !== 'allowed' && outcome !== 'denied' && outcome !== 'error') return null;
  for (const optional of [reason, approval, consent, requestId]) if (optional.length > 256) return null;
  if (detail !== '' && !isCanonicalDetailText(detail)) return null;
  const prevHash = hexBytes(prevHashText, 32);
  const hash = hexBytes(hashText, 32);
  if (prevHash === null || hash === null) return null;
  const orNull = (cell: string): string | null => (cell === '' ? null : cell);
  return {
    seq,
    ts,
    actor,
    role,
    purpose,
    action,
    subject,
    categories,
    outcome,
    reason: orNull(reason),
    approval: orNull(approval),
    consent: orNull(consent),
    requestId: orNull(requestId),
    detail: orNull(detail),
    prevHash,
    hash,
  };
}
