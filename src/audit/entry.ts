/**
 * Audit entries: their fields, their canonical bytes, and the hash chain over them.
 *
 *   digest_i = BLAKE2b-256(encode("audit-entry", seq, ts, actor, role, purpose, action, subject,
 *                                 categories, outcome, reason, approval, consent, requestId, detail))
 *   hash_i   = BLAKE2b-256(encode("audit-chain", hash_{i-1}, digest_i))
 *   hash_0   = BLAKE2b-256(encode("audit-genesis", vaultId))
 *
 * Chaining the entry's digest (rather than its bytes) lets a filtered export prove the chain with
 * the 32-byte digests of the entries it leaves out, without revealing them.
 */
import { hashCanonical } from '../crypto/hash.js';
import { encodeCanonical, u64 } from '../format/canonical.js';
import { CATEGORY_NAME_PATTERN } from '../schema/categories.js';

/**
 * Every action the vault records (docs/audit.md lists them). The writer side is typed with it, so
 * a new operation must be named here before it can be audited; readers of exported files accept
 * any action name, because an export from a newer vault may hold actions this version does not know.
 */
export const AUDIT_ACTIONS = [
  'open',
  'vault.upgrade',
  'status',
  'put',
  'import',
  'get',
  'export',
  'erase',
  'protections',
  'consent.grant',
  'consent.withdraw',
  'consent.list',
  'approval.create',
  'approval.revoke',
  'approval.list',
  'key.list',
  'key.rotate',
  'key.rotate-master',
  'key.destroy',
  'retention.sweep',
  'audit.export',
  'audit.checkpoint',
  'audit.verify',
  'audit.report',
  'audit.discard-pending',
  'scan',
  'canary.plant',
  'guard.refused',
] as const;

/** An action the vault writes (see {@link AUDIT_ACTIONS}). */
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

const KNOWN_ACTIONS: ReadonlySet<string> = new Set(AUDIT_ACTIONS);

/** True when `name` is an action this version writes. */
export function isAuditAction(name: string): name is AuditAction {
  return KNOWN_ACTIONS.has(name);
}

export const AUDIT_OUTCOMES = ['allowed', 'denied', 'error'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** Small, non-sensitive facts about an operation: counts, labels, versions. */
export type AuditDetail = Readonly<Record<string, string | number | boolean>>;

/** What an operation records; the log adds seq and hashes. */
export interface AuditRecord {
  readonly ts: number;
  readonly actor: string;
  readonly role: string;
  readonly purpose: string;
  readonly action: AuditAction;
  /** The subject's pseudonym (32 bytes), or null when the operation has no (valid) subject. */
  readonly subject: Uint8Array | null;
  readonly categories: readonly string[];
  readonly outcome: AuditOutcome;
  readonly reason: string | null;
  readonly approval: string | null;
  readonly consent: string | null;
  readonly requestId: string | null;
  readonly detail: AuditDetail | null;
}

/** An entry as stored and exported: the hashed fields in their exact text form. */
export interface AuditEntry {
  readonly seq: number;
  readonly ts: number;
  readonly actor: string;
  readonly role: string;
  readonly purpose: string;
  readonly action: string;
  readonly subject: Uint8Array | null;
  /** Sorted, de-duplicated category names joined by ','; '' for none. */
  readonly categories: string;
  readonly outcome: AuditOutcome;
  readonly reason: string | null;
  readonly approval: string | null;
  readonly consent: string | null;
  readonly requestId: string | null;
  /** Canonical JSON (sorted keys, no spaces), or null. */
  readonly detail: string | null;
  readonly prevHash: Uint8Array;
  readonly hash: Uint8Array;
}

export type UnhashedEntry = Omit<AuditEntry, 'prevHash' | 'hash'>;

const EMPTY = new Uint8Array(0);

/** At most this many ids in an entry's consent field (callers put the full count in detail). */
export const MAX_LISTED_IDS = 5;

/** A bounded, comma-joined id list for an entry field, or null for none. */
export function idList(ids: readonly string[]): string | null {
  return ids.length === 0 ? null : ids.slice(0, MAX_LISTED_IDS).join(',');
}

/** The list form of a stored category text ('' is none). */
export function splitCategories(text: string): string[] {
  return text === '' ? [] : text.split(',');
}

/** The one text form of a category list. */
export function canonicalCategories(categories: readonly string[]): string {
  return [...new Set(categories)].sort().join(',');
}

/** The one text form of a detail object: JSON with sorted keys; only strings, finite numbers, booleans. */
export function canonicalDetail(detail: AuditDetail | null): string | null {
  if (detail === null) return null;
  const keys = Object.keys(detail).sort();
  if (keys.length === 0) return null;
  const parts = keys.map((k) => {
    const v = detail[k];
    if (typeof v === 'number' && !Number.isFinite(v)) throw new RangeError(`audit detail ${k} must be finite`);
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') throw new TypeError(`audit detail ${k} must be a string, number or boolean`);
    return `${JSON.stringify(k)}:${JSON.stringify(v)}`;
  });
  return `{${parts.join(',')}}`;
}

/** Longest text an entry field may hold: what the export reader accepts (docs/audit.md). */
export const MAX_FIELD_CHARS = 256;

/**
 * Refuses (as a programming error) a record the export verifier would reject: an entry is
 * append-only, so one that cannot be verified would poison every future export.
 */
function assertWritable(record: AuditRecord): void {
  const texts: [string, string | null][] = [
    ['actor', record.actor],
    ['role', record.role],
    ['purpose', record.purpose],
    ['action', record.action],
    ['reason', record.reason],
    ['approval', record.approval],
    ['consent', record.consent],
    ['requestId', record.requestId],
  ];
  for (const [field, value] of texts) {
    if (value !== null && (value.length === 0 || value.length > MAX_FIELD_CHARS)) throw new Error(`internal: audit field ${field} is empty or too long`);
  }
  for (const c of record.categories) if (!CATEGORY_NAME_PATTERN.test(c)) throw new Error('internal: audit categories must be category names');
}

/** The stored form of a record at position `seq`. */
export function toEntry(seq: number, record: AuditRecord): UnhashedEntry {
  assertWritable(record);
  return {
    seq,
    ts: record.ts,
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
    detail: canonicalDetail(record.detail),
  };
}

/**
 * The digest of an entry's fields. Optional text fields are encoded as '' when absent: none of
 * them may be empty when present (the access-context schema requires at least one character).
 */
export function entryDigest(e: UnhashedEntry): Uint8Array {
  return hashCanonical('audit-entry', [
      u64(e.seq),
      u64(e.ts),
      e.actor,
      e.role,
      e.purpose,
      e.action,
      e.subject ?? EMPTY,
      e.categories,
      e.outcome,
      e.reason ?? '',
      e.approval ?? '',
      e.consent ?? '',
      e.requestId ?? '',
      e.detail ?? '',
  ]);
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
 * interval and filter. A file cut at an earlier checkpoint, or with an edited filter, fails it.
 */
export function exportSealMessage(vaultId: Uint8Array, head: number, exportedAt: number, checkpointEvery: number, filterJson: string): Uint8Array {
  return encodeCanonical('audit-export', [vaultId, u64(head), u64(exportedAt), checkpointEvery, filterJson]);
}
