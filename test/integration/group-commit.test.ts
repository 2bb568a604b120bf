/**
 * Group commit: operations in flight together share one transaction and one commit, each with its
 * own decision, audit entry and outcome; none is acknowledged before the commit that holds it.
 * Commits are counted in the write-ahead log itself (a frame with a non-zero "database size after
 * commit" field ends a commit), and the durability test kills a real child process.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateKeyFile, isVaultError, keyFile, openVault, type AccessContext } from '../../src/index.js';
import { tempDir } from '../helpers/fixtures.js';
import { EXAMPLE_POLICY_PATH, testPolicy } from '../helpers/policy.js';
import { completion, startScript } from '../helpers/processes.js';

const ctx = { actor: 'svc:test', role: 'service', purpose: 'account' } as const;
const location = (lat: number) => ({ lat, lon: 120.15, capturedAt: '2026-11-01T08:00:00Z' });

/** Commit records in the -wal file: frames whose header's second u32 (db size after commit) is non-zero. */
function walCommits(path: string): number {
  let wal: Buffer;
  try {
    wal = readFileSync(`${path}-wal`);
  } catch {
    return 0;
  }
  if (wal.length < 32) return 0;
  const pageSize = wal.readUInt32BE(8);
  let commits = 0;
  for (let at = 32; at + 24 + pageSize <= wal.length; at += 24 + pageSize) if (wal.readUInt32BE(at + 4) !== 0) commits++;
  return commits;
}

async function fresh(policy: string | typeof testPolicy = testPolicy) {
  const dir = tempDir();
  const path = join(dir, 'pool.db');
  const keyPath = join(dir, 'master.key');
  const vault = await openVault({ create: true, path, masterKey: await generateKeyFile(keyPath), policy });
  return { dir, path, keyPath, vault };
}

describe('group commit', () => {
  it('commits 64 puts in flight together in a few commits, and 64 puts awaited one by one in 64', async () => {
    const { vault, path } = await fresh();
    await vault.put('u:warm', { location: location(1) }, ctx);
    const before = walCommits(path);
    await Promise.all(Array.from({ length: 64 }, (_, i) => vault.put(`u:c${i}`, { location: location(i / 10) }, ctx)));
    const together = walCommits(path) - before;
    expect(together).toBeGreaterThanOrEqual(1);
    expect(together).toBeLessThanOrEqual(2);
    const middle = walCommits(path);
    for (let i = 0; i < 64; i++) await vault.put(`u:s${i}`, { location: location(i / 10) }, ctx);
    expect(walCommits(path) - middle).toBe(64);
    for (const i of [0, 63]) expect((await vault.get(`u:c${i}`, ['location'], ctx)).location?.reveal().lat).toBe(i / 10);
    expect((await vault.audit.verify(ctx)).ok).toBe(true);
    await vault.close();
  });

  it('gives each operation its own outcome: a refusal fails alone, is recorded, and the others commit', async () => {
    const { vault, path } = await fresh(EXAMPLE_POLICY_PATH);
    const operator: AccessContext = { actor: 'cli:op', role: 'operator', purpose: 'legacy-import' };
    const guardian: AccessContext = { actor: 'svc:portal', role: 'guardian-portal', purpose: 'guardian-access' };
    const sharing: AccessContext = { actor: 'svc:app', role: 'service', purpose: 'location-sharing' };
    for (let i = 0; i < 8; i++) await vault.put(`u:${i}`, { location: location(i) }, operator);
    for (let i = 0; i < 8; i += 2) await vault.consent.grant(`u:${i}`, { purpose: 'location-sharing', categories: ['location'], guardianRef: 'g:1', verification: 'sms-code', noticeVersion: '2026-09' }, guardian);
    const before = walCommits(path);
    // Even children have consent (allowed), odd ones do not (CONSENT_REQUIRED inside the transaction), interleaved with puts.
    const outcomes = await Promise.allSettled(
      Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? vault.get(`u:${i / 2}`, ['location'], sharing) : vault.put(`u:new${i}`, { location: location(i) }, operator))),
    );
    const codes = outcomes.map((o) => (o.status === 'fulfilled' ? 'ok' : isVaultError(o.reason) ? o.reason.code : 'other'));
    expect(codes).toEqual(Array.from({ length: 16 }, (_, i) => (i % 2 === 1 || (i / 2) % 2 === 0 ? 'ok' : 'CONSENT_REQUIRED')));
    // The allowed reads returned their own child's value.
    const first = outcomes[0];
    expect(first?.status === 'fulfilled' ? (first.value as { location?: { reveal(): { lat: number } } }).location?.reveal().lat : null).toBe(0);
    // One commit for the batch, one for the four refusal entries (each in its own transaction, batched too).
    expect(walCommits(path) - before).toBeLessThanOrEqual(3);
    for (let i = 1; i < 16; i += 2) expect(await vault.get(`u:new${i}`, ['location'], guardian)).toHaveProperty('location');
    const entries = await vault.audit.verify({ actor: 'staff:cpo-li', role: 'officer', purpose: 'oversight' });
    expect(entries.ok).toBe(true);
    await vault.close();
  });

  it('acknowledges nothing before its commit: a child killed mid-stream keeps every put it reported', async () => {
    const { path, keyPath, vault } = await fresh();
    await vault.close();
    const child = startScript(`
      import { openVault, keyFile } from 'childvault';
      const vault = await openVault({ path: ${JSON.stringify(path)}, masterKey: keyFile(${JSON.stringify(keyPath)}), policy: ${JSON.stringify(testPolicy)} });
      const ctx = { actor: 'svc:test', role: 'service', purpose: 'account' };
      for (let round = 0; ; round++) {
        await Promise.all(Array.from({ length: 32 }, (_, i) => vault.put('u:r' + round + '-' + i, { location: { lat: 1, lon: 2, capturedAt: '2026-11-01T08:00:00Z' } }, ctx)
          .then(() => process.stdout.write('u:r' + round + '-' + i + '\\n'))));
      }
    `);
    const done = completion(child);
    const acknowledged: string[] = [];
    await new Promise<void>((resolve) => {
      let buffer = '';
      child.stdout?.on('data', (d: Buffer) => {
        buffer += d.toString();
        const lines = buffer.split('\n');
        buffer = lines.pop() ?? '';
        acknowledged.push(...lines);
        // Kill inside the stream of acknowledgements, once several batches have been reported.
        if (acknowledged.length >= 200 && child.exitCode === null) {
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
    expect((await done).signal).toBe('SIGKILL');
    const reopened = await openVault({ path, masterKey: keyFile(keyPath), policy: testPolicy });
    const got = await reopened.getMany(acknowledged.map((subject) => ({ subject, categories: ['location'] })), ctx);
    expect(got.filter((r) => r.location === undefined)).toEqual([]);
    expect((await reopened.audit.verify(ctx)).ok).toBe(true);
    await reopened.close();
  }, 60_000);
});
