/**
 * Waiting for another process's write lock must not stop the service: while a real child process
 * holds BEGIN IMMEDIATE on the vault file, a timer in this process keeps firing, the operation
 * waits (or fails with BUSY after `lockTimeoutMs`, saying how long it waited), and it completes
 * once the child lets go. The child reports when it holds the lock and when it released it; the
 * test acts on those reports, never on guessed delays.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { openVault, keyFile, type Vault } from '../../src/index.js';
import { ctx, freshVault, sampleLocation } from '../helpers/fixtures.js';
import { testPolicy } from '../helpers/policy.js';
import { ROOT } from '../helpers/processes.js';
import { expectVaultRejection } from '../helpers/unit-errors.js';

/** A process that takes the vault's write lock, says `locked`, and on `release` commits and says `released`. */
const HOLDER = `
const Database = (await import(${JSON.stringify(`${ROOT}node_modules/better-sqlite3/lib/index.js`)})).default;
const db = new Database(process.argv[1]);
db.exec('BEGIN IMMEDIATE');
console.log('locked');
process.stdin.setEncoding('utf8');
process.stdin.on('data', (text) => {
  if (!text.includes('release')) return;
  db.exec('COMMIT');
  db.close();
  console.log('released');
  process.exit(0);
});
`;

interface Holder {
  readonly child: ChildProcess;
  /** Resolves when the child reports `word` on stdout. */
  said(word: 'locked' | 'released'): Promise<void>;
  release(): Promise<void>;
}

const holders: ChildProcess[] = [];

async function holdLock(path: string): Promise<Holder> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', HOLDER, path], { stdio: ['pipe', 'pipe', 'inherit'] });
  holders.push(child);
  const lines = createInterface({ input: child.stdout });
  const seen = new Set<string>();
  const waiters = new Map<string, () => void>();
  lines.on('line', (line) => {
    seen.add(line);
    waiters.get(line)?.();
  });
  const said = (word: string): Promise<void> =>
    seen.has(word)
      ? Promise.resolve()
      : new Promise((resolve, reject) => {
          waiters.set(word, resolve);
          child.once('exit', (code) => {
            if (!seen.has(word)) reject(new Error(`lock holder exited (${code}) before saying ${word}`));
          });
        });
  await said('locked');
  return {
    child,
    said,
    release: async () => {
      child.stdin.write('release\n');
      await said('released');
    },
  };
}

/** Counts the ticks of a 10 ms timer until stopped: the event loop's pulse. */
function pulse(): { stop(): number } {
  let ticks = 0;
  const timer = setInterval(() => {
    ticks++;
  }, 10);
  return {
    stop: () => {
      clearInterval(timer);
      return ticks;
    },
  };
}

const vaults: Vault[] = [];

afterEach(async () => {
  for (const child of holders.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const v of vaults.splice(0)) await v.close().catch(() => undefined);
});

describe('waiting for the write lock of another process', () => {
  it('keeps the event loop running while a put waits, and completes the put once the lock is released', async () => {
    const { vault, path } = await freshVault();
    vaults.push(vault);
    const holder = await holdLock(path);
    const beat = pulse();
    let settled = false;
    const put = vault.put('u:waiting', { location: sampleLocation }, ctx).finally(() => {
      settled = true;
    });
    // The timer must keep firing while the put waits: 300 ms of a 10 ms timer.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const ticksWhileLocked = beat.stop();
    expect(settled).toBe(false);
    expect(ticksWhileLocked).toBeGreaterThanOrEqual(5); // of about 30 (a blocked loop: 0)
    await holder.release();
    await put;
    expect(await vault.get('u:waiting', ['location'], ctx)).toMatchObject({ location: { view: 'full' } });
  });

  it('fails with BUSY after lockTimeoutMs, naming the time it waited, and never blocks meanwhile', async () => {
    const { vault, path, keyPath } = await freshVault();
    await vault.close();
    const patient = await openVault({ create: true, path, masterKey: keyFile(keyPath), policy: testPolicy, lockTimeoutMs: 1000 });
    vaults.push(patient);
    const holder = await holdLock(path);
    const beat = pulse();
    const started = performance.now();
    const error = await expectVaultRejection(patient.put('u:busy', { location: sampleLocation }, ctx), 'BUSY');
    const waited = performance.now() - started;
    const ticks = beat.stop();
    // Once: the failure entry is not waited for a second time while the lock is still taken.
    expect(waited).toBeGreaterThanOrEqual(1000);
    expect(waited).toBeLessThan(1900);
    expect(error.message).toMatch(/storing values: the vault stayed locked by another process for \d+\.\d s \(the limit is 1\.0 s\)/);
    expect(ticks).toBeGreaterThanOrEqual(10); // of about 100
    await holder.release();
    await patient.put('u:busy', { location: sampleLocation }, ctx);
  });

  it('opens without blocking while another process holds the lock, or fails with BUSY after lockTimeoutMs', async () => {
    const { vault, path, keyPath } = await freshVault();
    await vault.close();
    const holder = await holdLock(path);
    const beat = pulse();
    await expectVaultRejection(openVault({ create: true, path, masterKey: keyFile(keyPath), policy: testPolicy, lockTimeoutMs: 300 }), 'BUSY');
    expect(beat.stop()).toBeGreaterThanOrEqual(5);
    let opened = false;
    const opening = openVault({ create: true, path, masterKey: keyFile(keyPath), policy: testPolicy }).then((v) => {
      opened = true;
      vaults.push(v);
      return v;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(opened).toBe(false);
    await holder.release();
    const reopened = await opening;
    await reopened.put('u:after-wait', { location: sampleLocation }, ctx);
  });

  it('refuses a lockTimeoutMs that is not a whole number of milliseconds, naming the option', async () => {
    const { vault, path, keyPath } = await freshVault();
    await vault.close();
    const error = await expectVaultRejection(openVault({ create: true, path, masterKey: keyFile(keyPath), policy: testPolicy, lockTimeoutMs: -1 }), 'VALIDATION');
    expect(error.message).toContain('options.lockTimeoutMs');
  });
});
