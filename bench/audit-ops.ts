/**
 * The audit-log cases, over a log of BENCH_AUDIT_ENTRIES entries (default 1,000,000) built fresh
 * in every run: live verification, JSON Lines export and offline verification of the export,
 * each in full passes over the whole log beside raw baselines run in the same rounds.
 *
 * The export and the offline verification run in a child process (bench/audit-export-child.ts),
 * so its RSS growth during the export is not inflated by what earlier cases left on the heap.
 */
import Database from 'better-sqlite3';
import sodium from 'libsodium-wrappers-sumo';
import { spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { keyFile, openVault } from '../src/index.js';
import { appendAuditEntries } from './audit-log-builder.js';
import type { ChildReport, ChildRequest } from './audit-export-child.js';
import { measurePasses, rowsFromSamples, type ResultRow } from './harness.js';
import { rawIterate } from './raw-audit.js';
import { benchCtx, benchPolicy } from './policy.js';

/** Bytes hashed per entry by the raw chain baseline (an entry's canonical encoding is ~200-230 bytes). */
const RAW_ENTRY_BYTES = 200;

export interface AuditSettings {
  readonly entries: number;
  readonly rounds: number;
}

export interface AuditResults {
  readonly rows: ResultRow[];
  readonly notes: string[];
  readonly details: Record<string, unknown>;
}

/** Raw chained BLAKE2b over `count` 200-byte inputs with libsodium's crypto_generichash: hash = H(prev ‖ H(entry)). */
function rawChain(count: number, pool: Uint8Array): number {
  const link = new Uint8Array(64);
  let hash: Uint8Array = new Uint8Array(32);
  const span = pool.length - RAW_ENTRY_BYTES;
  for (let i = 0; i < count; i++) {
    const at = (i * RAW_ENTRY_BYTES) % span;
    const digest = sodium.crypto_generichash(32, pool.subarray(at, at + RAW_ENTRY_BYTES), null);
    link.set(hash, 0);
    link.set(digest, 32);
    hash = sodium.crypto_generichash(32, link, null);
  }
  if (hash.length !== 32) throw new Error('bad hash');
  return count;
}

function runChild(request: ChildRequest, log: (line: string) => void): Promise<ChildReport> {
  const script = fileURLToPath(new URL('./audit-export-child.ts', import.meta.url));
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
        reject(new Error(`bench: the export child exited with ${code}: ${err.slice(-2000)}`));
        return;
      }
      try {
        resolve(JSON.parse(out) as ChildReport);
      } catch (error) {
        reject(new Error(`bench: unreadable report from the export child: ${String(error)}`));
      }
    });
  });
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

export async function runAuditCases(dir: string, settings: AuditSettings, log: (line: string) => void): Promise<AuditResults> {
  await sodium.ready;
  const keyPath = join(dir, 'master.key'); // made by the vault suite
  const path = join(dir, 'audit.db');
  await (await openVault({ path, masterKey: keyFile(keyPath), policy: benchPolicy })).close();

  log(`building an audit log of ${fmt(settings.entries)} entries …`);
  let started = performance.now();
  const head = await appendAuditEntries(path, keyFile(keyPath), settings.entries);
  const buildSeconds = (performance.now() - started) / 1000;
  log(`  built in ${buildSeconds.toFixed(1)} s (head seq ${fmt(head)})`);

  // ---- live verification ---------------------------------------------------------------------
  const vault = await openVault({ path, masterKey: keyFile(keyPath), policy: benchPolicy });
  const raw = new Database(path, { readonly: true });
  const pool = randomFillSync(new Uint8Array(1024 * 1024));
  let verifySamples: number[][];
  try {
    log('measuring audit verify (live) …');
    verifySamples = await measurePasses(
      [
        {
          label: 'vault.audit.verify',
          run: async () => {
            const report = await vault.audit.verify(benchCtx);
            if (!report.ok || report.entries < settings.entries) throw new Error(`bench: the audit log did not verify: ${JSON.stringify(report.problem)} (${report.entries} entries)`);
            return report.entries;
          },
        },
        { label: 'raw chained BLAKE2b', run: async () => rawChain(head, pool) },
        { label: 'raw .iterate()', run: async () => rawIterate(raw) },
      ],
      settings.rounds,
      log,
    );
  } finally {
    raw.close();
    await vault.close();
  }
  const entriesLabel = `${fmt(settings.entries)} entries`;
  const rows = rowsFromSamples(`audit verify (live), entries/s over ${entriesLabel}`, verifySamples[0]!, [
    { baseline: { label: `raw chained BLAKE2b (libsodium crypto_generichash, hash = H(prev ‖ H(${RAW_ENTRY_BYTES}-byte entry)))`, rateTarget: 200_000 }, rawSamples: verifySamples[1]! },
    { baseline: { label: 'raw better-sqlite3 .iterate() of every audit_log row', rateTarget: 200_000 }, rawSamples: verifySamples[2]! },
  ]);

  // ---- export and offline verification, in a child process -----------------------------------
  log('measuring audit export and verifyAuditExportFile (child process) …');
  const exportPath = join(dir, 'audit-export.jsonl');
  started = performance.now();
  const child = await runChild({ vaultPath: path, keyPath, exportPath, rounds: settings.rounds, minEntries: settings.entries }, log);
  const childSeconds = (performance.now() - started) / 1000;
  rmSync(exportPath, { force: true });
  rows.push(
    ...rowsFromSamples(`audit export JSONL to a file, entries/s over ${entriesLabel}`, child.export, [
      { baseline: { label: 'raw better-sqlite3 .iterate() of every audit_log row', rateTarget: 150_000 }, rawSamples: child.iterate },
    ]),
    ...rowsFromSamples(`verifyAuditExportFile (offline), entries/s over ${entriesLabel}`, child.verifyFile, [
      { baseline: { label: 'raw better-sqlite3 .iterate() of every audit_log row', rateTarget: 200_000, informational: true }, rawSamples: child.iterate },
      { baseline: { label: 'raw read of the export file, split into lines', rateTarget: 200_000, informational: true }, rawSamples: child.readLines },
    ]),
  );

  const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
  const worst = Math.max(...child.exportRss.map((r) => r.peak - r.start));
  const first = child.exportRss[0]!;
  const rssTarget = 50;
  const notes = [
    `audit log: ${fmt(head)} entries (${fmt(head / 1000)} signed checkpoints) built in ${buildSeconds.toFixed(1)} s with the vault's own AuditLog/entry code (bench/audit-log-builder.ts); every verify returned ok:true; ${settings.rounds} full passes per side`,
    `export file: ${(child.exportBytes / 1024 / 1024).toFixed(0)} MB, ${Math.round(child.exportBytes / head)} bytes/entry; verifyAuditExportFile returned ok:true for every export`,
    `RSS during the ${entriesLabel} export (child process, sampled every 50 ms, after gc): first export +${mb(first.peak - first.start)} MB (start ${mb(first.start)} MB, peak ${mb(first.peak)} MB); worst of ${child.exportRss.length} exports +${mb(worst)} MB; target ≤ ~${rssTarget} MB: ${worst / 1024 / 1024 <= rssTarget ? 'pass' : 'FAIL'}`,
    `RSS during verifyAuditExportFile: worst +${mb(Math.max(...child.verifyRss.map((r) => r.peak - r.start)))} MB (information)`,
    `export child process: ${childSeconds.toFixed(1)} s`,
  ];
  return {
    rows,
    notes,
    details: {
      entries: head,
      buildSeconds,
      exportBytes: child.exportBytes,
      exportRss: child.exportRss,
      verifyRss: child.verifyRss,
      rssTargetMb: rssTarget,
      rssPass: worst / 1024 / 1024 <= rssTarget,
    },
  };
}
