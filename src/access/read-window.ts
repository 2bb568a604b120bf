/**
 * The sliding hour of reads behind a role's `maxReadsPerHour`: one row per actor holding the reads
 * of each of the last 60 minutes, so a read-limit check reads (and authenticates) one row.
 *
 *   counts = 60 × u32 big-endian; slot 59 is `minute`, slot 59 − k is `minute − k`.
 */
import type { ReadCounterRow } from '../store/access-repository.js';

export const WINDOW_MINUTES = 60;
const MINUTE_MS = 60_000;
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
 * How long until the reads still in the window (the row's and `extra`, this process's uncounted
 * reads by minute) fall below `limit`: a read made in minute m leaves the window when minute
 * m + 60 begins. The `retryAfterMs` of a RATE_LIMITED refusal.
 */
export function msUntilBelowLimit(row: ReadCounterRow | undefined, extra: ReadonlyMap<number, number>, minute: number, limit: number, now: number): number {
  const byMinute = new Map<number, number>();
  const add = (m: number, n: number): void => {
    if (n > 0 && m > minute - WINDOW_MINUTES) byMinute.set(m, (byMinute.get(m) ?? 0) + n);
  };
  if (row !== undefined) {
    const counts = view(row.counts);
    for (let i = 0; i < WINDOW_MINUTES; i++) add(row.minute - (WINDOW_MINUTES - 1 - i), counts.getUint32(i * SLOT_BYTES));
  }
  for (const [m, n] of extra) add(m, n);
  let inWindow = 0;
  for (const n of byMinute.values()) inWindow += n;
  for (const m of [...byMinute.keys()].sort((a, b) => a - b)) {
    inWindow -= byMinute.get(m) ?? 0;
    if (inWindow < limit) return Math.max(0, (m + WINDOW_MINUTES) * MINUTE_MS - now);
  }
  return 0;
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
