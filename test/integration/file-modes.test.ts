/**
 * A vault created through the library is readable by its owner only, like one made by
 * `childvault init`: the database file and the -wal and -shm files SQLite creates beside it.
 */
import { existsSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateKeyFile, keyFile, openVault } from '../../src/index.js';
import { ctx, sampleContact, tempDir } from '../helpers/fixtures.js';
import { testPolicy } from '../helpers/policy.js';

const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8).padStart(4, '0');

/** Runs `fn` under the common umask 022, which gives new files 0644 unless asked otherwise. */
async function withUmask022<T>(fn: () => Promise<T>): Promise<T> {
  const previous = process.umask(0o022);
  try {
    return await fn();
  } finally {
    process.umask(previous);
  }
}

describe('file modes of a vault created by openVault', () => {
  it('makes the database, its -wal and its -shm 0600 (umask 022)', async () => {
    await withUmask022(async () => {
      const dir = tempDir();
      const path = join(dir, 'pool.db');
      await generateKeyFile(join(dir, 'master.key'));
      const vault = await openVault({ create: true, path, masterKey: keyFile(join(dir, 'master.key')), policy: testPolicy, durability: 'normal' });
      try {
        await vault.put('u:1', { contact: sampleContact }, ctx);
        expect(existsSync(`${path}-wal`)).toBe(true);
        expect(existsSync(`${path}-shm`)).toBe(true);
        expect([mode(path), mode(`${path}-wal`), mode(`${path}-shm`)]).toEqual(['0600', '0600', '0600']);
      } finally {
        await vault.close();
      }
      expect(mode(path)).toBe('0600');
    });
  });

  it('leaves the mode of an existing file as it is (never re-moded, never truncated)', async () => {
    await withUmask022(async () => {
      const dir = tempDir();
      const path = join(dir, 'pool.db');
      writeFileSync(path, '');
      chmodSync(path, 0o640);
      await generateKeyFile(join(dir, 'master.key'));
      const vault = await openVault({ create: true, path, masterKey: keyFile(join(dir, 'master.key')), policy: testPolicy });
      await vault.close();
      expect(mode(path)).toBe('0640');
    });
  });

  it('reports a missing directory as STORAGE and creates nothing', async () => {
    const dir = tempDir();
    await generateKeyFile(join(dir, 'master.key'));
    await expect(openVault({ create: true, path: join(dir, 'missing', 'pool.db'), masterKey: keyFile(join(dir, 'master.key')) })).rejects.toMatchObject({ code: 'STORAGE' });
    expect(existsSync(join(dir, 'missing'))).toBe(false);
  });
});
