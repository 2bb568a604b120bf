/**
 * Progress of one file for a terminal bar: reported at most every 100 ms, and the event loop is
 * given a turn every 50 ms so the bar (drawn on timers) can redraw during a long synchronous scan.
 */
import { performance } from 'node:perf_hooks';

const REPORT_MS = 100;
const YIELD_MS = 50;

export class ProgressTicker {
  readonly #file: string;
  readonly #total: number;
  readonly #onProgress: ((file: string, bytesDone: number, bytesTotal: number) => void) | undefined;
  #lastReport = Number.NEGATIVE_INFINITY;
  #lastYield = performance.now();

  constructor(file: string, total: number, onProgress: ((file: string, bytesDone: number, bytesTotal: number) => void) | undefined) {
    this.#file = file;
    this.#total = total;
    this.#onProgress = onProgress;
  }

  /** Reports `done` bytes if 100 ms passed since the last report; yields to the event loop every 50 ms. */
  async pulse(done: number): Promise<void> {
    const now = performance.now();
    if (this.#onProgress !== undefined && now - this.#lastReport >= REPORT_MS) {
      this.#lastReport = now;
      this.#onProgress(this.#file, Math.min(Math.max(0, Math.round(done)), this.#total), this.#total);
    }
    if (now - this.#lastYield >= YIELD_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.#lastYield = performance.now();
    }
  }

  /** The final report: the whole file done. */
  finish(): void {
    this.#onProgress?.(this.#file, this.#total, this.#total);
  }
}
