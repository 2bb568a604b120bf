/**
 * Child process of bench/audit-ops.ts: measures `vault.audit.export` (JSON Lines, to a file) and
 * `verifyAuditExportFile` over the whole audit log, beside raw iteration of the log and a raw
 * read of the export file, in full passes; samples RSS every 50 ms during each export and each
 * verification. Run as `node --expose-gc --import tsx bench/audit-export-child.ts '<request JSON>'`;
 * prints its report as JSON on stdout (progress on stderr).
 */
import Database from 'better-sqlite3';
import { createWriteStream, promises as fs } from 'node:fs';
import { keyFile, openVault, verifyAuditExportFile } from '../src/index.js';
import { measurePasses } from './harness.js';
import { benchCtx, benchPolicy } from './policy.js';
import { rawIterate } from './raw-audit.js';

export interface ChildRequest {
  readonly vaultPath: string;
  readonly keyPath: string;
  readonly exportPath: string;
  readonly rounds: number;
  /** Each export must hold at least this many entries. */
  readonly minEntries: number;
}

export interface RssSample {
  /** RSS (bytes) just before the pass, after a full GC. */
  readonly start: number;
  /** The highest RSS sampled during the pass (every 50 ms, and at its end). */
  readonly peak: number;
}

export interface ChildReport {
  /** Per-round entries/s. */
  readonly export: number[];
  readonly verifyFile: number[];
  readonly iterate: number[];
  readonly readLines: number[];
  readonly exportRss: RssSample[];
  readonly verifyRss: RssSample[];
  readonly exportBytes: number;
}

const RSS_INTERVAL_MS = 50;

/** Runs `fn`, sampling RSS every 50 ms. */
async function withRss<T>(fn: () => Promise<T>, into: RssSample[]): Promise<T> {
  (globalThis as { gc?: () => void }).gc?.();
  const start = process.memoryUsage.rss();
  let peak = start;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, RSS_INTERVAL_MS);
  try {
    const result = await fn();
    peak = Math.max(peak, process.memoryUsage.rss());
    return result;
  } finally {
    clearInterval(timer);
    into.push({ start, peak });
  }
}

/** Reads the file in 1 MiB chunks and cuts it into line strings (the floor of any line-based reader). */
async function readLines(path: string): Promise<number> {
  const handle = await fs.open(path, 'r');
  const buffer = Buffer.allocUnsafe(1024 * 1024);
  let lines = 0;
  let carry = '';
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      let start = 0;
      for (let nl = buffer.indexOf(0x0a, 0); nl !== -1 && nl < bytesRead; nl = buffer.indexOf(0x0a, start)) {
        const line = carry + buffer.toString('latin1', start, nl);
        carry = '';
        if (line.length > 0) lines++;
        start = nl + 1;
      }
      carry += buffer.toString('latin1', start, bytesRead);
    }
  } finally {
    await handle.close();
  }
  return lines + (carry.length > 0 ? 1 : 0);
}

async function main(): Promise<void> {
  const request = JSON.parse(process.argv[2] ?? '') as ChildRequest;
  const vault = await openVault({ path: request.vaultPath, masterKey: keyFile(request.keyPath), policy: benchPolicy });
  const raw = new Database(request.vaultPath, { readonly: true });
  const publicKey = Buffer.from(vault.audit.publicKey, 'hex');
  const exportRss: RssSample[] = [];
  const verifyRss: RssSample[] = [];
  let exported = 0;
  let exportBytes = 0;
  try {
    const samples = await measurePasses(
      [
        {
          label: 'vault.audit.export (JSONL, to a file)',
          run: () =>
            withRss(async () => {
              const out = createWriteStream(request.exportPath);
              const result = await vault.audit.export(out, {}, benchCtx);
              await new Promise<void>((resolve, reject) => {
                out.on('error', reject);
                out.end(resolve);
              });
              if (result.entries < request.minEntries) throw new Error(`bench: the export holds ${result.entries} entries`);
              exported = result.entries;
              exportBytes = result.bytes;
              return result.entries;
            }, exportRss),
        },
        {
          label: 'verifyAuditExportFile',
          run: () =>
            withRss(async () => {
              const report = await verifyAuditExportFile(request.exportPath, publicKey);
              if (!report.ok || report.entries < request.minEntries) throw new Error(`bench: the export did not verify: ${JSON.stringify(report.problem)} (${report.entries} entries)`);
              return report.entries;
            }, verifyRss),
        },
        { label: 'raw .iterate()', run: async () => rawIterate(raw) },
        {
          label: 'raw read of the file into lines',
          run: async () => {
            if ((await readLines(request.exportPath)) < exported) throw new Error('bench: the export file has fewer lines than entries');
            return exported;
          },
        },
      ],
      request.rounds,
      (line) => {
        console.error(line);
      },
    );
    const report: ChildReport = { export: samples[0]!, verifyFile: samples[1]!, iterate: samples[2]!, readLines: samples[3]!, exportRss, verifyRss, exportBytes };
    process.stdout.write(JSON.stringify(report));
  } finally {
    raw.close();
    await vault.close();
  }
}

await main();
