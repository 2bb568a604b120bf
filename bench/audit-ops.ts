/**
 * The audit-log cases, over a log of BENCH_AUDIT_ENTRIES entries (default 1,000,000) built fresh
 * in every run: live verification, JSON Lines export and offline verification of the export, each
 * in full passes over the whole log beside raw baselines run in the same rounds.
 *
 * The passes run in a child process (bench/audit-child.ts) whose first pass is the export, so the
 * RSS growth measured during it is not inflated by what earlier cases left on the heap.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { keyFile, openVault } from '../src/index.js';
import type { ChildReport, ChildRequest } from './audit-child.js';
import { appendAuditEntries } from './audit-log-builder.js';
import { rowsFromSamples, type ResultRow } from './harness.js';
import { benchPolicy } from './policy.js';
import { RAW_ENTRY_BYTES } from './raw-audit.js';

/** The names of the cases measured here (BENCH_ONLY matches them). */
export const AUDIT_CASES = ['audit verify (live)', 'audit export JSONL', 'verifyAuditExportFile (offline)'] as const;

export interface AuditSettings {
  readonly entries: number;
  readonly rounds: number;
}

export interface AuditResults {
  readonly rows: ResultRow[];
  readonly notes: string[];
  readonly details: Record<string, unknown>;
}

function runChild(request: ChildRequest, log: (line: string) => void): Promise<ChildReport> {
  const script = fileURLToPath(new URL('./audit-child.ts', import.meta.url));
  const root = fileURLToPath(new URL('..', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', script, JSON.stringify(request)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      for (const line of d.split('\n')) if (line !== '') log(line);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`bench: the audit child exited with ${code}: ${err.slice(-2000)}`));
        return;
      }
      try {
        resolve(JSON.parse(out) as ChildReport);
      } catch (error) {
        reject(new Error(`bench: unreadable report from the audit child: ${String(error)}`));
      }
    });
  });
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

export async function runAuditCases(dir: string, settings: AuditSettings, log: (line: string) => void): Promise<AuditResults> {
  const keyPath = join(dir, 'master.key'); // made by the vault suite
  const path = join(dir, 'audit.db');
  await (await openVault({ create: true, path, masterKey: keyFile(keyPath), policy: benchPolicy })).close();

  log(`building an audit log of ${fmt(settings.entries)} entries …`);
  let started = performance.now();
  const head = await appendAuditEntries(path, keyFile(keyPath), settings.entries);
  const buildSeconds = (performance.now() - started) / 1000;
  log(`  built in ${buildSeconds.toFixed(1)} s (head seq ${fmt(head)})`);

  log('measuring audit export, verifyAuditExportFile and audit verify (live) in a child process …');
  const exportPath = join(dir, 'audit-export.jsonl');
  started = performance.now();
  let child: ChildReport;
  try {
    child = await runChild({ vaultPath: path, keyPath, exportPath, rounds: settings.rounds, minEntries: head }, log);
  } finally {
    rmSync(exportPath, { force: true });
  }
  const childSeconds = (performance.now() - started) / 1000;
  const s = child.samples;
  const entriesLabel = `${fmt(settings.entries)} entries`;
  const iterate = 'raw better-sqlite3 .raw().iterate() of every audit_log row';
  const rows = [
    ...rowsFromSamples(`${AUDIT_CASES[0]}, entries/s over ${entriesLabel}`, s.verifyLive, [
      { baseline: { label: `raw chained BLAKE2b (libsodium crypto_generichash, hash = H(prev ‖ H(${RAW_ENTRY_BYTES}-byte entry)))`, rateTarget: 200_000 }, rawSamples: s.rawChain },
      { baseline: { label: iterate, rateTarget: 200_000 }, rawSamples: s.rawIterate },
    ]),
    ...rowsFromSamples(`${AUDIT_CASES[1]} to a file, entries/s over ${entriesLabel}`, s.export, [{ baseline: { label: iterate, rateTarget: 150_000 }, rawSamples: s.rawIterate }]),
    ...rowsFromSamples(`${AUDIT_CASES[2]}, entries/s over ${entriesLabel}`, s.verifyFile, [
      { baseline: { label: iterate, rateTarget: 200_000, informational: true }, rawSamples: s.rawIterate },
      { baseline: { label: 'raw read of the export file, split into lines', rateTarget: 200_000, informational: true }, rawSamples: s.rawReadLines },
    ]),
  ];

  const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
  const worst = Math.max(...child.exportRss.map((r) => r.peak - r.start));
  const first = child.exportRss[0]!;
  const rssTarget = 50;
  const rssPass = worst / 1024 / 1024 <= rssTarget;
  const notes = [
    `audit log: ${fmt(head)} entries built in ${buildSeconds.toFixed(1)} s with the vault's own entry, chain and checkpoint code (bench/audit-log-builder.ts); every live verify returned ok:true (${fmt(child.checkpoints)} signed checkpoints checked); ${settings.rounds} full passes per side, in a child process (${childSeconds.toFixed(1)} s)`,
    `export file: ${(child.exportBytes / 1024 / 1024).toFixed(0)} MB, ${Math.round(child.exportBytes / child.entries)} bytes/entry; verifyAuditExportFile returned ok:true for every export`,
    `RSS during the ${entriesLabel} export (first pass of a fresh child process, sampled every 50 ms; start = after a full GC): +${mb(first.peak - first.start)} MB (start ${mb(first.start)} MB, peak ${mb(first.peak)} MB; V8 heapTotal ${mb(first.heapTotalStart)} → ${mb(first.heapTotalPeak)} MB, heapUsed peak ${mb(first.heapUsedPeak)} MB); worst of ${child.exportRss.length} exports +${mb(worst)} MB; target ≤ ~${rssTarget} MB: ${rssPass ? 'pass' : 'FAIL'}`,
    `RSS during verifyAuditExportFile: worst +${mb(Math.max(...child.verifyRss.map((r) => r.peak - r.start)))} MB (information)`,
  ];
  return {
    rows,
    notes,
    details: { entries: head, buildSeconds, childSeconds, checkpoints: child.checkpoints, exportBytes: child.exportBytes, exportRss: child.exportRss, verifyRss: child.verifyRss, rssTargetMb: rssTarget, rssPass },
  };
}
