/**
 * The writer side of the audit log. Every method runs inside the caller's write transaction, so an
 * entry commits with its operation or not at all, and concurrent writers (other processes) append
 * one after another: the IMMEDIATE lock is held from reading the head to inserting the entry.
 */
import { open, seal } from '../crypto/aead.js';
import { equalBytes, hashCanonical } from '../crypto/hash.js';
import { randomBytes } from '../crypto/random.js';
import { SecretBytes } from '../crypto/secret-bytes.js';
import { sign, verifySignature, type SigningKey } from '../crypto/signing.js';
import { VaultError } from '../errors.js';
import { encodeCanonical } from '../format/canonical.js';
import { toHex } from '../format/ids.js';
import { AUDIT_ANCHOR_ROW, AUDIT_ENTRY_ROW, STORED_ROW, type AuditRepository, type CheckpointRow, type HeadRow } from '../store/audit-repository.js';
import type { RowAuthenticator } from '../store/rows.js';
import { chainHash, checkpointMessage, entryDigest, genesisHash, ROW, rowDigest, toEntry, type AuditEntry, type AuditRecord } from './entry.js';
import { equalsHex } from './export-text.js';

/** Names of the vault keys the audit log uses (wrapped by the master key, in vault_keys). */
export const AUDIT_PSEUDONYM_KEY = 'audit-pseudonym';
export const AUDIT_SIGNING_KEY = 'audit-signing';
export const DEFAULT_CHECKPOINT_EVERY = 1000;
/**
 * A checkpoint is also signed when an entry comes this long after the last one (and at close), so
 * that a quiet vault's tail is not left unsigned for long: entries after the last checkpoint can be
 * removed without a trace (docs/audit.md).
 */
export const CHECKPOINT_AFTER_MS = 60_000;

function subjectKeyAad(vaultId: Uint8Array, subjectTag: Uint8Array): Uint8Array {
  return encodeCanonical('audit-subject-key', [vaultId, subjectTag]);
}

/**
 * Appends `record` after the current head, inside a write transaction. The head must be the
 * vault's own (its MAC checks), so nothing is ever chained onto an entry someone else wrote; and
 * audit time never goes backwards: an entry is never dated before the one it follows (a clock
 * stepped back, or another machine's, records the head's time).
 */
export function appendEntry(repo: AuditRepository, genesis: Uint8Array, rows: RowAuthenticator, record: AuditRecord, appended?: HeadRow): { entry: AuditEntry; head: HeadRow } {
  const head = repo.head();
  // The entry this process appended last needs no second check; anything else is checked.
  const known = head !== undefined && appended !== undefined && head.seq === appended.seq && head.mac !== null && equalBytes(head.mac, appended.mac ?? EMPTY) && equalBytes(head.hash, appended.hash);
  if (head !== undefined && !known) rows.check(AUDIT_ENTRY_ROW, head, head.mac, `seq ${head.seq}`);
  const ts = head === undefined || record.ts >= head.ts ? record.ts : head.ts;
  const unhashed = toEntry((head?.seq ?? 0) + 1, record, ts);
  const prevHash = head?.hash ?? genesis;
  // Completes the fresh object rather than copying it (a spread of 14 fields is V8's slow path).
  const entry: AuditEntry = Object.assign(unhashed, { prevHash, hash: chainHash(prevHash, entryDigest(unhashed)) });
  const mac = rows.mac(AUDIT_ENTRY_ROW, entry);
  repo.insert(entry, mac);
  return { entry, head: { seq: entry.seq, ts: entry.ts, hash: entry.hash, mac } };
}

const EMPTY = new Uint8Array(0);

export interface AuditLogOptions {
  readonly repo: AuditRepository;
  /** Makes and checks each entry's MAC (the vault's integrity key). */
  readonly rows: RowAuthenticator;
  readonly vaultId: Uint8Array;
  /** Seals the per-subject pseudonym keys. */
  readonly pseudonymKey: SecretBytes;
  readonly signingKey: SigningKey;
  /** A checkpoint is signed at least every this many entries (and on demand, and at every export). */
  readonly checkpointEvery: number;
}

export class AuditLog {
  readonly #repo: AuditRepository;
  readonly #rows: RowAuthenticator;
  readonly #vaultId: Uint8Array;
  readonly #pseudonymKey: SecretBytes;
  readonly #signingKey: SigningKey;
  readonly #checkpointEvery: number;
  readonly #genesis: Uint8Array;
  /** Sealed subject key (hex) → pseudonym: a memo that needs no invalidation (a new key seals differently). */
  readonly #pseudonyms = new Map<string, Uint8Array>();
  /** The last checkpoint this process knows of (a later one may exist: see append). */
  #last: CheckpointRow | undefined;
  /** The entry this process appended last (its MAC need not be checked when it is still the head). */
  #appended: HeadRow | undefined;

  constructor(options: AuditLogOptions) {
    this.#repo = options.repo;
    this.#rows = options.rows;
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

  get checkpointEvery(): number {
    return this.#checkpointEvery;
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
        pseudonym = hashCanonical('audit-pseudonym', [subjectTag], key);
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

  /**
   * Appends one entry after the current head. The log starts with a signed genesis checkpoint
   * (seq 0), and a checkpoint is signed whenever `checkpointEvery` entries, or CHECKPOINT_AFTER_MS,
   * have passed since the last.
   */
  append(record: AuditRecord): AuditEntry {
    // The last checkpoint is remembered; another process may have signed a later one, so it is
    // re-read (inside this transaction) before deciding that one is due.
    const remembered = this.#last;
    this.#last = remembered ?? this.#lastCheckpoint(record.ts);
    const { entry, head } = appendEntry(this.#repo, this.#genesis, this.#rows, record, this.#appended);
    this.#appended = head;
    const due = (last: CheckpointRow): boolean => entry.seq - last.seq >= this.#checkpointEvery || entry.ts - last.ts >= CHECKPOINT_AFTER_MS;
    if (due(this.#last)) {
      // Read in this transaction already when nothing was remembered: no second read.
      const last = remembered === undefined ? this.#last : this.#lastCheckpoint(record.ts);
      this.#last = due(last) ? this.#signCheckpoint(last, entry.seq, entry.hash, entry.ts) : last;
    }
    return entry;
  }

  /** Signs a checkpoint at the current head unless one exists there; returns the head's checkpoint. */
  checkpoint(ts: number): CheckpointRow | undefined {
    const head = this.#repo.head();
    if (head === undefined) return undefined;
    const last = this.#lastCheckpoint(ts);
    this.#last = last.seq === head.seq ? last : this.#signCheckpoint(last, head.seq, head.hash, ts);
    return this.#last;
  }

  /** Forgets the remembered checkpoint and entry (after a rolled-back transaction that may have written them). */
  forgetCheckpoint(): void {
    this.#last = undefined;
    this.#appended = undefined;
  }

  /**
   * The last checkpoint, which must be genuine (its signature checks) and be the one the anchor
   * names — the last the vault signed: deleting the log, or its tail back to an earlier checkpoint,
   * or planting a checkpoint ahead, stops every write with INTEGRITY. An empty log whose anchor is
   * still the genesis gets its genesis checkpoint signed.
   */
  #lastCheckpoint(ts: number): CheckpointRow {
    const anchor = this.anchor();
    const last = this.#repo.lastCheckpoint();
    if (last === undefined) {
      if (anchor.seq !== 0) {
        throw new VaultError('INTEGRITY', `the audit log's checkpoints were deleted: the vault signed one at seq ${anchor.seq}; nothing more is signed until it is investigated (run \`childvault audit verify\`)`, { field: 'audit_checkpoints' });
      }
      return this.#signGenesis(ts);
    }
    if (!verifySignature(this.#signingKey.publicKey, checkpointMessage(this.#vaultId, last.seq, last.hash, last.ts, this.#checkpointEvery), last.signature)) {
      throw new VaultError('INTEGRITY', `audit_checkpoints row seq ${last.seq} has an invalid signature: it was written by someone without the vault's key; nothing more is signed until it is investigated`, { field: `audit_checkpoints:seq ${last.seq}` });
    }
    if (last.seq !== anchor.seq || !equalBytes(last.hash, anchor.hash)) {
      throw new VaultError(
        'INTEGRITY',
        last.seq < anchor.seq
          ? `the audit log was cut back: its last checkpoint is at seq ${last.seq}, but the vault signed one at seq ${anchor.seq}; nothing more is signed until it is investigated`
          : `the audit log's last checkpoint (seq ${last.seq}) is not the last one the vault signed (seq ${anchor.seq}); nothing more is signed until it is investigated`,
        { field: 'audit_anchor' },
      );
    }
    return last;
  }

  /** The last checkpoint the vault signed, authenticated (present from the vault's creation on). */
  anchor(): { readonly seq: number; readonly hash: Uint8Array } {
    const row = this.#repo.anchor();
    if (row === undefined) throw new VaultError('INTEGRITY', "audit_anchor row 1 is missing: it was deleted by someone without the vault's master key", { field: 'audit_anchor:1' });
    return this.#rows.check(AUDIT_ANCHOR_ROW, row, row.mac, '1');
  }

  /** Signs arbitrary audit bytes with the checkpoint key (an export's header seal). */
  sign(message: Uint8Array): Uint8Array {
    return sign(this.#signingKey, message);
  }

  /** Only for an empty log whose anchor is the genesis: entries without any checkpoint mean the checkpoints were deleted. */
  #signGenesis(ts: number): CheckpointRow {
    if (this.#repo.head() !== undefined) {
      throw new VaultError('INTEGRITY', 'the audit log has entries but no checkpoint: its checkpoints were deleted; nothing more is signed until it is investigated (run `childvault audit verify`)', { field: 'audit_checkpoints' });
    }
    return this.#insertCheckpoint(0, this.#genesis, ts);
  }

  /**
   * Signs the chain at `seq` — after checking that the last checkpoint is genuine and that the
   * entries since it still link, hash correctly and carry the vault's MAC: the vault never signs a
   * chain someone edited, nor an entry someone else wrote.
   */
  #signCheckpoint(last: CheckpointRow, seq: number, hash: Uint8Array, ts: number): CheckpointRow {
    this.#verifySince(last, seq);
    return this.#insertCheckpoint(seq, hash, ts);
  }

  #insertCheckpoint(seq: number, hash: Uint8Array, ts: number): CheckpointRow {
    const row = { seq, ts, hash, signature: sign(this.#signingKey, checkpointMessage(this.#vaultId, seq, hash, ts, this.#checkpointEvery)) };
    this.#repo.insertCheckpoint(row);
    const anchor = { seq, hash };
    this.#repo.putAnchor(anchor, this.#rows);
    return row;
  }

  #verifySince(last: CheckpointRow, seq: number): void {
    const broken = (): never => {
      throw new VaultError('INTEGRITY', `the audit log was modified after its checkpoint at seq ${last.seq}; nothing more is signed until it is investigated (run \`childvault audit verify\`)`, { field: 'audit_log' });
    };
    const forged = (at: number): never => {
      throw new VaultError('INTEGRITY', `audit_log row seq ${at} failed authentication: it was written by someone without the vault's master key; nothing more is signed until it is investigated (run \`childvault audit verify\`)`, { field: `audit_log:seq ${at}` });
    };
    // `last` comes from #lastCheckpoint: its signature and anchor were checked there.
    const atLast = last.seq === 0 ? this.#genesis : this.#repo.entry(last.seq)?.hash;
    if (atLast === undefined || !equalBytes(atLast, last.hash)) broken();
    // The entries since: read as hex rows and compared as hex (the fast path of live verification).
    let prev = atLast as Uint8Array;
    for (let after = last.seq; after < seq; ) {
      const page = this.#repo.verifyRows(after, seq, 500);
      if (page.length === 0) broken();
      for (const r of page) {
        const seq = r[ROW.seq];
        const digest = rowDigest(r);
        if (digest === null) return broken();
        const hash = chainHash(prev, digest);
        if (seq !== after + 1 || !equalsHex(prev, r[ROW.prevHash]) || !equalsHex(hash, r[ROW.hash])) broken();
        if (!equalsHex(this.#rows.mac(AUDIT_ENTRY_ROW, { seq, hash }), r[STORED_ROW.mac])) forged(seq);
        prev = hash;
        after = seq;
      }
    }
  }

  wipe(): void {
    this.#signingKey.secretKey.wipe();
    this.#pseudonymKey.wipe();
    this.#pseudonyms.clear();
  }
}
