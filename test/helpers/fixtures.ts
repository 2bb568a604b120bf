/** Shared fixtures for integration tests: a fresh folder, key and vault per test. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { generateKeyFile, keyFile, openVault, type VaultOptions } from '../../src/index.js';
import { testPolicy } from './policy.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A new empty folder, removed after the test. */
export function tempDir(prefix = 'childvault-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

export const ctx = { actor: 'svc:test', role: 'service', purpose: 'account' } as const;

export const sampleLocation = { lat: 30.2741, lon: 120.1551, accuracyM: 12, capturedAt: '2026-11-01T08:00:00Z' };
export const sampleContact = { phone: '+8613800138000', email: 'parent@example.com', address: 'No. 1 Test Road, Hangzhou' };

/** A vault in a fresh folder with a fresh key file; returns paths to reopen it. */
type FixtureOptions = Omit<Partial<VaultOptions>, 'categories' | 'path' | 'masterKey'>;

export async function freshVault(options: FixtureOptions = {}) {
  const dir = tempDir();
  const path = join(dir, 'pool.db');
  const keyPath = join(dir, 'master.key');
  await generateKeyFile(keyPath);
  const vault = await openVault({ create: true, path, masterKey: keyFile(keyPath), policy: testPolicy, ...options });
  return { dir, path, keyPath, vault, reopen: (more: FixtureOptions = {}) => openVault({ create: true, path, masterKey: keyFile(keyPath), policy: testPolicy, ...more }) };
}
