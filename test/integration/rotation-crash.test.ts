/**
 * KEK rotation under faults, in real child processes running the built CLI: killed with SIGKILL
 * at 20 points over 20,000 data keys, and run out of disk space. After every fault the vault
 * opens; at the end every value decrypts and matches, and the audit chain verifies.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { keyFile, openVault } from '../../src/index.js';
import { ctx, freshVault } from '../helpers/fixtures.js';
import { testPolicy } from '../helpers/policy.js';
import { CLI, completion, runCli } from '../helpers/processes.js';

const SUBJECTS = 20_000;
const KILLS = 20;

function rotationState(path: string): { keks: string; running: number } {
  const db = new Database(path, { readonly: true });
  try {
    const keks = (db.prepare('SELECT version, state FROM keks ORDER BY version').all() as { version: number; state: string }[]).map((k) => `v${k.version}:${k.state}`).join(' ');
    const running = (db.prepare('SELECT count(*) AS n FROM key_rotations WHERE finished_at IS NULL').get() as { n: number }).n;
    return { keks, running };
  } finally {
    db.close();
  }
}

async function seeded() {
  const f = await freshVault();
  for (let i = 0; i < SUBJECTS; i += 1000) {
    await f.vault.putMany(
      Array.from({ length: 1000 }, (_, j) => ({ subject: `u:${i + j}`, values: { location: { lat: ((i + j) % 179) - 89, lon: (i + j) % 180, capturedAt: '2026-11-01T08:00:00Z' } } })),
      ctx,
    );
  }
  await f.vault.close();
  const policyFile = join(f.dir, 'policy.json');
  writeFileSync(policyFile, JSON.stringify(testPolicy));
  const args = ['--db', f.path, '--key-file', f.keyPath, '--policy', policyFile, '--role', 'service', '--purpose', 'account'];
  return { ...f, args };
}

async function expectEveryValue(path: string, keyPath: string): Promise<void> {
  const vault = await openVault({ create: true, path, masterKey: keyFile(keyPath), policy: testPolicy });
  try {
    for (let i = 0; i < SUBJECTS; i += 500) {
      const got = await vault.getMany(
        Array.from({ length: 500 }, (_, j) => ({ subject: `u:${i + j}`, categories: ['location'] as const })),
        ctx,
      );
      got.forEach((r, j) => {
        const v = r.location?.reveal();
        if (v?.lat !== ((i + j) % 179) - 89 || v.lon !== (i + j) % 180) throw new Error(`u:${i + j} lost or wrong after rotation faults`);
      });
    }
    expect((await vault.audit.verify(ctx)).ok).toBe(true);
  } finally {
    await vault.close();
  }
}

describe('KEK rotation under faults', () => {
  it(`finishes after SIGKILL at ${KILLS} points over ${SUBJECTS} data keys, losing nothing`, async () => {
    const { path, keyPath, args } = await seeded();
    const points: string[] = [];
    for (let k = 0; k < KILLS; k++) {
      const child = spawn(process.execPath, [CLI, 'keys', 'rotate', '--batch-size', String(200 + k * 37), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      const done = completion(child);
      // Spread the kills from process start-up through rotation start to deep inside the batches.
      await new Promise((r) => setTimeout(r, 150 + ((k * 97) % 1100)));
      child.kill('SIGKILL');
      const result = await done;
      points.push(`${result.signal ?? `exit ${String(result.code)}`} ${JSON.stringify(rotationState(path))}`);
      // After each kill the vault opens and reads.
      const vault = await openVault({ create: true, path, masterKey: keyFile(keyPath), policy: testPolicy });
      expect((await vault.get('u:12345', ['location'], ctx)).location?.reveal().lon).toBe(12345 % 180);
      await vault.close();
    }
    expect(points.filter((p) => p.includes('"running":1')).length, points.join('\n')).toBeGreaterThan(3); // some kills landed mid-rotation
    const finish = await runCli(['keys', 'rotate', ...args]);
    expect(finish.stderr).toBe('');
    expect(finish.code).toBe(0);
    const state = rotationState(path);
    expect(state.running).toBe(0);
    const active = state.keks.split(' ').find((k) => k.endsWith(':active'));
    const db = new Database(path, { readonly: true });
    const stale = (db.prepare(`SELECT count(*) AS n FROM records WHERE kek_version != ${active?.slice(1, active.indexOf(':')) ?? '0'}`).get() as { n: number }).n;
    db.close();
    expect(stale).toBe(0);
    await expectEveryValue(path, keyPath);
  });

  it('fails cleanly when the disk fills up mid-rotation, then finishes', async () => {
    const { path, keyPath, args } = await seeded();
    // No file of the child may grow past 512 KiB (ulimit -f, SIGXFSZ ignored: writes fail like a
    // full disk). The write-ahead log starts empty: enough room to open the vault and start the
    // rotation, not to rewrap a batch of 5000 keys.
    const blocks = 1024;
    const child = spawn('bash', ['-c', `trap '' XFSZ; ulimit -f ${blocks}; exec "$0" "$@"`, process.execPath, CLI, 'keys', 'rotate', '--batch-size', '5000', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const full = await completion(child);
    expect(full.code).toBe(1);
    expect(full.stderr).toMatch(/\[STORAGE\]\n$/);
    expect(rotationState(path).running).toBe(1);
    const finish = await runCli(['keys', 'rotate', ...args]);
    expect(finish.code).toBe(0);
    expect(finish.stdout).toContain('finished the interrupted rotation');
    await expectEveryValue(path, keyPath);
  });
});
