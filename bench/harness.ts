/**
 * Timing, medians and reporting for the benchmark suite. A case pits one vault operation against
 * one or more raw baselines; all sides are measured in the same process, taking turns in short
 * slices over several rounds. Each side's throughput is the median of its rounds; the ratio is the
 * median of the per-round ratios, so drift (disk latency, other load) weighs on both sides alike.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';

/** One call of an operation; may be synchronous (raw SQLite) or async (the vault API). */
export type Op = () => unknown;

export interface Baseline {
  /** What the raw side does, e.g. "INSERT, synchronous=FULL". */
  readonly label: string;
  readonly op: Op;
  /** Minimum vault/raw throughput ratio; undefined when the case is reported without a target. */
  readonly target?: number;
  /** Minimum vault throughput (items/s), for cases whose target is absolute rather than a ratio. */
  readonly rateTarget?: number;
  /** The target is shown and judged, but a miss is not counted as a failure of the run. */
  readonly informational?: boolean;
  /** How the target column shows the ratio target, when `≥ 0.67` alone would not say what it means. */
  readonly targetLabel?: string;
}

export interface BenchCase {
  readonly name: string;
  /** Items handled by one call (500 for a putMany batch): throughput is reported per item. */
  readonly itemsPerCall: number;
  readonly vault: Op;
  readonly baselines: readonly Baseline[];
  /** Calls before measuring (at least this many, and at least `warmupMs`). */
  readonly warmupCalls?: number;
}

export interface Settings {
  readonly rounds: number;
  /** Wall time of one side in one round, spread over `slices` turns. */
  readonly sampleMs: number;
  readonly slices: number;
  readonly warmupMs: number;
}

export interface ResultRow {
  readonly operation: string;
  readonly baseline: string;
  readonly vaultOpsPerSec: number;
  readonly rawOpsPerSec: number;
  /**
   * Median over rounds of vault/raw throughput measured side by side in that round (robust to
   * drift in disk latency between rounds). Higher is better; 1.0 = no overhead.
   */
  readonly ratio: number;
  /** Minimum ratio, or null. */
  readonly target: number | null;
  /** Minimum vault items/s (an absolute target), or null. */
  readonly rateTarget: number | null;
  /** A target shown for information: a miss does not count as a failed target. */
  readonly informational: boolean;
  /** The ratio target as the table shows it, or null for `≥ target`. */
  readonly targetLabel: string | null;
  readonly pass: boolean | null;
  /** Per-round throughputs, for judging the spread. */
  readonly vaultSamples: readonly number[];
  readonly rawSamples: readonly number[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

interface Timing {
  calls: number;
  ms: number;
}

/** Runs `op` for at least `ms` and `minCalls` calls; adds the calls and time spent to `into`. */
async function timeOp(op: Op, ms: number, minCalls: number, into: Timing): Promise<void> {
  let calls = 0;
  const start = performance.now();
  let now = start;
  while (calls < minCalls || now - start < ms) {
    const result = op();
    if (result instanceof Promise) await result;
    calls++;
    now = performance.now();
  }
  into.calls += calls;
  into.ms += now - start;
}

/**
 * Measures one case: warm-up, then `rounds` rounds. Within a round the sides take turns in
 * `slices` short slices (order reversed every other slice), so disk latency that drifts within a
 * round weighs on every side alike; a side's throughput in the round is its calls / its time.
 */
export async function runCase(c: BenchCase, s: Settings, log: (line: string) => void): Promise<ResultRow[]> {
  const sides: Op[] = [c.vault, ...c.baselines.map((b) => b.op)];
  for (const op of sides) await timeOp(op, s.warmupMs, c.warmupCalls ?? 1, { calls: 0, ms: 0 });
  const samples: number[][] = sides.map(() => []);
  for (let round = 0; round < s.rounds; round++) {
    const timings = sides.map((): Timing => ({ calls: 0, ms: 0 }));
    for (let slice = 0; slice < s.slices; slice++) {
      const order = sides.map((_, i) => i);
      if ((round + slice) % 2 === 1) order.reverse();
      for (const i of order) await timeOp(sides[i]!, s.sampleMs / s.slices, 1, timings[i]!);
    }
    timings.forEach((t, i) => samples[i]!.push(((t.calls * 1000) / t.ms) * c.itemsPerCall));
  }
  const rows = rowsFromSamples(c.name, samples[0]!, c.baselines.map((b, i) => ({ baseline: b, rawSamples: samples[i + 1]! })));
  for (const r of rows) log(`  ${r.operation} vs ${r.baseline}: ratio ${r.ratio.toFixed(2)}`);
  return rows;
}

/**
 * Result rows from per-round throughputs measured elsewhere (full passes, a child process): the
 * vault's samples and each baseline's, round for round.
 */
export function rowsFromSamples(
  operation: string,
  vaultSamples: readonly number[],
  sides: readonly { baseline: Omit<Baseline, 'op'>; rawSamples: readonly number[] }[],
): ResultRow[] {
  const vault = median(vaultSamples);
  return sides.map(({ baseline: b, rawSamples }): ResultRow => {
    const ratio = median(vaultSamples.map((v, round) => v / rawSamples[round]!));
    const checks = [...(b.target === undefined ? [] : [ratio >= b.target]), ...(b.rateTarget === undefined ? [] : [vault >= b.rateTarget])];
    return {
      operation,
      baseline: b.label,
      vaultOpsPerSec: vault,
      rawOpsPerSec: median(rawSamples),
      ratio,
      target: b.target ?? null,
      rateTarget: b.rateTarget ?? null,
      informational: b.informational === true,
      targetLabel: b.targetLabel ?? null,
      pass: checks.length === 0 ? null : checks.every(Boolean),
      vaultSamples,
      rawSamples,
    };
  });
}

/** A side of a full-pass case: one call does the whole job and says how many items it handled. */
export interface PassSide {
  readonly label: string;
  readonly run: () => Promise<number>;
}

/**
 * Per-round throughputs (items/s) of sides that each take one long pass (verifying a million
 * entries): every round runs each side once, in an order reversed every other round.
 */
export async function measurePasses(sides: readonly PassSide[], rounds: number, log: (line: string) => void): Promise<number[][]> {
  const samples: number[][] = sides.map(() => []);
  for (let round = 0; round < rounds; round++) {
    const order = sides.map((_, i) => i);
    if (round % 2 === 1) order.reverse();
    for (const i of order) {
      const side = sides[i]!;
      const start = performance.now();
      const items = await side.run();
      const seconds = (performance.now() - start) / 1000;
      samples[i]![round] = items / seconds;
      log(`  round ${round + 1}: ${side.label}: ${Math.round(items / seconds).toLocaleString('en-US')} items/s (${seconds.toFixed(2)} s)`);
    }
  }
  return samples;
}

function formatRate(n: number): string {
  if (n >= 100) return Math.round(n).toLocaleString('en-US');
  return n.toPrecision(3);
}

/** The results as a Markdown table. */
export function markdownTable(rows: readonly ResultRow[]): string {
  const lines = [
    '| operation | vault ops/s | raw ops/s | ratio | target | pass/fail |',
    '|---|---:|---:|---:|---:|---|',
  ];
  for (const r of rows) {
    const verdict = (r.pass === null ? 'n/a' : r.pass ? 'pass' : 'FAIL') + (r.informational && r.pass !== null ? ' (info)' : '');
    const targets = [...(r.target === null ? [] : [r.targetLabel ?? `≥ ${r.target.toFixed(2)}`]), ...(r.rateTarget === null ? [] : [`≥ ${formatRate(r.rateTarget)}/s`])];
    const target = targets.length === 0 ? '—' : targets.join(', ');
    lines.push(`| ${r.operation} vs ${r.baseline} | ${formatRate(r.vaultOpsPerSec)} | ${formatRate(r.rawOpsPerSec)} | ${r.ratio.toFixed(2)} | ${target} | ${verdict} |`);
  }
  return lines.join('\n');
}

export function writeJson(path: string, data: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(data, null, 2)}\n`);
}
