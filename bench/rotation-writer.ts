/**
 * Child process of bench/rotation-ops.ts: a concurrent writer. Opens the vault (durability full)
 * and calls `vault.put` for a new subject in a loop, one call at a time, recording when each call
 * started and how long it took (CLOCK_MONOTONIC ms, comparable with the rotation child's times),
 * until its stdin ends. After a warm-up it prints `ready` on a line of its own; at the end, its
 * report as one JSON line.
 *
 * Run as `node --import tsx bench/rotation-writer.ts '<request JSON>'`.
 */
import { keyFile, openVault } from '../src/index.js';
import { benchCtx, benchPolicy } from './policy.js';
import { location } from './rotation-builder.js';

export interface WriterRequest {
  readonly vaultPath: string;
  readonly keyPath: string;
  readonly warmupCalls: number;
}

export interface WriterReport {
  /** Per call: start (monotonic ms) and latency (ms), in call order. */
  readonly starts: number[];
  readonly latencies: number[];
  /** Calls that failed (e.g. BUSY after the 10 s busy timeout), with the first error. */
  readonly errors: number;
  readonly firstError: string | null;
}

const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;

async function main(): Promise<void> {
  const request = JSON.parse(process.argv[2] ?? '') as WriterRequest;
  let stop = false;
  process.stdin.on('data', () => {
    stop = true;
  });
  process.stdin.on('end', () => {
    stop = true;
  });
  const vault = await openVault({ create: true, path: request.vaultPath, masterKey: keyFile(request.keyPath), durability: 'full', policy: benchPolicy });
  try {
    let n = 0;
    for (let i = 0; i < request.warmupCalls; i++) await vault.put(`w:${++n}`, { location }, benchCtx);
    process.stdout.write('ready\n');
    const starts: number[] = [];
    const latencies: number[] = [];
    let errors = 0;
    let firstError: string | null = null;
    while (!stop) {
      const start = monotonicMs();
      try {
        await vault.put(`w:${++n}`, { location }, benchCtx);
      } catch (error) {
        errors++;
        firstError ??= String(error);
      }
      starts.push(start);
      latencies.push(monotonicMs() - start);
      await new Promise((resolve) => setImmediate(resolve)); // let stdin's end be seen
    }
    process.stdout.write(`${JSON.stringify({ starts, latencies, errors, firstError } satisfies WriterReport)}\n`);
  } finally {
    await vault.close();
  }
}

await main();
