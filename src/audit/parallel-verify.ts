/**
 * Live verification of a large log in worker threads: the log is cut into one range per core,
 * each verified by a worker (verify-worker.ts) over its own connection, and the ranges stitched
 * back together here — each must start exactly after the previous one ended, with the hash that
 * one ended on — so the verdict, and the first bad seq, are those a single pass would give. One
 * core reads SQLite rows at about the speed a single pass verifies them (hashes and MACs included);
 * the workers read in parallel. The main thread only waits, so the service's event loop stays free.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { SecretBytes } from '../crypto/secret-bytes.js';
import type { CheckpointRow } from '../store/audit-repository.js';
import { VaultError } from '../errors.js';
import { gapProblem, linkProblem, type ChainProblem, type ChainReport } from './chain-verifier.js';

/** Below this many entries one pass is quick (well under a second) and workers are not worth starting. */
export const PARALLEL_MIN_ENTRIES = 100_000;
const WORKER_FILE = new URL('./verify-worker.js', import.meta.url);

/** What a worker verifies. */
export interface RangeJob {
  readonly path: string;
  readonly vaultId: Uint8Array;
  readonly genesis: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly checkpointEvery: number;
  /** The integrity key, transferred to the worker (which wipes it). */
  readonly key: Uint8Array;
  /** Entries after `from`, up to and including `to`. */
  readonly from: number;
  readonly to: number;
  /** The last range: it checks that the chain reaches the last checkpoint (`tailCheckpoint`, if beyond `to`). */
  readonly last: boolean;
  readonly tailCheckpoint: CheckpointRow | null;
}

export type RangeMessage =
  | { readonly type: 'progress'; readonly done: number }
  /** `firstSeq` and `startHex`: the range's first entry and the hash it claims to follow (null for an empty range). */
  | { readonly type: 'done'; readonly report: ChainReport; readonly firstSeq: number | null; readonly startHex: string | null };

export interface ParallelVerifyInput {
  readonly path: string;
  readonly vaultId: Uint8Array;
  readonly genesis: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly checkpointEvery: number;
  readonly integrityKey: SecretBytes;
  readonly head: number;
  readonly lastCheckpoint: CheckpointRow | undefined;
  readonly onProgress?: ((done: number, total: number) => void) | undefined;
}

/**
 * True when workers can run: the compiled worker file is there (it is not when the library runs
 * from its TypeScript sources, as in its own unit tests) and the machine has more than one core.
 */
export function canVerifyInParallel(head: number): boolean {
  return head >= PARALLEL_MIN_ENTRIES && availableParallelism() > 1 && existsSync(fileURLToPath(WORKER_FILE));
}

type RangeResult = Extract<RangeMessage, { type: 'done' }>;

/** Starts a worker on `job` (the key moves to it, or is wiped if it cannot start). */
function startRange(job: RangeJob, onProgress: (done: number) => void): { readonly worker: Worker; readonly result: Promise<RangeResult> } {
  let worker: Worker;
  try {
    worker = new Worker(WORKER_FILE, { workerData: job, transferList: [job.key.buffer as ArrayBuffer] });
  } catch (error) {
    job.key.fill(0);
    throw error;
  }
  const result = new Promise<RangeResult>((resolve, reject) => {
    let report: RangeResult | undefined;
    worker.on('message', (message: RangeMessage) => {
      if (message.type === 'progress') onProgress(message.done);
      else report = message;
    });
    worker.on('error', reject);
    worker.on('exit', (code) => {
      if (report !== undefined) resolve(report);
      else reject(new Error(`exited with code ${code} before reporting`));
    });
  });
  return { worker, result };
}

/** Verifies the whole live log in `verifyWorkers()` ranges; the report of one pass. */
/** How many ranges (worker threads) a large log is verified in: one per core, at most 8. */
export function verifyWorkers(): number {
  return Math.min(8, availableParallelism());
}

export async function verifyInParallel(input: ParallelVerifyInput): Promise<ChainReport> {
  const workers = verifyWorkers();
  const bounds = Array.from({ length: workers + 1 }, (_, i) => Math.floor((input.head * i) / workers));
  const done = new Array<number>(workers).fill(0);
  const started: { readonly worker: Worker; readonly result: Promise<RangeResult> }[] = [];
  try {
    for (const [i, from] of bounds.slice(0, -1).entries()) {
      const to = bounds[i + 1] ?? input.head;
      const last = i === workers - 1;
      const key = input.integrityKey.use((k) => Uint8Array.from(k));
      const job: RangeJob = {
        path: input.path,
        vaultId: input.vaultId,
        genesis: input.genesis,
        publicKey: input.publicKey,
        checkpointEvery: input.checkpointEvery,
        key,
        from,
        to,
        last,
        tailCheckpoint: last ? (input.lastCheckpoint ?? null) : null,
      };
      started.push(
        startRange(job, (n) => {
          done[i] = n;
          input.onProgress?.(done.reduce((a, b) => a + b, 0), input.head);
        }),
      );
    }
    const results = await Promise.all(started.map((r) => r.result));
    return stitch(results.map((r, i) => ({ ...r, from: bounds[i] ?? 0 })));
  } catch (error) {
    // One range failed to run (not: found a problem — that is a report): stop the others.
    for (const { worker } of started) void worker.terminate();
    throw new VaultError('STORAGE', `audit verification could not read the log: ${error instanceof Error ? error.message : 'a worker failed'}`, { cause: error });
  }
}

/**
 * The verdict of the whole chain from the ranges' verdicts, in order: a range must begin right
 * after the previous one's last entry and claim the hash that entry has; the first range with a
 * broken seam or a problem of its own gives the first bad seq.
 */
function stitch(ranges: readonly (Extract<RangeMessage, { type: 'done' }> & { from: number })[]): ChainReport {
  let end: { seq: number; hash: string } | null = null;
  let problem: ChainProblem | null = null;
  let entries = 0;
  let checkpoints = 0;
  let lastCheckpoint: ChainReport['lastCheckpoint'] = null;
  for (const range of ranges) {
    if (range.firstSeq !== null && range.from > 0) {
      const previous = end ?? { seq: 0, hash: '' };
      if (range.firstSeq !== previous.seq + 1) problem = gapProblem(range.firstSeq, previous.seq + 1);
      else if (range.startHex !== previous.hash) problem = linkProblem(range.firstSeq);
    }
    problem ??= range.report.problem;
    entries += range.report.entries;
    checkpoints += range.report.checkpoints;
    lastCheckpoint = range.report.lastCheckpoint ?? lastCheckpoint;
    if (range.report.head !== null && range.report.head.seq > range.from) end = range.report.head;
    if (problem !== null) break;
  }
  return { ok: problem === null, entries, elided: 0, checkpoints, head: end, lastCheckpoint, problem };
}
