/**
 * Verifies an audit chain fed in seq order — from the live database or from an export file —
 * and reports the first bad seq and what is wrong with it.
 *
 * Checks: every entry's hash is BLAKE2b(prev ‖ digest(entry)); prev_hash links to the previous
 * entry (or the genesis for seq 1); seqs are gapless from 1 (entries a filtered export leaves
 * out arrive as `elided` digests); every checkpoint's Ed25519 signature (which covers the
 * checkpoint interval) is valid for the vault's public key and its hash is the chain's hash at its
 * seq; the genesis checkpoint (seq 0) exists and no two checkpoints are more than the interval
 * apart, nor the last one that far from the end — so deleting checkpoints to re-hash a forged chain
 * is caught; the chain reaches the last checkpoint (a tail cut before it is caught) and, for
 * exports, the head the export announced.
 *
 * A filtered export (format 2) leaves stretches out: `resume` takes the chain's hash before an
 * entry as the export claims it, and a checkpoint may restart the chain at its signed hash. Either
 * way, what follows is proved only by the next signed checkpoint the chain reaches.
 */
import { equalBytes } from '../crypto/hash.js';
import { verifySignature } from '../crypto/signing.js';
import { toHex } from '../format/ids.js';
import { chainHash, checkpointMessage, entryToRow, ROW, rowDigest, type AuditEntry, type EntryRow } from './entry.js';
import { equalsHex } from './export-text.js';

export interface ChainProblem {
  /** The first seq where the chain is wrong (null when the problem has no seq, e.g. an empty export). */
  readonly seq: number | null;
  readonly message: string;
}

export interface ChainReport {
  readonly ok: boolean;
  /** Entries checked in full. */
  readonly entries: number;
  /** Entries known only by digest (left out of a filtered export). */
  readonly elided: number;
  readonly checkpoints: number;
  /** The last seq and hash reached. */
  readonly head: { readonly seq: number; readonly hash: string } | null;
  readonly lastCheckpoint: { readonly seq: number; readonly ts: number } | null;
  readonly problem: ChainProblem | null;
}

export interface CheckpointInput {
  readonly seq: number;
  readonly ts: number;
  readonly hash: Uint8Array;
  readonly signature: Uint8Array;
}

/** Where a verification of part of a chain starts (src/audit/parallel-verify.ts). */
export interface ChainStart {
  /** The seq of the entry before the first one fed. */
  readonly seq: number;
  /** That entry's hash, as the first entry fed claims it (the caller checks it against the entry). */
  readonly hash: Uint8Array;
  /** The last checkpoint at or before `seq` (its signature is checked where it is fed). */
  readonly lastCheckpoint: CheckpointInput | null;
}

/** Entry `seq` does not link to the one before it. */
export function linkProblem(seq: number): ChainProblem {
  return { seq, message: `entry ${seq} does not link to entry ${seq - 1} (prev_hash differs): an entry before it was changed, removed or reordered` };
}

/** Entry `seq` arrived where `expected` belongs. */
export function gapProblem(seq: number, expected: number): ChainProblem {
  const missing = seq - 1 > expected ? `entries ${expected}-${seq - 1} were` : `entry ${expected} was`;
  return { seq: expected, message: `entry ${seq} arrives where ${expected} belongs: ${missing} removed or reordered` };
}

/** Thrown internally to stop at the first problem. */
class ChainBroken extends Error {
  constructor(readonly problem: ChainProblem) {
    super(problem.message);
  }
}

export class ChainVerifier {
  readonly #vaultId: Uint8Array;
  readonly #publicKey: Uint8Array;
  #seq = 0;
  #hash: Uint8Array;
  #entries = 0;
  #elided = 0;
  #checkpoints = 0;
  /** Entries passed over by `resume` or a restarting checkpoint (neither shown nor digests). */
  #omitted = 0;
  /** Where the chain was last proved or taken up (a checkpoint, or a `resume`): the next checkpoint must be within the interval. */
  #segmentStart = 0;
  #lastCheckpoint: CheckpointInput | null = null;
  #problem: ChainProblem | null = null;
  /** `#hash` as the hex text a row held for it, when known (null after an elided digest). */
  #hashHex: string | null = null;
  readonly #every: number;

  /**
   * `checkpointEvery`: the vault's checkpoint interval (from its settings, or an export's signed
   * header). `start`: verify from the middle of the chain (a range of a parallel verification).
   */
  constructor(vaultId: Uint8Array, genesis: Uint8Array, publicKey: Uint8Array, checkpointEvery: number, start?: ChainStart) {
    this.#vaultId = vaultId;
    this.#publicKey = publicKey;
    this.#hash = start?.hash ?? genesis;
    this.#seq = start?.seq ?? 0;
    this.#lastCheckpoint = start?.lastCheckpoint ?? null;
    this.#segmentStart = this.#lastCheckpoint?.seq ?? 0;
    this.#every = checkpointEvery;
  }

  get failed(): boolean {
    return this.#problem !== null;
  }

  /** The seq the chain has reached. */
  get seq(): number {
    return this.#seq;
  }

  /** Entries passed over (by `resume` or a restarting checkpoint) so far. */
  get omitted(): number {
    return this.#omitted;
  }

  /**
   * Takes up the chain at `seq` with `hash`, the chain's hash there as a filtered export claims it
   * (its `chain` record), passing over the entries since the last checkpoint. Nothing proves the
   * claim until the next checkpoint: the entries fed after it must hash up to that checkpoint's
   * signed hash, which a wrong `hash` (or a wrong `seq`, inside every digest) cannot reach.
   */
  resume(seq: number, hash: Uint8Array): void {
    this.#guard(() => {
      if (this.#lastCheckpoint === null) throw new ChainBroken({ seq: 0, message: 'the genesis checkpoint (seq 0) is missing: checkpoints were deleted' });
      if (seq <= this.#seq) throw new ChainBroken({ seq, message: `the chain record at seq ${seq} does not pass over any entry (the chain is at ${this.#seq}): the file was edited` });
      this.#omitted += seq - this.#seq;
      this.#seq = seq;
      this.#hash = hash;
      this.#hashHex = null;
      this.#segmentStart = seq;
    });
  }

  /** Feeds the next full entry (with the prev_hash and hash it claims). */
  entry(e: AuditEntry): void {
    this.entryRow(entryToRow(e));
  }

  /**
   * `entry`, for a raw row (bytes as hex: AuditRepository.pageRows/verifyRows, or an export record
   * read by export-scan.ts): the fast path of live and offline verification — hashes are compared
   * with their hex without decoding it, only the pseudonym is decoded. Returns the entry's hash, or
   * null once the chain has failed (then or before).
   */
  entryRow(r: EntryRow): Uint8Array | null {
    let hash: Uint8Array | null = null;
    this.#guard(() => {
      const seq = r[ROW.seq];
      this.#expectNext(seq);
      // The previous row's hash text, once verified, is the hex of #hash: the next prev_hash is
      // then one string comparison.
      const prevHash = r[ROW.prevHash];
      if (prevHash !== this.#hashHex && !equalsHex(this.#hash, prevHash)) throw new ChainBroken(linkProblem(seq));
      const digest = rowDigest(r);
      if (digest === null) throw new ChainBroken({ seq, message: `entry ${seq} has a malformed subject pseudonym` });
      const computed = chainHash(this.#hash, digest);
      const hashHex = r[ROW.hash];
      if (!equalsHex(computed, hashHex)) throw new ChainBroken({ seq, message: `entry ${seq} was modified: its fields do not hash to its recorded hash` });
      this.#advance(seq, computed);
      this.#hashHex = hashHex;
      this.#entries++;
      hash = computed;
    });
    return hash;
  }

  /** Feeds the digest of an entry left out of a filtered export. */
  elided(seq: number, digest: Uint8Array): void {
    this.#guard(() => {
      this.#expectNext(seq);
      this.#advance(seq, chainHash(this.#hash, digest));
      this.#elided++;
    });
  }

  /**
   * Feeds a checkpoint; it must come after the entry it covers. `restart` (a filtered export,
   * format 2): the checkpoint may lie ahead of the chain, which it then takes up at its signed
   * hash, passing over the entries between.
   */
  checkpoint(c: CheckpointInput, options: { readonly restart?: boolean } = {}): void {
    this.#guard(() => {
      if (!verifySignature(this.#publicKey, checkpointMessage(this.#vaultId, c.seq, c.hash, c.ts, this.#every), c.signature)) {
        throw new ChainBroken({ seq: c.seq, message: `checkpoint at seq ${c.seq} has an invalid signature: forged or modified (or signed by another vault's key, or for another interval)` });
      }
      const previous = this.#lastCheckpoint?.seq ?? null;
      if (previous === null && c.seq !== 0) {
        throw new ChainBroken({ seq: 0, message: 'the genesis checkpoint (seq 0) is missing: checkpoints were deleted' });
      }
      if (options.restart === true && previous !== null && c.seq > this.#seq) {
        // Signed: its hash is the chain's at its seq, whatever came before.
        this.#omitted += c.seq - this.#seq;
        this.#advance(c.seq, c.hash);
        this.#segmentStart = c.seq;
      }
      const start = this.#segmentStart;
      if (previous !== null && c.seq - start > this.#every) {
        throw new ChainBroken({ seq: start + this.#every, message: `no checkpoint between seq ${start} and ${c.seq}, though one is signed every ${this.#every} entries: checkpoints were deleted` });
      }
      if (c.seq > this.#seq) {
        throw new ChainBroken({ seq: this.#seq + 1, message: `the log ends at seq ${this.#seq} but a signed checkpoint covers seq ${c.seq}: entries after ${this.#seq} were removed` });
      }
      if (c.seq !== this.#seq) {
        throw new ChainBroken({ seq: c.seq, message: `checkpoint at seq ${c.seq} is out of order (the chain is at ${this.#seq})` });
      }
      if (!equalBytes(c.hash, this.#hash)) {
        throw new ChainBroken({ seq: c.seq, message: `the chain at seq ${c.seq} differs from its signed checkpoint: entries up to ${c.seq} were changed and re-hashed` });
      }
      if (previous !== null && c.seq <= previous) {
        throw new ChainBroken({ seq: c.seq, message: `checkpoint at seq ${c.seq} repeats or precedes the one at ${previous}` });
      }
      this.#lastCheckpoint = c;
      this.#segmentStart = c.seq;
      this.#checkpoints++;
    });
  }

  /** Reports a problem found outside the chain (a malformed line, a wrong header). */
  fail(problem: ChainProblem): void {
    this.#problem ??= problem;
  }

  /**
   * Ends verification. `expectedHead`: the seq the source says it ends at (an export's header).
   * `requireFinalCheckpoint`: the last entry must be covered by a checkpoint (exports end with one).
   * `partial`: the chain goes on after what was fed (a range of a parallel verification), so a
   * missing checkpoint after the last one is the next range's to find.
   */
  finish(options: { expectedHead?: number; requireFinalCheckpoint?: boolean; partial?: boolean } = {}): ChainReport {
    this.#guard(() => {
      if (options.expectedHead !== undefined && this.#seq !== options.expectedHead) {
        throw new ChainBroken({
          seq: Math.min(this.#seq, options.expectedHead) + 1,
          message: `the export announces ${options.expectedHead} entries but holds ${this.#seq}: it was truncated or extended`,
        });
      }
      const last = this.#lastCheckpoint?.seq ?? null;
      if (last === null) throw new ChainBroken({ seq: 0, message: 'the genesis checkpoint (seq 0) is missing: checkpoints were deleted' });
      if (options.requireFinalCheckpoint === true && last !== this.#seq) {
        throw new ChainBroken({ seq: this.#seq, message: 'the export does not end with a signed checkpoint over its last entry: it was truncated' });
      }
      if (options.partial !== true && this.#seq - last >= this.#every) {
        throw new ChainBroken({ seq: last + this.#every, message: `no checkpoint after seq ${last}, though one is signed every ${this.#every} entries: checkpoints were deleted` });
      }
    });
    return {
      ok: this.#problem === null,
      entries: this.#entries,
      elided: this.#elided,
      checkpoints: this.#checkpoints,
      head: this.#seq === 0 ? null : { seq: this.#seq, hash: toHex(this.#hash) },
      lastCheckpoint: this.#lastCheckpoint === null ? null : { seq: this.#lastCheckpoint.seq, ts: this.#lastCheckpoint.ts },
      problem: this.#problem,
    };
  }

  #expectNext(seq: number): void {
    if (seq === this.#seq + 1) return;
    if (seq <= this.#seq) throw new ChainBroken({ seq, message: `entry ${seq} appears after entry ${this.#seq}: entries were reordered or duplicated` });
    throw new ChainBroken(gapProblem(seq, this.#seq + 1));
  }

  #advance(seq: number, hash: Uint8Array): void {
    this.#seq = seq;
    this.#hash = hash;
    this.#hashHex = null;
  }

  #guard(fn: () => void): void {
    if (this.#problem !== null) return;
    try {
      fn();
    } catch (error) {
      if (!(error instanceof ChainBroken)) throw error;
      this.#problem = error.problem;
    }
  }
}
