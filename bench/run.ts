/**
 * `npm run bench`: measures each vault operation beside a raw baseline in one run and prints
 * vault/raw throughput ratios (1.0 = no overhead). Results also go to bench/results/latest.json.
 *
 * Environment: BENCH_SAMPLE_MS (default 400) and BENCH_ROUNDS (default 5) trade time for stability;
 * BENCH_ONLY=<text> measures only the cases whose name contains it (`audit` selects the audit-log
 * cases). The audit-log cases run over a log of BENCH_AUDIT_ENTRIES entries (default 1,000,000),
 * built fresh in every run, in BENCH_AUDIT_ROUNDS full passes per side (default 2: a pass over a
 * million entries takes seconds, and the whole run must stay within about four minutes).
 * The KEK-rotation case (BENCH_ONLY=rotation) rotates a vault of BENCH_ROTATION_KEYS data keys
 * (default 1,000,000; see bench/rotation-ops.ts for its other settings).
 */
import sodium from 'libsodium-wrappers-sumo';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, platform, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AUDIT_CASES, runAuditCases } from './audit-ops.js';
import { GUARD_CASE_PREFIX, runGuardCases } from './guard-ops.js';
import { markdownTable, runCase, writeJson, type ResultRow, type Settings } from './harness.js';
import { runScanCases, SCAN_CASES } from './scan-ops.js';
import { ROTATION_CASE, runRotationCase } from './rotation-ops.js';
import { createSuite } from './vault-ops.js';

function packageVersion(name: string): string {
  const path = new URL(`../node_modules/${name}/package.json`, import.meta.url);
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}

async function main(): Promise<void> {
  const started = performance.now();
  const settings: Settings = {
    rounds: Number(process.env['BENCH_ROUNDS'] ?? 5),
    sampleMs: Number(process.env['BENCH_SAMPLE_MS'] ?? 400),
    slices: 8,
    warmupMs: 200,
  };
  await sodium.ready;
  const dir = mkdtempSync(join(tmpdir(), 'childvault-bench-'));
  const audit = {
    entries: Number(process.env['BENCH_AUDIT_ENTRIES'] ?? 1_000_000),
    rounds: Number(process.env['BENCH_AUDIT_ROUNDS'] ?? 2),
  };
  if (!Number.isSafeInteger(audit.entries) || audit.entries < 1000) throw new Error('BENCH_AUDIT_ENTRIES: give a whole number ≥ 1000');
  if (!Number.isSafeInteger(audit.rounds) || audit.rounds < 1) throw new Error('BENCH_AUDIT_ROUNDS: give a whole number ≥ 1');
  const rotation = {
    keys: Number(process.env['BENCH_ROTATION_KEYS'] ?? 1_000_000),
    rounds: Number(process.env['BENCH_ROTATION_ROUNDS'] ?? 1),
    prewriteMs: Number(process.env['BENCH_ROTATION_PREWRITE_MS'] ?? 3000),
  };
  if (!Number.isSafeInteger(rotation.keys) || rotation.keys < 10_000) throw new Error('BENCH_ROTATION_KEYS: give a whole number ≥ 10000');
  if (!Number.isSafeInteger(rotation.rounds) || rotation.rounds < 1) throw new Error('BENCH_ROTATION_ROUNDS: give a whole number ≥ 1');
  if (!Number.isFinite(rotation.prewriteMs) || rotation.prewriteMs < 500) throw new Error('BENCH_ROTATION_PREWRITE_MS: give at least 500');
  const log = (line: string): void => {
    console.error(`[${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}`);
  };
  const rows: ResultRow[] = [];
  const notes: string[] = [];
  let auditDetails: Record<string, unknown> | null = null;
  let rotationDetails: Record<string, unknown> | null = null;
  let sqliteVersion = '?';
  try {
    const only = process.env['BENCH_ONLY'];
    const suite = await createSuite(dir);
    sqliteVersion = suite.sqliteVersion;
    try {
      for (const c of suite.cases.filter((x) => only === undefined || x.name.includes(only))) {
        log(`measuring ${c.name} …`);
        rows.push(...(await runCase(c, settings, log)));
      }
      notes.push(...suite.notes(rows));
    } finally {
      await suite.close();
    }
    if (only === undefined || AUDIT_CASES.some((name) => name.includes(only))) {
      const results = await runAuditCases(dir, audit, log);
      rows.push(...results.rows);
      notes.push(...results.notes);
      auditDetails = results.details;
    }
    if (only === undefined || GUARD_CASE_PREFIX.includes(only)) {
      const results = await runGuardCases(dir, settings, log);
      rows.push(...results.rows);
      notes.push(...results.notes);
    }
    if (only === undefined || SCAN_CASES.some((name) => name.includes(only))) {
      const results = await runScanCases(dir, log);
      rows.push(...results.rows);
      notes.push(...results.notes);
    }
    if (only === undefined || ROTATION_CASE.includes(only)) {
      const results = await runRotationCase(dir, rotation, log);
      rows.push(...results.rows);
      notes.push(...results.notes);
      rotationDetails = results.details;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const environment = {
    node: process.version,
    sqlite: sqliteVersion,
    betterSqlite3: packageVersion('better-sqlite3'),
    libsodium: sodium.SODIUM_VERSION_STRING,
    libsodiumWrappersSumo: packageVersion('libsodium-wrappers-sumo'),
    platform: `${platform()} ${release()}`,
    cpu,
    cores: availableParallelism(),
    tmpdir: tmpdir(),
  };
  const seconds = (performance.now() - started) / 1000;
  console.log(`\n## childvault benchmark\n`);
  console.log(`Node ${environment.node} · SQLite ${environment.sqlite} (better-sqlite3 ${environment.betterSqlite3}) · libsodium ${environment.libsodium} (libsodium-wrappers-sumo ${environment.libsodiumWrappersSumo})`);
  console.log(`${environment.cores} cores (${cpu}) · ${environment.platform} · files in ${environment.tmpdir}`);
  console.log(`${settings.rounds} rounds of ${settings.sampleMs} ms per side (in ${settings.slices} alternating slices), ops/s = median per side; ratio = median of per-round vault ops/s ÷ raw ops/s (1.00 = no overhead, higher is better)`);
  console.log(`audit-log cases: ${audit.rounds} full passes per side over ${audit.entries.toLocaleString('en-US')} entries; targets marked /s are absolute (vault items/s); "(info)" targets are not counted as misses`);
  console.log(`KEK rotation: one full rotation per side per round (${rotation.rounds} round(s)) over ${rotation.keys.toLocaleString('en-US')} data keys, each in a fresh child process; ratio = vault DEKs/s ÷ raw DEKs/s = raw time ÷ vault time`);
  console.log('every vault operation appends an audit entry in its own transaction: the raw storage baselines insert a same-size audit_log row (and, for a put of a new subject, its audit_subjects row) in the same IMMEDIATE transaction\n');
  console.log(markdownTable(rows));
  if (notes.length > 0) console.log(`\n${notes.map((n) => `- ${n}`).join('\n')}`);
  console.log(`\nbench time ${seconds.toFixed(1)} s`);

  const out = fileURLToPath(new URL('./results/latest.json', import.meta.url));
  writeJson(out, { date: new Date().toISOString(), environment, settings, audit: { ...audit, ...auditDetails }, rotation: { ...rotation, ...rotationDetails }, seconds, results: rows, notes });
  console.log(`results written to ${out}`);
  const judged = rows.filter((r) => r.pass !== null && !r.informational);
  const failed = judged.filter((r) => r.pass === false).length;
  if (failed > 0) console.log(`${failed} of ${judged.length} targets missed`);
}

await main();
