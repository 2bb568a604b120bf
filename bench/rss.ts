/** RSS sampling for the benchmark's child processes (run them with --expose-gc for a clean start). */

export interface RssSample {
  /** RSS (bytes) just before the pass, after a full GC. */
  readonly start: number;
  /** The highest RSS sampled during the pass (every 50 ms, and at its end). */
  readonly peak: number;
  /** V8 heap capacity (heapTotal) at the start and its highest sample: how much of the growth is the JS heap. */
  readonly heapTotalStart: number;
  readonly heapTotalPeak: number;
  /** The highest heapUsed sampled (live and not yet collected objects). */
  readonly heapUsedPeak: number;
}

export const RSS_INTERVAL_MS = 50;

/**
 * Runs `fn`, sampling RSS every 50 ms (the samples are timers: they run whenever `fn` lets the
 * event loop turn, and once more at its end).
 */
export async function withRss<T>(fn: () => Promise<T>, into: RssSample[]): Promise<T> {
  (globalThis as { gc?: () => void }).gc?.();
  const first = process.memoryUsage();
  const start = first.rss;
  let peak = start;
  let heapTotalPeak = first.heapTotal;
  let heapUsedPeak = first.heapUsed;
  const sample = (): void => {
    const m = process.memoryUsage();
    peak = Math.max(peak, m.rss);
    heapTotalPeak = Math.max(heapTotalPeak, m.heapTotal);
    heapUsedPeak = Math.max(heapUsedPeak, m.heapUsed);
  };
  const timer = setInterval(sample, RSS_INTERVAL_MS);
  try {
    const result = await fn();
    sample();
    return result;
  } finally {
    clearInterval(timer);
    into.push({ start, peak, heapTotalStart: first.heapTotal, heapTotalPeak, heapUsedPeak });
  }
}
