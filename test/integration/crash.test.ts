/**
 * Crash safety: an import killed with SIGKILL mid-run leaves a vault that opens, is consistent,
 * and holds exactly the batches that committed — a prefix of the file, in whole batches.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { keyFile, openVault } from '../../src/index.js';
import { tempDir } from '../helpers/fixtures.js';
import { EXAMPLE_POLICY_PATH } from '../helpers/policy.js';

const ctx = { actor: 'svc:guardian-portal', role: 'guardian-portal', purpose: 'guardian-access' };
import { CLI, completion, runCli } from '../helpers/processes.js';

const LINES = 20_000;
const BATCH = 250;

function countRecords(path: string): number {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM records').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe('import killed with SIGKILL', () => {
  it.each([1, 2])('keeps exactly the committed batches and can be rerun to completion (run %i)', async (run) => {
    const dir = tempDir();
    const db = join(dir, 'pool.db');
    const key = join(dir, 'master.key');
    expect((await runCli(['init', '--db', db, '--new-key-file', key])).code).toBe(0);
    const file = join(dir, 'legacy.jsonl');
    const lines = Array.from({ length: LINES }, (_, i) =>
      JSON.stringify({ subject: `u:${i}`, category: 'location', value: { lat: (i % 180) - 90, lon: 120, capturedAt: '2026-11-01T08:00:00Z' } }),
    );
    writeFileSync(file, `${lines.join('\n')}\n`);

    const child = spawn(process.execPath, [CLI, 'import', file, '--db', db, '--key-file', key, '--policy', EXAMPLE_POLICY_PATH, '--batch-size', String(BATCH)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const done = completion(child);
    // Kill at a different depth each run, once some batches have committed.
    const killAfter = run * 3 * BATCH;
    let seen = 0;
    const started = Date.now();
    while (seen < killAfter && Date.now() - started < 60_000 && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 5));
      try {
        seen = countRecords(db);
      } catch {
        seen = 0; // the writer holds a lock for a moment
      }
    }
    child.kill('SIGKILL');
    const result = await done;
    expect(result.signal).toBe('SIGKILL');

    const committed = countRecords(db);
    expect(committed).toBeGreaterThanOrEqual(killAfter);
    expect(committed).toBeLessThan(LINES);
    expect(committed % BATCH).toBe(0);

    const vault = await openVault({ create: true, path: db, masterKey: keyFile(key), policy: EXAMPLE_POLICY_PATH });
    const integrity = new Database(db, { readonly: true });
    expect(integrity.pragma('integrity_check', { simple: true })).toBe('ok');
    integrity.close();
    // A prefix of the file: the last committed line is there, the next one is not.
    for (const i of [0, committed - 1]) {
      expect((await vault.get(`u:${i}`, ['location'], ctx)).location?.reveal().lat).toBe((i % 180) - 90);
    }
    expect(await vault.get(`u:${committed}`, ['location'], ctx)).toEqual({});
    await vault.close();

    const rerun = await runCli(['import', file, '--db', db, '--key-file', key, '--policy', EXAMPLE_POLICY_PATH, '--batch-size', '2000']);
    expect(rerun.code).toBe(0);
    expect(countRecords(db)).toBe(LINES);
  });
});
