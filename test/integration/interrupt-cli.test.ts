/**
 * Ctrl-C (SIGINT) during the long CLI commands: exit 130, one line saying what was committed and
 * how to resume, and a rerun that finishes the work. The signal is sent once the child's work is
 * visibly under way in the vault file (committed rows), not after a timer.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/fixtures.js';
import { EXAMPLE_POLICY_PATH } from '../helpers/policy.js';
import { CLI, completion, runCli } from '../helpers/processes.js';

const LINES = 20_000;

function count(path: string, sql: string): number {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare(sql).get() as { n: number }).n;
  } catch {
    return 0; // the writer holds a lock for a moment
  } finally {
    db.close();
  }
}

/** Starts the CLI with `args` and sends SIGINT once `started()` holds (polled on the file the child writes). */
async function interruptWhen(args: string[], started: () => boolean) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const done = completion(child);
  const deadline = Date.now() + 60_000;
  while (!started() && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  child.kill('SIGINT');
  return done;
}

async function setup() {
  const dir = tempDir();
  const db = join(dir, 'pool.db');
  const key = join(dir, 'master.key');
  expect((await runCli(['init', '--db', db, '--new-key-file', key])).code).toBe(0);
  const file = join(dir, 'legacy.jsonl');
  const lines = Array.from({ length: LINES }, (_, i) => JSON.stringify({ subject: `u:${i}`, category: 'location', value: { lat: 30, lon: 120, capturedAt: '2026-11-01T08:00:00Z' } }));
  writeFileSync(file, `${lines.join('\n')}\n`);
  return { db, file, args: ['--db', db, '--key-file', key, '--policy', EXAMPLE_POLICY_PATH] };
}

describe('SIGINT', () => {
  it('during import: exit 130, says how many values the vault holds and that rerunning finishes', async () => {
    const { db, file, args } = await setup();
    const result = await interruptWhen(['import', file, '--batch-size', '200', ...args], () => count(db, 'SELECT count(*) AS n FROM records') >= 1000);
    expect(result.code).toBe(130);
    const said = /childvault: interrupted: (\d+) of 20000 values imported, in whole batches: the vault holds exactly those\. Run the import again to finish .* \[INTERRUPTED\]\n$/.exec(result.stderr);
    expect(said, result.stderr).not.toBeNull();
    const reported = Number(said?.[1]);
    expect(reported).toBeGreaterThanOrEqual(1000);
    expect(reported).toBeLessThan(LINES);
    expect(count(db, 'SELECT count(*) AS n FROM records')).toBe(reported);
    const rerun = await runCli(['import', file, ...args]);
    expect(rerun.code).toBe(0);
    expect(count(db, 'SELECT count(*) AS n FROM records')).toBe(LINES);
  }, 120_000);

  it('during keys rotate: exit 130, says what was rewrapped, and a rerun finishes the same rotation', async () => {
    const { db, file, args } = await setup();
    expect((await runCli(['import', file, ...args])).code).toBe(0);
    const result = await interruptWhen(['keys', 'rotate', '--batch-size', '100', ...args], () => count(db, 'SELECT count(*) AS n FROM records WHERE kek_version = 2') >= 1000);
    expect(result.code).toBe(130);
    expect(result.stderr).toMatch(/childvault: interrupted: the KEK rotation had \d+ of 20000 data keys rewrapped, committed in whole batches; .* Run `childvault keys rotate` again to finish the same rotation \[INTERRUPTED\]\n$/);
    const rewrapped = count(db, 'SELECT count(*) AS n FROM records WHERE kek_version = 2');
    expect(rewrapped).toBeGreaterThanOrEqual(1000);
    expect(rewrapped).toBeLessThan(LINES);
    const rerun = await runCli(['keys', 'rotate', ...args]);
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toContain('finished the interrupted rotation to KEK v2');
    expect(count(db, 'SELECT count(*) AS n FROM records WHERE kek_version = 2')).toBe(LINES);
  }, 120_000);
});
