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
import { blake2b } from '../crypto/hash.js';
import { encodeCanonical, u64 } from '../format/canonical.js';

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
  readonly action: string;
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

/** The stored form of a record at position `seq`. */
export function toEntry(seq: number, record: AuditRecord): UnhashedEntry {
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
  return blake2b(
    encodeCanonical('audit-entry', [
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
    ]),
  );
}

export function chainHash(prevHash: Uint8Array, digest: Uint8Array): Uint8Array {
  return blake2b(encodeCanonical('audit-chain', [prevHash, digest]));
}

/** The `prev_hash` of entry 1: binds the chain to its vault. */
export function genesisHash(vaultId: Uint8Array): Uint8Array {
  return blake2b(encodeCanonical('audit-genesis', [vaultId]));
}

/** The bytes a checkpoint signs. */
export function checkpointMessage(vaultId: Uint8Array, seq: number, hash: Uint8Array, ts: number): Uint8Array {
  return encodeCanonical('audit-checkpoint', [vaultId, u64(seq), hash, u64(ts)]);
}
