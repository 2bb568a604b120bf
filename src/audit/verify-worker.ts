/**
 * A worker thread of a parallel live verification (parallel-verify.ts): verifies one range of the
 * log — hashes, links, MACs, the checkpoints in it — over its own read-only connection, and
 * reports where the range starts (the hash its first entry claims to follow) and ends, for the
 * main thread to stitch the ranges together. The integrity key arrives transferred (no copy stays
 * with the sender) and is wiped when the range is done.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SecretBytes } from '../crypto/secret-bytes.js';
import { loadSodium } from '../crypto/sodium.js';
import { RowMacs } from '../integrity/row-macs.js';
import { AuditRepository } from '../store/audit-repository.js';
import { openDatabase } from '../store/database.js';
import { ROW } from './entry.js';
import { hexBytes } from './export-text.js';
import { verifyLiveChain } from './live-chain.js';
import type { RangeJob, RangeMessage } from './parallel-verify.js';

/** Pages between two progress messages. */
const PROGRESS_EVERY = 20;

async function run(job: RangeJob): Promise<void> {
  const post = (message: RangeMessage): void => {
    parentPort?.postMessage(message);
  };
  const key = new SecretBytes(job.key);
  try {
    await loadSodium();
    const db = openDatabase({ path: job.path, durability: 'normal', readonly: true, mustExist: true });
    try {
      const repo = new AuditRepository(db);
      const first = job.from === 0 ? undefined : repo.verifyRows(job.from, job.to, 1)[0];
      const startHex = first?.[ROW.prevHash] ?? null;
      const lastCheckpoint = job.from === 0 ? null : (repo.checkpointAtOrBefore(job.from) ?? null);
      const start = job.from === 0 ? undefined : { seq: job.from, hash: (startHex === null ? null : hexBytes(startHex, 32)) ?? new Uint8Array(32), lastCheckpoint };
      const chain = verifyLiveChain(repo, {
        vaultId: job.vaultId,
        genesis: job.genesis,
        publicKey: job.publicKey,
        checkpointEvery: job.checkpointEvery,
        rows: new RowMacs(key),
        head: job.to,
        lastCheckpoint: job.tailCheckpoint ?? undefined,
        ...(start === undefined ? {} : { start }),
        partial: !job.last,
      });
      let pages = 0;
      for (let step = chain.next(); ; step = chain.next()) {
        if (step.done === true) {
          post({ type: 'done', report: step.value, firstSeq: first?.[ROW.seq] ?? null, startHex });
          return;
        }
        if (++pages % PROGRESS_EVERY === 0) post({ type: 'progress', done: step.value.done });
      }
    } finally {
      db.close();
    }
  } finally {
    key.wipe();
  }
}

await run(workerData as RangeJob);
