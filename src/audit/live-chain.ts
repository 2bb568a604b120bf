/**
 * Verification of the live log: entries and checkpoints read page by page from the database and
 * fed to a ChainVerifier — and, when a MAC check is given, every entry's MAC too, so an entry
 * someone appended or rewrote without the key (re-hashing the chain after it) is reported even
 * where no checkpoint covers it yet.
 *
 * A generator that yields after each page: `vault.audit.verify` lets other work run between pages
 * (or hands ranges of a large log to worker threads, parallel-verify.ts, each running this over its
 * range); the upgrade of a format-1 vault runs it to the end inside its transaction.
 */
import { AUDIT_ENTRY_ROW, STORED_ROW, type AuditRepository, type CheckpointRow } from '../store/audit-repository.js';
import type { RowAuthenticator } from '../store/rows.js';
import { ChainVerifier, type ChainReport, type ChainStart } from './chain-verifier.js';
import { ROW } from './entry.js';
import { equalsHex } from './export-text.js';

/** Rows per page: small pages keep each one in the young generation of the garbage collector. */
const PAGE = 500;

export interface LiveChainOptions {
  readonly vaultId: Uint8Array;
  readonly genesis: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly checkpointEvery: number;
  /** Checks each entry's MAC (null: entries carry none yet, as in a vault being upgraded). */
  readonly rows: RowAuthenticator | null;
  /**
   * Where the log ends, read in one snapshot: later appends are not this run's business, but a
   * checkpoint beyond the last entry means entries were cut off.
   */
  readonly head: number;
  readonly lastCheckpoint: CheckpointRow | undefined;
  /** Verify only the entries after `start.seq` (a range of a parallel verification). */
  readonly start?: ChainStart;
  /** The chain goes on after `head` (a range before the last): the next range checks the checkpoint spacing there. */
  readonly partial?: boolean;
}

/** Yields the seq reached after each page; returns the report. Stops at the first problem. */
export function* verifyLiveChain(repo: AuditRepository, options: LiveChainOptions): Generator<{ done: number; total: number }, ChainReport> {
  const { head, lastCheckpoint: last, start } = options;
  const from = start?.seq ?? 0;
  const verifier = new ChainVerifier(options.vaultId, options.genesis, options.publicKey, options.checkpointEvery, start);
  // From the genesis checkpoint (seq 0) for the whole log; after the start's for a range.
  let checkpoints = repo.checkpointPage(start === undefined ? -1 : from, head, PAGE);
  let nextCheckpoint = 0;
  /** Feeds the checkpoints up to `seq` (each right after the entry it covers). */
  const checkpointsUpTo = (seq: number): void => {
    for (let cp = checkpoints[nextCheckpoint]; cp !== undefined && cp.seq <= seq; cp = checkpoints[nextCheckpoint]) {
      verifier.checkpoint(cp);
      nextCheckpoint++;
      if (nextCheckpoint === checkpoints.length) {
        checkpoints = repo.checkpointPage(cp.seq, head, PAGE);
        nextCheckpoint = 0;
      }
    }
  };
  const rows = options.rows;
  checkpointsUpTo(from);
  for (let after = from; after < head && !verifier.failed; ) {
    const page = repo.verifyRows(after, head, PAGE);
    if (page.length === 0) break;
    for (const row of page) {
      const hash = verifier.entryRow(row);
      if (hash === null) break;
      const seq = row[ROW.seq];
      if (rows !== null && !equalsHex(rows.mac(AUDIT_ENTRY_ROW, { seq, hash }), row[STORED_ROW.mac])) {
        verifier.fail({ seq, message: `entry ${seq} is not authenticated by this vault (its MAC does not match): it was written or rewritten by someone without the master key` });
        break;
      }
      checkpointsUpTo(seq);
    }
    after = page[page.length - 1]?.[ROW.seq] ?? head;
    yield { done: after - from, total: head - from };
  }
  // A checkpoint past the entries that remain: the tail was cut (the verifier reports it).
  if (last !== undefined && last.seq > head) verifier.checkpoint(last);
  return verifier.finish({ partial: options.partial === true });
}

/** Runs `verifyLiveChain` over the whole log without yielding (inside a transaction). */
export function verifyLiveChainNow(repo: AuditRepository, options: Omit<LiveChainOptions, 'head' | 'lastCheckpoint' | 'start'>): ChainReport {
  const run = verifyLiveChain(repo, { ...options, head: repo.head()?.seq ?? 0, lastCheckpoint: repo.lastCheckpoint() });
  for (let step = run.next(); ; step = run.next()) if (step.done === true) return step.value;
}
