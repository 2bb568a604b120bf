/**
 * Child process of bench/audit-ops.ts: the full-pass audit-log cases over the whole log —
 * `vault.audit.export` (JSON Lines, to a file), `verifyAuditExportFile`, `vault.audit.verify` —
 * beside raw baselines (iteration of the log, chained BLAKE2b, a line read of the export file),
 * every side once per round. The first pass of all is the export, so its RSS growth (sampled every
 * 50 ms) is that of a fresh process, not inflated by what earlier cases left behind.
 *
 * Run as `node --expose-gc --import tsx bench/audit-child.ts '<request JSON>'`; prints its report
 * as JSON on stdout (progress on stderr).
 */
import Database from 'better-sqlite3';
import sodium from 'libsodium-wrappers-sumo';
import { randomFillSync } from 'node:crypto';
import { createWriteStream } from 'node:fs';
// The shipped build (`npm run bench` builds it first): live verification runs its worker threads from dist/.
import { keyFile, openVault, verifyAuditExportFile } from '../dist/index.js';
import { measurePasses } from './harness.js';
import { benchCtx, benchPolicy } from './policy.js';
import { rawChain, rawIterate, rawReadLines } from './raw-audit.js';
import { withRss, type RssSample } from './rss.js';

export type { RssSample } from './rss.js';

export interface ChildRequest {
  readonly vaultPath: string;
  readonly keyPath: string;
  readonly exportPath: string;
  readonly rounds: number;
  /** Every verification and export must cover at least this many entries. */
  readonly minEntries: number;
}

/** The sides measured, in the order of the first round. */
export const CHILD_SIDES = ['export', 'verifyFile', 'verifyLive', 'rawChain', 'rawIterate', 'rawReadLines'] as const;
export type ChildSide = (typeof CHILD_SIDES)[number];

export interface ChildReport {
  /** Per side, per round: entries/s. */
  readonly samples: Record<ChildSide, number[]>;
  readonly exportRss: RssSample[];
  readonly verifyRss: RssSample[];
  readonly exportBytes: number;
  readonly entries: number;
  /** Checkpoints the live verification checked. */
  readonly checkpoints: number;
}

async function main(): Promise<void> {
  const request = JSON.parse(process.argv[2] ?? '') as ChildRequest;
  await sodium.ready;
  const vault = await openVault({ create: true, path: request.vaultPath, masterKey: keyFile(request.keyPath), policy: benchPolicy });
  const raw = new Database(request.vaultPath, { readonly: true });
  const publicKey = Buffer.from(vault.audit.publicKey, 'hex');
  const pool = randomFillSync(new Uint8Array(1024 * 1024));
  const exportRss: RssSample[] = [];
  const verifyRss: RssSample[] = [];
  let exported = 0;
  let exportBytes = 0;
  let checkpoints = 0;
  const enough = (what: string, entries: number): number => {
    if (entries < request.minEntries) throw new Error(`bench: ${what} covered ${entries} entries, fewer than the ${request.minEntries} in the log`);
    return entries;
  };
  const sides: Record<ChildSide, { label: string; run: () => Promise<number> }> = {
    export: {
      label: 'vault.audit.export (JSONL, to a file)',
      run: () =>
        withRss(async () => {
          const out = createWriteStream(request.exportPath);
          const result = await vault.audit.export(out, {}, benchCtx);
          await new Promise<void>((resolve, reject) => {
            out.on('error', reject);
            out.end(resolve);
          });
          exported = result.entries;
          exportBytes = result.bytes;
          return enough('the export', result.entries);
        }, exportRss),
    },
    verifyFile: {
      label: 'verifyAuditExportFile',
      run: () =>
        withRss(async () => {
          const report = await verifyAuditExportFile(request.exportPath, publicKey);
          if (!report.ok) throw new Error(`bench: the export did not verify: ${JSON.stringify(report.problem)} (line ${report.line})`);
          return enough('verifyAuditExportFile', report.entries);
        }, verifyRss),
    },
    verifyLive: {
      label: 'vault.audit.verify',
      run: async () => {
        const report = await vault.audit.verify(benchCtx);
        if (!report.ok) throw new Error(`bench: the audit log did not verify: ${JSON.stringify(report.problem)}`);
        checkpoints = report.checkpoints;
        return enough('vault.audit.verify', report.entries);
      },
    },
    rawChain: { label: 'raw chained BLAKE2b', run: async () => rawChain(request.minEntries, pool) },
    rawIterate: { label: 'raw .iterate()', run: async () => rawIterate(raw) },
    rawReadLines: {
      label: 'raw read of the export file into lines',
      run: async () => {
        if ((await rawReadLines(request.exportPath)) < exported) throw new Error('bench: the export file has fewer lines than entries');
        return exported;
      },
    },
  };
  try {
    const samples = await measurePasses(
      CHILD_SIDES.map((side) => sides[side]),
      request.rounds,
      (line) => {
        console.error(line);
      },
    );
    const report: ChildReport = {
      samples: Object.fromEntries(CHILD_SIDES.map((side, i) => [side, samples[i]!])) as Record<ChildSide, number[]>,
      exportRss,
      verifyRss,
      exportBytes,
      entries: exported,
      checkpoints,
    };
    process.stdout.write(JSON.stringify(report));
  } finally {
    raw.close();
    await vault.close();
  }
}

await main();
