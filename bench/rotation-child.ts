/**
 * Child process of bench/rotation-ops.ts: one full KEK rotation of the vault file given, by the
 * vault (`vault.keys.rotate`) or by the raw loop (bench/raw-rotation.ts), in a fresh process so
 * its RSS growth (sampled every 50 ms) is the rotation's own. Afterwards it checks the result: the
 * vault side with `vault.keys.status()` (no key left on the old KEK) and a read of the genuine
 * values; both sides by unwrapping random data keys with the vault's own code under the new KEK.
 *
 * Run as `node --expose-gc --import tsx bench/rotation-child.ts '<request JSON>'`; prints its
 * report as JSON on stdout (progress on stderr). Times are CLOCK_MONOTONIC milliseconds
 * (`process.hrtime`), comparable across processes, so the writer's latencies can be placed
 * against the rotation.
 */
import sodium from 'libsodium-wrappers-sumo';
import { keyFile, openVault } from '../src/index.js';
import { benchCtx, benchPolicy } from './policy.js';
import { rawRotation } from './raw-rotation.js';
import { checkDataKeys, location, type UnwrapCheck } from './rotation-builder.js';
import { withRss, type RssSample } from './rss.js';

export interface RotationChildRequest {
  readonly side: 'vault' | 'raw';
  readonly vaultPath: string;
  readonly keyPath: string;
  readonly batchSize: number;
  /** Records in the file before the rotation. */
  readonly records: number;
  /** True when nothing else writes meanwhile: the new KEK must then wrap exactly `records` keys. */
  readonly alone: boolean;
  /** Subjects of genuine values to read back after the rotation (vault side). */
  readonly subjects: readonly string[];
  /** Random data keys to unwrap afterwards. */
  readonly sample: number;
}

export interface RotationChildReport {
  readonly side: 'vault' | 'raw';
  readonly rewrapped: number;
  readonly batches: number;
  readonly seconds: number;
  /** Monotonic ms at the start and the end of the timed rotation. */
  readonly startMs: number;
  readonly endMs: number;
  /** From the start to the end of the first batch (the vault counts the keys to move first, and creates the KEK). */
  readonly firstBatchMs: number;
  /** Durations of the later batches (end of one to end of the next), ms. */
  readonly batchMs: number[];
  readonly rss: RssSample;
  readonly fromVersion: number;
  readonly toVersion: number;
  /** KEK versions after the rotation (vault side: from `vault.keys.status()`). */
  readonly keks: { version: number; state: string; dataKeys: number }[];
  /** Genuine values read back and equal to what was stored. */
  readonly valuesRead: number;
  readonly unwrap: UnwrapCheck;
}

export const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** The report's times from the rotation's start, end and the end of each batch (monotonic ms). */
function timing(startMs: number, endMs: number, ends: readonly number[]): Pick<RotationChildReport, 'seconds' | 'startMs' | 'endMs' | 'firstBatchMs' | 'batchMs'> {
  return { seconds: (endMs - startMs) / 1000, startMs, endMs, firstBatchMs: (ends[0] ?? endMs) - startMs, batchMs: ends.slice(1).map((t, i) => t - ends[i]!) };
}

async function vaultSide(request: RotationChildRequest): Promise<Omit<RotationChildReport, 'unwrap'>> {
  const vault = await openVault({ create: true, path: request.vaultPath, masterKey: keyFile(request.keyPath), durability: 'full', policy: benchPolicy });
  try {
    const before = await vault.keys.status(benchCtx);
    const from = before.keks.find((k) => k.state === 'active');
    if (from === undefined || from.dataKeys < request.records) throw new Error(`bench: expected ${request.records} data keys on the active KEK before rotating, found ${from?.dataKeys ?? 0}`);
    const ends: number[] = [];
    const rss: RssSample[] = [];
    let startMs = 0;
    let endMs = 0;
    const summary = await withRss(async () => {
      startMs = monotonicMs();
      const result = await vault.keys.rotate(
        {
          batchSize: request.batchSize,
          onProgress: () => {
            ends.push(monotonicMs());
          },
        },
        benchCtx,
      );
      endMs = monotonicMs();
      return result;
    }, rss);
    const status = await vault.keys.status(benchCtx);
    const keks = status.keks.map((k) => ({ version: k.version, state: k.state, dataKeys: k.dataKeys }));
    const to = keks.find((k) => k.version === summary.toVersion);
    const stale = keks.filter((k) => k.version !== summary.toVersion && k.dataKeys > 0);
    if (to?.state !== 'active' || stale.length > 0 || status.rotationInProgress !== null) throw new Error(`bench: after the rotation, keys.status() shows ${JSON.stringify(keks)}`);
    if (request.alone ? to.dataKeys !== request.records : to.dataKeys < request.records) throw new Error(`bench: v${to.version} wraps ${to.dataKeys} data keys, expected ${request.records}`);
    let valuesRead = 0;
    for (let i = 0; i < request.subjects.length; i += 50) {
      const batch = request.subjects.slice(i, i + 50).map((subject) => ({ subject, categories: ['location' as const] }));
      for (const got of await vault.getMany(batch, benchCtx)) {
        const value = got.location?.reveal();
        if (value?.lat !== location.lat || value.lon !== location.lon || value.capturedAt !== location.capturedAt) throw new Error('bench: a genuine value did not read back after the rotation');
        valuesRead++;
      }
    }
    return {
      side: 'vault',
      rewrapped: summary.rewrapped,
      batches: summary.batches,
      ...timing(startMs, endMs, ends),
      rss: rss[0]!,
      fromVersion: from.version,
      toVersion: summary.toVersion,
      keks,
      valuesRead,
    };
  } finally {
    await vault.close();
  }
}

async function rawSide(request: RotationChildRequest): Promise<Omit<RotationChildReport, 'unwrap'>> {
  const rss: RssSample[] = [];
  const ends: number[] = [];
  let startMs = 0;
  let endMs = 0;
  const result = await withRss(
    () =>
      rawRotation(request.vaultPath, keyFile(request.keyPath), request.batchSize, {
        onStart: () => {
          startMs = monotonicMs();
        },
        onBatch: () => {
          ends.push(monotonicMs());
        },
        onEnd: () => {
          endMs = monotonicMs();
        },
      }),
    rss,
  );
  if (result.rewrapped !== request.records || result.left !== 0) throw new Error(`bench: the raw loop rewrapped ${result.rewrapped} of ${request.records} keys (${result.left} left)`);
  return {
    side: 'raw',
    rewrapped: result.rewrapped,
    batches: result.batches,
    ...timing(startMs, endMs, ends),
    rss: rss[0]!,
    fromVersion: result.fromVersion,
    toVersion: result.toVersion,
    keks: [],
    valuesRead: 0,
  };
}

async function main(): Promise<void> {
  const request = JSON.parse(process.argv[2] ?? '') as RotationChildRequest;
  await sodium.ready;
  const report = request.side === 'vault' ? await vaultSide(request) : await rawSide(request);
  const unwrap = await checkDataKeys(request.vaultPath, request.keyPath, request.sample);
  const versions = Object.keys(unwrap.versions).map(Number);
  if (unwrap.checked !== request.sample || versions.some((v) => v !== report.toVersion)) {
    throw new Error(`bench: after the ${request.side} rotation, random data keys unwrapped under ${JSON.stringify(unwrap.versions)}, expected all under v${report.toVersion}`);
  }
  process.stdout.write(JSON.stringify({ ...report, unwrap } satisfies RotationChildReport));
}

await main();
