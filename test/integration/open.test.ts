/** Opening vaults: wrong keys, foreign and broken files, races between processes, concurrent writers. */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { generateKeyFile, keyFile, openVault, passphraseKey } from '../../src/index.js';
import { testPolicy } from '../helpers/policy.js';
import { ctx, freshVault, sampleContact, sampleLocation, tempDir } from '../helpers/fixtures.js';
import { completion, runScript, startScript } from '../helpers/processes.js';
import { errorOf } from '../helpers/unit-errors.js';

const digest = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const fastPassphrase = (p: string) => passphraseKey(p, { opsLimit: 2, memLimit: 64 * 1024 * 1024 });

describe('the master key', () => {
  it('refuses a wrong key file with WRONG_MASTER_KEY and changes no data (only the audit entry of the attempt)', async () => {
    const { vault, path, dir } = await freshVault();
    await vault.put('u:1', { contact: sampleContact }, ctx);
    await vault.close();
    const snapshot = () => {
      const db = new Database(path, { readonly: true });
      try {
        return JSON.stringify(['vault_meta', 'vault_keys', 'keks', 'records', 'record_chunks', 'audit_subjects', 'schema_migrations'].map((t) => db.prepare(`SELECT * FROM ${t}`).all()));
      } finally {
        db.close();
      }
    };
    const before = snapshot();
    const other = await generateKeyFile(join(dir, 'other.key'));
    const error = await errorOf(openVault({ create: true, path, masterKey: other }));
    expect(error.code).toBe('WRONG_MASTER_KEY');
    expect(snapshot()).toBe(before);
  });

  it('opens with the same key given through the environment', async () => {
    const { vault, path, keyPath } = await freshVault();
    await vault.put('u:1', { contact: sampleContact }, ctx);
    await vault.close();
    process.env['CHILDVAULT_TEST_KEY'] = readFileSync(keyPath).toString('base64');
    try {
      const { envKey } = await import('../../src/index.js');
      const again = await openVault({ create: true, path, masterKey: envKey('CHILDVAULT_TEST_KEY'), policy: testPolicy });
      expect((await again.get('u:1', ['contact'], ctx)).contact?.reveal()).toEqual(sampleContact);
      await again.close();
    } finally {
      delete process.env['CHILDVAULT_TEST_KEY'];
    }
  });

  it('keeps passphrase salt and costs in the vault and refuses a wrong passphrase', async () => {
    const path = join(tempDir(), 'pool.db');
    const vault = await openVault({ create: true, path, masterKey: fastPassphrase('correct horse battery staple'), policy: testPolicy });
    await vault.put('u:1', { location: sampleLocation }, ctx);
    await vault.close();
    const again = await openVault({ create: true, path, masterKey: fastPassphrase('correct horse battery staple'), policy: testPolicy });
    expect((await again.get('u:1', ['location'], ctx)).location?.reveal()).toEqual(sampleLocation);
    await again.close();
    expect((await errorOf(openVault({ create: true, path, masterKey: fastPassphrase('wrong horse battery staple') }))).code).toBe('WRONG_MASTER_KEY');
  });

  it('names the kind of key the vault expects when another kind is given', async () => {
    const { vault, path } = await freshVault();
    await vault.close();
    const error = await errorOf(openVault({ create: true, path, masterKey: fastPassphrase('a long enough passphrase') }));
    expect(error.code).toBe('WRONG_MASTER_KEY');
    expect(error.message).toContain('"raw-key"');
    expect(error.message).toContain('"passphrase"');
  });

  it('reports a missing key file as MASTER_KEY_UNAVAILABLE, before touching the vault', async () => {
    const { vault, path, dir } = await freshVault();
    await vault.close();
    const error = await errorOf(openVault({ create: true, path, masterKey: keyFile(join(dir, 'missing.key')) }));
    expect(error.code).toBe('MASTER_KEY_UNAVAILABLE');
  });
});

describe('files that are not healthy vaults', () => {
  it('refuses a file that is not SQLite, unchanged', async () => {
    const dir = tempDir();
    const path = join(dir, 'notes.txt');
    writeFileSync(path, 'Dear diary, this is not a database. '.repeat(200));
    const before = digest(path);
    const error = await errorOf(openVault({ create: true, path, masterKey: await generateKeyFile(join(dir, 'k')) }));
    expect(error.code).toBe('CORRUPT');
    expect(digest(path)).toBe(before);
  });

  it("refuses another application's SQLite database, unchanged", async () => {
    const dir = tempDir();
    const path = join(dir, 'app.db');
    const other = new Database(path);
    other.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('x')");
    other.close();
    const before = digest(path);
    const error = await errorOf(openVault({ create: true, path, masterKey: await generateKeyFile(join(dir, 'k')) }));
    expect(error.code).toBe('CORRUPT');
    expect(digest(path)).toBe(before);
  });

  it('refuses a truncated vault file and leaves the intact copy readable', async () => {
    const { vault, path, dir, keyPath } = await freshVault();
    const items = Array.from({ length: 300 }, (_, i) => ({ subject: `u:${i}`, values: { contact: sampleContact, location: sampleLocation } }));
    await vault.putMany(items, ctx);
    await vault.close();
    const copy = join(dir, 'copy.db');
    copyFileSync(path, copy);
    truncateSync(path, Math.floor(readFileSync(path).length / 3));
    const error = await errorOf(
      (async () => {
        const broken = await openVault({ create: true, path, masterKey: keyFile(keyPath), policy: testPolicy });
        try {
          for (let i = 0; i < 300; i++) await broken.get(`u:${i}`, ['contact'], ctx);
        } finally {
          await broken.close();
        }
      })(),
    );
    expect(error.code).toBe('CORRUPT');
    const intact = await openVault({ create: true, path: copy, masterKey: keyFile(keyPath), policy: testPolicy });
    expect((await intact.get('u:299', ['contact'], ctx)).contact?.reveal()).toEqual(sampleContact);
    await intact.close();
  });

  it('never creates a vault unless asked: a mistyped path, an empty file and :memory: are NOT_FOUND, and nothing is written', async () => {
    const dir = tempDir();
    const masterKey = await generateKeyFile(join(dir, 'k'));
    const typo = join(dir, 'typo.db');
    const error = await errorOf(openVault({ path: typo, masterKey }));
    expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toContain('pass create: true');
    expect(error.field).toBe('options.path');
    expect(existsSync(typo)).toBe(false);
    const empty = join(dir, 'empty.db');
    writeFileSync(empty, '');
    expect((await errorOf(openVault({ path: empty, masterKey }))).code).toBe('NOT_FOUND');
    expect(statSync(empty).size).toBe(0);
    expect((await errorOf(openVault({ path: ':memory:', masterKey }))).code).toBe('NOT_FOUND');
    // Asked: made, and opened again without the option.
    const made = await openVault({ path: typo, masterKey, create: true });
    const id = made.id;
    await made.close();
    const again = await openVault({ path: typo, masterKey });
    expect(again.id).toBe(id);
    await again.close();
  });
});

describe('several processes', () => {
  const openAndReport = (path: string, keyPath: string) => `
    import { openVault, keyFile } from 'childvault';
    const vault = await openVault({ create: true, path: ${JSON.stringify(path)}, masterKey: keyFile(${JSON.stringify(keyPath)}) });
    process.stdout.write(vault.id);
    await vault.close();`;

  it('lets two processes create the same new vault at once: one vault results', async () => {
    for (let round = 0; round < 3; round++) {
      const dir = tempDir();
      const keyPath = join(dir, 'k');
      await generateKeyFile(keyPath);
      const path = join(dir, 'pool.db');
      const [a, b] = await Promise.all([runScript(openAndReport(path, keyPath)), runScript(openAndReport(path, keyPath))]);
      expect(a.stderr).toBe('');
      expect(b.stderr).toBe('');
      expect(a.code).toBe(0);
      expect(b.code).toBe(0);
      expect(a.stdout).toMatch(/^[0-9a-f-]{36}$/);
      expect(b.stdout).toBe(a.stdout);
    }
  });

  it('loses nothing when two processes write the same vault at once', async () => {
    const { vault, path, keyPath } = await freshVault();
    await vault.close();
    const writer = (name: string) => `
      import { openVault, keyFile } from 'childvault';
      const vault = await openVault({ create: true, path: ${JSON.stringify(path)}, masterKey: keyFile(${JSON.stringify(keyPath)}), policy: ${JSON.stringify(testPolicy)} });
      const ctx = { actor: 'svc:${name}', role: 'service', purpose: 'account' };
      for (let i = 0; i < 150; i++) {
        await vault.put('${name}:' + i, { location: { lat: i % 90, lon: 1, capturedAt: '2026-01-01T00:00:00Z' } }, ctx);
        if (i % 10 === 0) await vault.putMany([{ subject: '${name}:batch' + i, values: { contact: { phone: '+8613800000000' } } }], ctx);
      }
      await vault.close();`;
    const results = await Promise.all([completion(startScript(writer('a'))), completion(startScript(writer('b')))]);
    for (const r of results) {
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
    const reader = await openVault({ create: true, path, masterKey: keyFile(keyPath), policy: testPolicy });
    const status = await reader.status(ctx);
    expect(status.categories.find((c) => c.name === 'location')?.values).toBe(300);
    expect(status.categories.find((c) => c.name === 'contact')?.values).toBe(30);
    for (const name of ['a', 'b']) {
      for (const i of [0, 77, 149]) expect((await reader.get(`${name}:${i}`, ['location'], ctx)).location?.reveal().lat).toBe(i % 90);
    }
    await reader.close();
  });
});
