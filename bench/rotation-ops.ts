/**
 * The KEK-rotation case: `vault.keys.rotate({ batchSize: 1000 })` over BENCH_ROTATION_KEYS data
 * keys (default 1,000,000) beside a raw rewrap loop (bench/raw-rotation.ts) over an identical copy
 * of the file, each in a fresh child process (bench/rotation-child.ts) so RSS is the rotation's
 * own. Target: the vault's time ≤ 1.5× the raw loop's, i.e. vault DEKs/s ÷ raw DEKs/s ≥ 0.67.
 *
 * Then a third copy is rotated while another process (bench/rotation-writer.ts) keeps calling
 * `vault.put` (durability full), one call at a time: the longest call during the rotation is the
 * longest write stall, judged against the longest batch (a write should wait at most one batch),
 * beside the same writer's latencies in the seconds before the rotation.
 *
 * Environment: BENCH_ROTATION_KEYS, BENCH_ROTATION_ROUNDS (default 1: a full rotation per side per
 * round; rounds after the first rotate the same files again), BENCH_ROTATION_PREWRITE_MS (default
 * 3000), BENCH_ROTATION_CPU_PROF=<dir> (CPU-profile each rotation child into <dir>/vault, <dir>/raw …).
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyFile } from '../src/index.js';
import { median, rowsFromSamples, type ResultRow } from './harness.js';
import { buildRotationVault, checkDataKeys } from './rotation-builder.js';
import type { RotationChildReport, RotationChildRequest } from './rotation-child.js';
import type { WriterReport, WriterRequest } from './rotation-writer.js';

export const ROTATION_CASE = 'KEK rotation';
const BATCH_SIZE = 1000;
/** Vault time ≤ 1.5× raw time. */
const RATIO_TARGET = 1 / 1.5;
const SAMPLE = 1000;

export interface RotationSettings {
  readonly keys: number;
  readonly rounds: number;
  readonly prewriteMs: number;
}

export interface RotationResults {
  readonly rows: ResultRow[];
  readonly notes: string[];
  readonly details: Record<string, unknown>;
}

const root = fileURLToPath(new URL('..', import.meta.url));
const script = (name: string): string => fileURLToPath(new URL(`./${name}`, import.meta.url));
const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
const ms = (n: number): string => (n >= 100 ? n.toFixed(0) : n.toFixed(1));

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** Runs a rotation child to its end; its stderr goes to the log. */
function runRotationChild(request: RotationChildRequest, log: (line: string) => void): Promise<RotationChildReport> {
  const prof = process.env['BENCH_ROTATION_CPU_PROF'];
  const profArgs = prof === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${join(prof, request.alone ? request.side : `${request.side}-with-writer`)}`];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', ...profArgs, '--import', 'tsx', script('rotation-child.ts'), JSON.stringify(request)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      for (const line of d.split('\n')) if (line !== '') log(`  ${line}`);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`bench: the rotation child (${request.side}) exited with ${code}: ${err.slice(-2000)}`));
        return;
      }
      try {
        resolve(JSON.parse(out) as RotationChildReport);
      } catch (error) {
        reject(new Error(`bench: unreadable report from the rotation child: ${String(error)}`));
      }
    });
  });
}

interface Writer {
  /** Resolves once the writer has warmed up and is writing. */
  readonly ready: Promise<void>;
  /** Ends the writer and resolves with its report. */
  stop(): Promise<WriterReport>;
}

function startWriter(request: WriterRequest, log: (line: string) => void): Writer {
  const child = spawn(process.execPath, ['--import', 'tsx', script('rotation-writer.ts'), JSON.stringify(request)], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const done = new Promise<WriterReport>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.startsWith('ready\n')) onReady();
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      for (const line of d.split('\n')) if (line !== '') log(`  writer: ${line}`);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0 || !out.startsWith('ready\n')) {
        reject(new Error(`bench: the writer exited with ${code}: ${err.slice(-2000)}`));
        return;
      }
      try {
        resolve(JSON.parse(out.slice('ready\n'.length)) as WriterReport);
      } catch (error) {
        reject(new Error(`bench: unreadable report from the writer: ${String(error)}`));
      }
    });
  });
  // A writer that dies before it is ready must not leave `ready` pending forever.
  const readyOrDeath = Promise.race([ready, done.then(() => Promise.reject(new Error('bench: the writer ended before it was ready')))]);
  return {
    ready: readyOrDeath,
    stop: () => {
      child.stdin.end();
      return done;
    },
  };
}

const sleep = (n: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, n));

export async function runRotationCase(dir: string, settings: RotationSettings, log: (line: string) => void): Promise<RotationResults> {
  const keyPath = join(dir, 'master.key'); // made by the vault suite
  if (!existsSync(keyPath)) (await generateKeyFile(keyPath)).close?.();
  const vaultPath = join(dir, 'rotation-vault.db');
  const rawPath = join(dir, 'rotation-raw.db');
  const writerPath = join(dir, 'rotation-writer.db');
  const files = [vaultPath, rawPath, writerPath];
  try {
    log(`building a vault of ${fmt(settings.keys)} records for the KEK rotation …`);
    const built = await buildRotationVault(vaultPath, keyPath, settings.keys, log);
    log(`  built in ${built.seconds.toFixed(1)} s (${fmt(settings.keys / built.seconds)} records/s)`);
    const unwrapBefore = await checkDataKeys(vaultPath, keyPath, SAMPLE);
    if (unwrapBefore.checked !== SAMPLE || unwrapBefore.versions[1] !== SAMPLE) throw new Error(`bench: before the rotation, random data keys unwrapped as ${JSON.stringify(unwrapBefore.versions)}`);
    if (existsSync(`${vaultPath}-wal`) && statSync(`${vaultPath}-wal`).size > 0) throw new Error('bench: the built vault still has a WAL; it cannot be copied');
    const fileBytes = statSync(vaultPath).size;
    copyFileSync(vaultPath, rawPath);
    copyFileSync(vaultPath, writerPath);

    const request = (side: 'vault' | 'raw', path: string, alone: boolean): RotationChildRequest => ({
      side,
      vaultPath: path,
      keyPath,
      batchSize: BATCH_SIZE,
      records: settings.keys,
      alone,
      subjects: side === 'vault' ? built.genuineSubjects : [],
      sample: SAMPLE,
    });
    const vaultReports: RotationChildReport[] = [];
    const rawReports: RotationChildReport[] = [];
    for (let round = 0; round < settings.rounds; round++) {
      const order: ('vault' | 'raw')[] = round % 2 === 0 ? ['vault', 'raw'] : ['raw', 'vault'];
      for (const side of order) {
        log(`  round ${round + 1}: ${side === 'vault' ? 'vault.keys.rotate' : 'raw rewrap loop'} over ${fmt(settings.keys)} data keys …`);
        const report = await runRotationChild(request(side, side === 'vault' ? vaultPath : rawPath, true), log);
        (side === 'vault' ? vaultReports : rawReports).push(report);
        log(`    ${fmt(report.rewrapped / report.seconds)} DEKs/s (${report.seconds.toFixed(2)} s, ${report.batches} batches, RSS +${mb(report.rss.peak - report.rss.start)} MB)`);
      }
    }

    // ---- concurrent writer ------------------------------------------------------------------
    log(`  writer: vault.put in a loop for ${(settings.prewriteMs / 1000).toFixed(1)} s, then during a rotation of a third copy …`);
    const writer = startWriter({ vaultPath: writerPath, keyPath, warmupCalls: 200 }, log);
    let withWriter: RotationChildReport;
    let preStart: number;
    let preEnd: number;
    let writerReport: WriterReport;
    try {
      await writer.ready;
      preStart = monotonicMs();
      await sleep(settings.prewriteMs);
      preEnd = monotonicMs();
      withWriter = await runRotationChild(request('vault', writerPath, false), log);
    } finally {
      writerReport = await writer.stop();
    }
    const before: number[] = [];
    const during: number[] = [];
    writerReport.starts.forEach((start, i) => {
      const latency = writerReport.latencies[i]!;
      if (start >= preStart && start + latency <= preEnd) before.push(latency);
      else if (start < withWriter.endMs && start + latency > withWriter.startMs) during.push(latency);
    });
    if (before.length === 0 || during.length === 0) throw new Error(`bench: the writer made ${before.length} calls before and ${during.length} during the rotation`);
    const longestBatch = Math.max(...withWriter.batchMs);
    const stallMax = Math.max(...during);
    const beforeMax = Math.max(...before);
    const stallPass = writerReport.errors === 0 && stallMax <= longestBatch + beforeMax;
    log(`    longest write stall ${ms(stallMax)} ms (median ${ms(median(during))} ms, ${during.length} puts) vs ${ms(beforeMax)} ms before; longest batch ${ms(longestBatch)} ms`);

    // ---- results ------------------------------------------------------------------------------
    const vaultSamples = vaultReports.map((r) => r.rewrapped / r.seconds);
    const rawSamples = rawReports.map((r) => r.rewrapped / r.seconds);
    const rows = rowsFromSamples(`${ROTATION_CASE} over ${fmt(settings.keys)} DEKs (vault.keys.rotate, batchSize ${BATCH_SIZE}, durability full), DEKs/s`, vaultSamples, [
      {
        baseline: {
          label: `raw rewrap loop: page ${BATCH_SIZE} rows by id, libsodium XChaCha20-Poly1305 unwrap + rewrap each key (same AAD), UPDATE each row, one IMMEDIATE tx per ${BATCH_SIZE}, synchronous=FULL`,
          target: RATIO_TARGET,
          targetLabel: `≥ ${RATIO_TARGET.toFixed(2)} (≤ 1.5× raw time)`,
        },
        rawSamples,
      },
    ]);
    const v = vaultReports[0]!;
    const r = rawReports[0]!;
    const vaultSeconds = median(vaultReports.map((x) => x.seconds));
    const rawSeconds = median(rawReports.map((x) => x.seconds));
    const rssGrowth = Math.max(...vaultReports.map((x) => x.rss.peak - x.rss.start));
    const batchesOf = (x: RotationChildReport): string =>
      `${x.batches} batches (first ${ms(x.firstBatchMs)} ms${x.side === 'vault' ? ' from the call, with the count of keys to move and the new KEK' : ''}; then median ${ms(median(x.batchMs))} ms, p99 ${ms(percentile(x.batchMs, 0.99))} ms, longest ${ms(Math.max(...x.batchMs))} ms)`;
    const toKeks = v.keks.map((k) => `v${k.version} ${k.state} ${fmt(k.dataKeys)}`).join(', ');
    const notes = [
      `KEK rotation: ${fmt(settings.keys)} records (${(fileBytes / 1024 / 1024).toFixed(0)} MB file) built in ${built.seconds.toFixed(1)} s: genuine data keys (generateDek + wrapDek under the vault's KEK v1, newId ids, random 32-byte subject tags, ${built.bodyBytes}-byte dummy bodies) inserted in 50,000-row transactions, ${fmt(built.genuineSubjects.length)} real values spread among them by vault.putMany; ${fmt(SAMPLE)} random data keys unwrapped under v1 before rotating (bench/rotation-builder.ts)`,
      `KEK rotation time: vault ${vaultSeconds.toFixed(2)} s vs raw loop ${rawSeconds.toFixed(2)} s = ${(vaultSeconds / rawSeconds).toFixed(2)}× the raw time (target ≤ 1.5×: ${vaultSeconds <= 1.5 * rawSeconds ? 'pass' : 'FAIL'}); ${settings.rounds} full rotation(s) per side, each in a fresh child process, on identical copies of the file, without a concurrent writer`,
      `KEK rotation batches: vault ${batchesOf(v)}; raw ${batchesOf(r)}`,
      `KEK rotation peak RSS growth (sampled every 50 ms from a full GC): vault +${mb(rssGrowth)} MB (start ${mb(v.rss.start)} MB, peak ${mb(v.rss.peak)} MB; V8 heapTotal ${mb(v.rss.heapTotalStart)} → ${mb(v.rss.heapTotalPeak)} MB); raw loop +${mb(r.rss.peak - r.rss.start)} MB`,
      `KEK rotation with a concurrent writer (another process: vault.put, durability full, one call at a time): longest write stall during the rotation ${ms(stallMax)} ms (median ${ms(median(during))} ms, p99 ${ms(percentile(during, 0.99))} ms, ${fmt(during.length)} puts${writerReport.errors > 0 ? `, ${writerReport.errors} FAILED: ${writerReport.firstError ?? ''}` : ''}) vs before it ${ms(beforeMax)} ms (median ${ms(median(before))} ms, ${fmt(before.length)} puts in ${(settings.prewriteMs / 1000).toFixed(1)} s); the rotation took ${withWriter.seconds.toFixed(2)} s (${fmt(withWriter.rewrapped / withWriter.seconds)} DEKs/s), longest batch ${ms(longestBatch)} ms; target "a write waits at most one batch" (stall ≤ longest batch + longest put before): ${stallPass ? 'pass' : 'FAIL'}`,
      `KEK rotation checked: keys.status() afterwards ${toKeks}; ${fmt(v.unwrap.checked)} random data keys unwrap under v${v.toVersion} (raw copy: ${fmt(r.unwrap.checked)} under v${r.toVersion}); ${fmt(v.valuesRead)} genuine values read back intact`,
    ];
    return {
      rows,
      notes,
      details: {
        keys: settings.keys,
        batchSize: BATCH_SIZE,
        rounds: settings.rounds,
        buildSeconds: built.seconds,
        fileBytes,
        vaultSeconds: vaultReports.map((x) => x.seconds),
        rawSeconds: rawReports.map((x) => x.seconds),
        timeRatio: vaultSeconds / rawSeconds,
        batches: v.batches,
        vaultBatchMs: { first: v.firstBatchMs, median: median(v.batchMs), p99: percentile(v.batchMs, 0.99), max: Math.max(...v.batchMs) },
        rawBatchMs: { first: r.firstBatchMs, median: median(r.batchMs), p99: percentile(r.batchMs, 0.99), max: Math.max(...r.batchMs) },
        vaultRss: vaultReports.map((x) => x.rss),
        rawRss: rawReports.map((x) => x.rss),
        rssGrowthBytes: rssGrowth,
        keksAfter: v.keks,
        unwrapChecked: { before: unwrapBefore.checked, vault: v.unwrap, raw: r.unwrap },
        valuesRead: v.valuesRead,
        writer: {
          prewriteMs: settings.prewriteMs,
          before: { puts: before.length, medianMs: median(before), p99Ms: percentile(before, 0.99), maxMs: beforeMax },
          during: { puts: during.length, medianMs: median(during), p99Ms: percentile(during, 0.99), maxMs: stallMax },
          errors: writerReport.errors,
          firstError: writerReport.firstError,
          rotationSeconds: withWriter.seconds,
          longestBatchMs: longestBatch,
          keksAfter: withWriter.keks,
          pass: stallPass,
        },
      },
    };
  } finally {
    for (const f of files) for (const suffix of ['', '-wal', '-shm']) rmSync(`${f}${suffix}`, { force: true });
  }
}
