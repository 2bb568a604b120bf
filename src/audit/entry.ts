/**
 * Audit entries: their fields (declared once, in format/audit-entry.ts, and re-exported here), their
 * canonical forms and bytes, and the hash chain over them.
 *
 *   digest_i = BLAKE2b-256(encode("audit-entry", every field of ENTRY_FIELDS but the chain's hashes, in order))
 *   hash_i   = BLAKE2b-256(encode("audit-chain", hash_{i-1}, digest_i))
 *   hash_0   = BLAKE2b-256(encode("audit-genesis", vaultId))
 *
 * Chaining the entry's digest (rather than its bytes) lets a filtered export prove the chain with
 * the 32-byte digests of the entries it leaves out, without revealing them.
 *
 * Why one declaration: an entry lives in five forms — what an operation records, the SQLite row,
 * the raw row the hot paths read (bytes as hex), the JSON Lines record and the CSV row — and the
 * digest must see the same fields in the same order in all of them. `ENTRY_FIELDS` says, once,
 * each field's name, kind, nullability and column; the SQL (store/audit-repository.ts), the row
 * indices, the digest order and the export codecs (export-format.ts, export-scan.ts) are derived
 * from it. Adding a field is one line there — and a new export format version, since it changes
 * the digest.
 */
import { hashCanonical } from '../crypto/hash.js';
import { encodeCanonical, u64, type CanonicalField } from '../format/canonical.js';
import { toHex } from '../format/ids.js';
import { hexBytes } from './export-text.js';
import { ENTRY_FIELD_COUNT, ENTRY_FIELDS, isActionName, isBytesKind, type AuditDetail, type AuditEntry, type AuditRecord, type EntryRow, type UnhashedEntry } from '../format/audit-entry.js';

// The declaration lives in format/ (the store derives its SQL from it, and the store is below
// the audit log); the audit log's modules read it from here, with what is built on it.
export * from '../format/audit-entry.js';

/** One field of the declaration. */
type Field = (typeof ENTRY_FIELDS)[number];

// ---------------------------------------------------------------------------------------------
// Canonical forms

/** At most this many ids in an entry's consent field (callers put the full count in detail). */
export const MAX_LISTED_IDS = 5;

/** Longest text an entry field may hold, in UTF-16 code units: what the export reader accepts. */
export const MAX_FIELD_CHARS = 256;

/** At most this many categories in one entry. */
export const MAX_CATEGORIES = 64;

/**
 * Longest canonical detail text the writer accepts (UTF-16 code units): with the other bounds,
 * an entry's record stays far below the 1 MiB a verifier accepts per line, whatever the detail
 * holds (a label can come from outside, e.g. the name of a row that failed authentication).
 */
export const MAX_DETAIL_CHARS = 64 * 1024;

/** Category names (docs/audit.md): `,` cannot occur in one, so the joined text splits back unambiguously. */
export const CATEGORY_NAME = /^[a-z][a-z0-9_]{0,31}$/;

/**
 * Keys of `detail`: a letter, then letters, digits, `_`, `.` or `-` (`erased.location`), at most
 * 64. They start with a letter, so no key is an array index (JavaScript would reorder those when
 * parsing), and they are ASCII, so sorting by UTF-16 code unit, by code point and by byte agree.
 */
export const DETAIL_KEY = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/**
 * True when `s` holds a lone UTF-16 surrogate: not a Unicode scalar value, and UTF-8 would encode
 * it as U+FFFD. `String.prototype.isWellFormed` (Node 20; not yet in TypeScript's ES2023 lib) is a
 * native scan, several times faster than a `/\p{Cs}/u` test on the audit writer's hot path.
 */
export function hasLoneSurrogate(s: string): boolean {
  return !(s as string & { isWellFormed(): boolean }).isWellFormed();
}

/** A bounded, comma-joined id list for an entry field, or null for none. */
export function idList(ids: readonly string[]): string | null {
  return ids.length === 0 ? null : ids.slice(0, MAX_LISTED_IDS).join(',');
}

/** The list form of a stored category text ('' is none). */
export function splitCategories(text: string): string[] {
  return text === '' ? [] : text.split(',');
}

/** The one text form of a category list: sorted, de-duplicated, comma-joined ('' for none). */
export function canonicalCategories(categories: readonly string[]): string {
  if (categories.length <= 1) return categories[0] ?? '';
  return [...new Set(categories)].sort().join(',');
}

/** True when `names` is already canonical: category names in strictly ascending order. */
export function areCanonicalCategories(names: readonly unknown[]): names is readonly string[] {
  if (names.length > MAX_CATEGORIES) return false;
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    if (typeof name !== 'string' || !CATEGORY_NAME.test(name)) return false;
    if (i > 0 && !((names[i - 1] as string) < name)) return false;
  }
  return true;
}

/** Why a detail value cannot be written, or null: strings (well-formed), booleans, safe integers. */
function detailValueProblem(v: unknown): string | null {
  if (typeof v === 'boolean') return null;
  if (typeof v === 'number') return Number.isSafeInteger(v) ? null : 'must be a whole number from -(2^53-1) to 2^53-1';
  if (typeof v === 'string') return hasLoneSurrogate(v) ? 'must not hold a lone surrogate' : null;
  return 'must be a string, a whole number or a boolean';
}

/**
 * The one text form of a detail object: JSON with its keys sorted and no spaces, or null for no
 * detail (an empty object is no detail). Keys are ASCII names ({@link DETAIL_KEY}); values
 * strings, booleans or safe integers — so a verifier in any language can check the form without
 * reproducing JavaScript's number formatting. Throws (a programming error) for anything else.
 */
export function canonicalDetail(detail: AuditDetail | null): string | null {
  if (detail === null) return null;
  const keys = Object.keys(detail).sort();
  if (keys.length === 0) return null;
  let out = '{';
  for (const k of keys) {
    if (!DETAIL_KEY.test(k)) throw new TypeError('audit detail keys must be a letter, then letters, digits, _ . or -');
    const v = detail[k];
    const problem = detailValueProblem(v);
    if (problem !== null) throw new TypeError(`audit detail ${k} ${problem}`);
    out += `${out === '{' ? '' : ','}"${k}":${JSON.stringify(v)}`;
  }
  return `${out}}`;
}

/**
 * Why a parsed detail object is not one the vault writes, naming the rule (never the value), or
 * null when it is canonical apart from its text (spacing, number spelling), which the written-form
 * check catches.
 */
export function detailProblem(detail: Readonly<Record<string, unknown>>): string | null {
  const keys = Object.keys(detail);
  if (keys.length === 0) return 'must be null, not an empty object (the two would hash alike)';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    if (!DETAIL_KEY.test(k)) return 'keys must be ASCII names (a letter, then letters, digits, _ . or -; at most 64)';
    if (i > 0 && !((keys[i - 1] as string) < k)) return 'keys must be in ascending order (by code point) without repeats';
    const problem = detailValueProblem(detail[k]);
    if (problem !== null) return `values ${problem}`;
  }
  return null;
}

/** The fields an operation records as text. */
const TEXT_FIELDS = ENTRY_FIELDS.flatMap((f) => (f.kind === 'text' || f.kind === 'action' ? [f.name] : []));

/**
 * Refuses (as a programming error) a record the export verifier would reject: an entry is
 * append-only, so one that cannot be verified would poison every future export.
 */
function assertWritable(record: AuditRecord): void {
  for (const name of TEXT_FIELDS) {
    const value = record[name];
    if (value !== null && (value.length === 0 || value.length > MAX_FIELD_CHARS || hasLoneSurrogate(value))) {
      throw new Error(`internal: audit field ${name} is empty, too long or not well-formed`);
    }
  }
  if (!isActionName(record.action)) throw new Error('internal: audit action is not an action name');
  if (record.categories.length > MAX_CATEGORIES || !record.categories.every((c) => CATEGORY_NAME.test(c))) throw new Error('internal: audit categories must be category names');
}

/** The stored form of a record at position `seq`, dated `ts` (the record's own time unless the log clamps it). */
export function toEntry(seq: number, record: AuditRecord, ts = record.ts): UnhashedEntry {
  assertWritable(record);
  const detail = canonicalDetail(record.detail);
  if (detail !== null && detail.length > MAX_DETAIL_CHARS) throw new Error(`internal: audit detail is longer than ${MAX_DETAIL_CHARS} characters`);
  // Field by field (the type holds it to ENTRY_FIELDS): V8 copies a 13-field object by spread
  // through its slow path, which cost more than the rest of the audit writer together.
  return {
    seq,
    ts,
    actor: record.actor,
    role: record.role,
    purpose: record.purpose,
    action: record.action,
    subject: record.subject,
    categories: canonicalCategories(record.categories),
    outcome: record.outcome,
    reason: record.reason,
    approval: record.approval,
    consent: record.consent,
    requestId: record.requestId,
    detail,
  };
}

// ---------------------------------------------------------------------------------------------
// Derived conversions and the digest

const EMPTY = new Uint8Array(0);

/** The indices of the hashed fields, in digest order. */
const DIGESTED: readonly number[] = ENTRY_FIELDS.flatMap((f, i) => (f.kind === 'hash' ? [] : [i]));

/** The raw row of a stored entry. */
export function entryToRow(e: AuditEntry): EntryRow {
  return ENTRY_FIELDS.map((f) => {
    const v = e[f.name];
    return v instanceof Uint8Array ? toHex(v) : v;
  }) as unknown as EntryRow;
}

/** The stored entry of a raw row, or null if a hex field is malformed. */
export function rowToEntry(r: EntryRow): AuditEntry | null {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < ENTRY_FIELD_COUNT; i++) {
    const f = ENTRY_FIELDS[i] as Field;
    const v = r[i];
    if (isBytesKind(f.kind) && v !== null) {
      const bytes = hexBytes(v, 32);
      if (bytes === null) return null;
      out[f.name] = bytes;
    } else out[f.name] = v;
  }
  return out as AuditEntry;
}

/** How each hashed field enters the digest: as u64, as bytes (hex in a row), or as UTF-8 text ('' when null). */
const enum DigestAs {
  U64,
  Bytes,
  Text,
}

const DIGEST_AS: readonly DigestAs[] = DIGESTED.map((i) => {
  const kind = (ENTRY_FIELDS[i] as Field).kind;
  return kind === 'seq' || kind === 'time' ? DigestAs.U64 : isBytesKind(kind) ? DigestAs.Bytes : DigestAs.Text;
});

/**
 * The digest of an entry's fields (all but the chain's hashes, in declaration order). Absent
 * optional fields are encoded as '': none of them may be empty when present.
 */
export function entryDigest(e: UnhashedEntry): Uint8Array {
  const parts: CanonicalField[] = [];
  for (let j = 0; j < DIGESTED.length; j++) {
    const v = e[(ENTRY_FIELDS[DIGESTED[j] as number] as Field).name as keyof UnhashedEntry];
    const as = DIGEST_AS[j];
    parts.push(as === DigestAs.U64 ? u64(v as number) : v === null ? (as === DigestAs.Bytes ? EMPTY : '') : v);
  }
  return hashCanonical('audit-entry', parts);
}

/**
 * {@link entryDigest} of a raw row (the hot paths' form): the pseudonym is decoded from hex, the
 * rest taken as it is. Null when the row's pseudonym is not 32 bytes of lower-case hex.
 */
export function rowDigest(r: EntryRow): Uint8Array | null {
  const parts: CanonicalField[] = [];
  for (let j = 0; j < DIGESTED.length; j++) {
    const v = r[DIGESTED[j] as number];
    const as = DIGEST_AS[j];
    if (as === DigestAs.U64) parts.push(u64(v as number));
    else if (v === null) parts.push(as === DigestAs.Bytes ? EMPTY : '');
    else if (as === DigestAs.Bytes) {
      const bytes = hexBytes(v, 32);
      if (bytes === null) return null;
      parts.push(bytes);
    } else parts.push(v as string);
  }
  return hashCanonical('audit-entry', parts);
}

export function chainHash(prevHash: Uint8Array, digest: Uint8Array): Uint8Array {
  return hashCanonical('audit-chain', [prevHash, digest]);
}

/** The `prev_hash` of entry 1: binds the chain to its vault. */
export function genesisHash(vaultId: Uint8Array): Uint8Array {
  return hashCanonical('audit-genesis', [vaultId]);
}

/** The bytes a checkpoint signs. The interval is signed in, so it cannot be changed to hide deletions. */
export function checkpointMessage(vaultId: Uint8Array, seq: number, hash: Uint8Array, ts: number, checkpointEvery: number): Uint8Array {
  return encodeCanonical('audit-checkpoint', [vaultId, u64(seq), hash, u64(ts), checkpointEvery]);
}

/**
 * The bytes an export's header signature covers: which vault, up to which entry, when, with what
 * interval and filter (`filterJson`: the header's filter exactly as written — compact, keys in the
 * order since, until, subject, actor, action, nulls kept). A file cut at an earlier checkpoint, or
 * with an edited filter, fails it.
 */
export function exportSealMessage(vaultId: Uint8Array, head: number, exportedAt: number, checkpointEvery: number, filterJson: string): Uint8Array {
  return encodeCanonical('audit-export', [vaultId, u64(head), u64(exportedAt), checkpointEvery, filterJson]);
}
