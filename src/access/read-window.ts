/**
 * The sliding hour of reads behind a role's `maxReadsPerHour`: one row per actor holding the reads
 * of each of the last 60 minutes, so a read-limit check reads (and authenticates) one row.
 *
 *   counts = 60 × u32 big-endian; slot 59 is `minute`, slot 59 − k is `minute − k`.
 */
import type { ReadCounterRow } from '../store/access-repository.js';

export const WINDOW_MINUTES = 60;
const SLOT_BYTES = 4;

function view(counts: Uint8Array): DataView {
  return new DataView(counts.buffer, counts.byteOffset, counts.byteLength);
}

/** Reads in the 60 minutes up to and including `minute`. */
export function readsInWindow(row: ReadCounterRow | undefined, minute: number): number {
  if (row === undefined) return 0;
  const shift = minute - row.minute;
  if (shift >= WINDOW_MINUTES) return 0;
  let total = 0;
  const counts = view(row.counts);
  // A row ahead of `minute` (another process's clock) counts whole: fail closed.
  for (let i = Math.max(0, shift); i < WINDOW_MINUTES; i++) total += counts.getUint32(i * SLOT_BYTES);
  return total;
}

/**
 * The row after adding `reads` in `readMinute`, with its window moved to end at `nowMinute` (or at
 * the row's own last minute, if that is later). Reads older than the window are dropped.
 */
export function addReads(row: ReadCounterRow | undefined, actor: string, readMinute: number, reads: number, nowMinute: number): ReadCounterRow {
  const end = Math.max(nowMinute, row?.minute ?? nowMinute);
  const counts = new Uint8Array(WINDOW_MINUTES * SLOT_BYTES);
  const next = view(counts);
  if (row !== undefined) {
    const shift = end - row.minute;
    const before = view(row.counts);
    for (let i = shift; i < WINDOW_MINUTES; i++) next.setUint32((i - shift) * SLOT_BYTES, before.getUint32(i * SLOT_BYTES));
  }
  const at = WINDOW_MINUTES - 1 - (end - readMinute);
  if (at >= 0 && at < WINDOW_MINUTES) next.setUint32(at * SLOT_BYTES, Math.min(0xffffffff, next.getUint32(at * SLOT_BYTES) + reads));
  return { actor, minute: end, counts };
}
