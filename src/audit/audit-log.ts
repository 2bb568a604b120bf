/**
 * The writer side of the audit log. Every method runs inside the caller's write transaction, so an
 * entry commits with its operation or not at all, and concurrent writers (other processes) append
 * one after another: the IMMEDIATE lock is held from reading the head to inserting the entry.
 */
import { open, seal } from '../crypto/aead.js';
import { blake2bKeyed } from '../crypto/hash.js';
import { randomBytes } from '../crypto/random.js';
import { SecretBytes } from '../crypto/secret-bytes.js';
import { sign, type SigningKey } from '../crypto/signing.js';
import { encodeCanonical } from '../format/canonical.js';
import { toHex } from '../format/ids.js';
import type { AuditRepository, CheckpointRow } from '../store/audit-repository.js';
import { chainHash, checkpointMessage, entryDigest, genesisHash, toEntry, type AuditEntry, type AuditRecord } from './entry.js';

/** Names of the vault keys the audit log uses (wrapped by the master key, in vault_keys). */
export const AUDIT_PSEUDONYM_KEY = 'audit-pseudonym';
export const AUDIT_SIGNING_KEY = 'audit-signing';
export const DEFAULT_CHECKPOINT_EVERY = 1000;

function subjectKeyAad(vaultId: Uint8Array, subjectTag: Uint8Array): Uint8Array {
  return encodeCanonical('audit-subject-key', [vaultId, subjectTag]);
}

/**
 * Appends `record` after the current head. Inside a write transaction. Used directly only where
 * no keys are available (recording a wrong-key open); otherwise through `AuditLog.append`.
 */
export function appendEntry(repo: AuditRepository, genesis: Uint8Array, record: AuditRecord): AuditEntry {
  const head = repo.head();
  const unhashed = toEntry((head?.seq ?? 0) + 1, record);
  const prevHash = head?.hash ?? genesis;
  const entry: AuditEntry = { ...unhashed, prevHash, hash: chainHash(prevHash, entryDigest(unhashed)) };
  repo.insert(entry);
  return entry;
}

export interface AuditLogOptions {
  readonly repo: AuditRepository;
  readonly vaultId: Uint8Array;
  /** Seals the per-subject pseudonym keys. */
  readonly pseudonymKey: SecretBytes;
  readonly signingKey: SigningKey;
  /** A checkpoint is signed after every this many entries (and on demand, and at every export). */
  readonly checkpointEvery: number;
}

export class AuditLog {
  readonly #repo: AuditRepository;
  readonly #vaultId: Uint8Array;
  readonly #pseudonymKey: SecretBytes;
  readonly #signingKey: SigningKey;
  readonly #checkpointEvery: number;
  readonly #genesis: Uint8Array;
  /** Sealed subject key (hex) → pseudonym: a memo that needs no invalidation (a new key seals differently). */
  readonly #pseudonyms = new Map<string, Uint8Array>();

  constructor(options: AuditLogOptions) {
    this.#repo = options.repo;
    this.#vaultId = options.vaultId;
    this.#pseudonymKey = options.pseudonymKey;
    this.#signingKey = options.signingKey;
    this.#checkpointEvery = options.checkpointEvery;
    this.#genesis = genesisHash(options.vaultId);
  }

  get publicKey(): Uint8Array {
    return this.#signingKey.publicKey;
  }

  get genesis(): Uint8Array {
    return this.#genesis;
  }

  /**
   * The subject's pseudonym: BLAKE2b-256 keyed with a random per-subject key. With `create`, a
   * subject seen for the first time gets a key; without, an unknown (or erased) subject has none.
   */
  pseudonym(subjectTag: Uint8Array, create: boolean): Uint8Array | null {
    let sealed = this.#repo.subjectKey(subjectTag);
    if (sealed === undefined) {
      if (!create) return null;
      const key = randomBytes(32);
      try {
        sealed = seal(this.#pseudonymKey, key, subjectKeyAad(this.#vaultId, subjectTag));
      } finally {
        key.fill(0);
      }
      this.#repo.insertSubjectKey(subjectTag, sealed);
    }
    const memoKey = toHex(sealed);
    let pseudonym = this.#pseudonyms.get(memoKey);
    if (pseudonym === undefined) {
      const key = new SecretBytes(open(this.#pseudonymKey, sealed, subjectKeyAad(this.#vaultId, subjectTag), 'audit subject key'));
      try {
        pseudonym = blake2bKeyed(key, encodeCanonical('audit-pseudonym', [subjectTag]));
      } finally {
        key.wipe();
      }
      if (this.#pseudonyms.size >= 4096) this.#pseudonyms.clear();
      this.#pseudonyms.set(memoKey, pseudonym);
    }
    return pseudonym;
  }

  /** Destroys the subject's pseudonym key: its past entries stay, unlinkable to the subject. */
  forgetSubject(subjectTag: Uint8Array): void {
    const sealed = this.#repo.subjectKey(subjectTag);
    if (sealed !== undefined) this.#pseudonyms.delete(toHex(sealed));
    this.#repo.deleteSubjectKey(subjectTag);
  }

  /** Appends one entry after the current head; signs a checkpoint every `checkpointEvery` entries. */
  append(record: AuditRecord): AuditEntry {
    const entry = appendEntry(this.#repo, this.#genesis, record);
    if (entry.seq % this.#checkpointEvery === 0) this.#signCheckpoint(entry.seq, entry.hash, record.ts);
    return entry;
  }

  /** Signs a checkpoint at the current head unless one exists there; returns the head's checkpoint. */
  checkpoint(ts: number): CheckpointRow | undefined {
    const head = this.#repo.head();
    if (head === undefined) return undefined;
    return this.#repo.checkpoint(head.seq) ?? this.#signCheckpoint(head.seq, head.hash, ts);
  }

  #signCheckpoint(seq: number, hash: Uint8Array, ts: number): CheckpointRow {
    const row = { seq, ts, hash, signature: sign(this.#signingKey, checkpointMessage(this.#vaultId, seq, hash, ts)) };
    this.#repo.insertCheckpoint(row);
    return row;
  }

  wipe(): void {
    this.#signingKey.secretKey.wipe();
    this.#pseudonymKey.wipe();
    this.#pseudonyms.clear();
  }
}
