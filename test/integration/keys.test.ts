/** Key lifecycle: KEK rotation (rewrap and re-encrypt), master-key rotation, destruction, backup safety, retention. */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { generateKeyFile, keyFile, openVault, passphraseKey, VaultError } from '../../src/index.js';
import { ctx, freshVault, sampleContact, sampleLocation } from '../helpers/fixtures.js';
import { testPolicy } from '../helpers/policy.js';
import { completion, startScript } from '../helpers/processes.js';
import { errorOf } from '../helpers/unit-errors.js';

function rows(path: string): { dek_id: Buffer; kek_version: number; wrapped_dek: Buffer; body: Buffer }[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT dek_id, kek_version, wrapped_dek, body FROM records ORDER BY id').all() as never;
  } finally {
    db.close();
  }
}

const image = new Uint8Array(150 * 1024).map((_, i) => (i * 13) % 256);

async function seeded(count = 30) {
  const f = await freshVault();
  await f.vault.putMany(
    Array.from({ length: count }, (_, i) => ({ subject: `u:${i}`, values: { location: { ...sampleLocation, lat: i % 90 }, contact: sampleContact } })),
    ctx,
  );
  await f.vault.put('u:photo', { face: { image } }, ctx);
  return f;
}

async function expectAllReadable(vault: Awaited<ReturnType<typeof openVault>>, count = 30): Promise<void> {
  for (let i = 0; i < count; i++) expect((await vault.get(`u:${i}`, ['location'], ctx)).location?.reveal().lat).toBe(i % 90);
  expect((await vault.get('u:photo', ['face'], ctx)).face?.reveal().image).toEqual(image);
}

describe('KEK rotation', () => {
  it('rewraps every data key to a new active KEK without touching a value', async () => {
    const { vault, path } = await seeded();
    const before = rows(path);
    const summary = await vault.keys.rotate({ batchSize: 7 }, ctx);
    expect(summary).toMatchObject({ toVersion: 2, resumed: false, reencrypt: false, rewrapped: 61 });
    expect(summary.batches).toBe(9);
    const after = rows(path);
    expect(after.every((r) => r.kek_version === 2)).toBe(true);
    after.forEach((r, i) => {
      expect(r.dek_id.equals(before[i]!.dek_id)).toBe(true);
      expect(r.body.equals(before[i]!.body)).toBe(true);
      expect(r.wrapped_dek.equals(before[i]!.wrapped_dek)).toBe(false);
    });
    const status = await vault.keys.status(ctx);
    expect(status.keks.map((k) => [k.version, k.state, k.dataKeys])).toEqual([
      [1, 'retired', 0],
      [2, 'active', 61],
    ]);
    expect(status.rotationInProgress).toBeNull();
    await expectAllReadable(vault);
    await vault.close();
  });

  it('with --reencrypt, replaces every data key and re-seals every value, chunked ones included', async () => {
    const { vault, path } = await seeded();
    const before = rows(path);
    await vault.keys.rotate({ reencrypt: true, batchSize: 5 }, ctx);
    const after = rows(path);
    after.forEach((r, i) => {
      expect(r.dek_id.equals(before[i]!.dek_id)).toBe(false);
      expect(r.body.equals(before[i]!.body)).toBe(false);
    });
    await expectAllReadable(vault);
    await vault.close();
  });

  it('plans without changing anything (dry run)', async () => {
    const { vault, path } = await seeded();
    const plan = await vault.keys.plan({}, ctx);
    expect(plan).toMatchObject({ resuming: false, toVersion: 2, toRewrap: 61, reencrypt: false });
    expect(rows(path).every((r) => r.kek_version === 1)).toBe(true);
    expect((await vault.keys.status(ctx)).keks).toHaveLength(1);
    await vault.close();
  });

  it('keeps another open vault working: it picks up the new KEK for writes and reads', async () => {
    const { vault, reopen } = await seeded(5);
    const other = await reopen();
    await other.get('u:0', ['location'], ctx); // other has KEK v1 loaded only
    await vault.keys.rotate({}, ctx);
    await other.put('u:new', { contact: sampleContact }, ctx);
    expect((await other.get('u:0', ['location'], ctx)).location?.reveal().lat).toBe(0);
    expect((await vault.keys.status(ctx)).keks.find((k) => k.version === 2)?.dataKeys).toBe(12);
    await other.close();
    await vault.close();
  });

  it('runs online: a writer in another process loses nothing while keys rotate', async () => {
    const { vault, path, keyPath } = await seeded(2000);
    const writer = startScript(`
      import { openVault, keyFile } from 'childvault';
      const vault = await openVault({ create: true, path: ${JSON.stringify(path)}, masterKey: keyFile(${JSON.stringify(keyPath)}), policy: ${JSON.stringify(testPolicy)} });
      const ctx = ${JSON.stringify(ctx)};
      for (let i = 0; i < 300; i++) {
        await vault.put('w:' + i, { location: { lat: 1, lon: 2, capturedAt: '2026-01-01T00:00:00Z' } }, ctx);
        if ((await vault.get('u:' + (i % 2000), ['location'], ctx)).location === undefined) throw new Error('lost u:' + i);
      }
      await vault.close();`);
    const done = completion(writer);
    await vault.keys.rotate({ batchSize: 100 }, ctx);
    const result = await done;
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    await vault.keys.rotate({ batchSize: 100 }, ctx); // a second rotation catches nothing stale
    for (const i of [0, 150, 299]) expect((await vault.get(`w:${i}`, ['location'], ctx)).location?.reveal().lon).toBe(2);
    await expectAllReadable(vault, 30);
    expect((await vault.audit.verify(ctx)).ok).toBe(true);
    await vault.close();
  });
});

describe('destroying KEKs and backup safety', () => {
  it('refuses the active KEK and one still in use; destroys a retired, unused one', async () => {
    const { vault, path } = await seeded(3);
    expect((await errorOf(vault.keys.destroy(1, ctx))).code).toBe('KEY_IN_USE');
    expect((await errorOf(vault.keys.destroy(9, ctx))).code).toBe('NOT_FOUND');
    // A retired KEK that still wraps keys (a rotation interrupted after its first batch) is in use.
    const interrupted = await errorOf(
      vault.keys.rotate({ batchSize: 1, onProgress: () => { throw new VaultError('CONFLICT', 'interrupted'); } }, ctx),
    );
    expect(interrupted.message).toBe('interrupted');
    expect((await vault.keys.status(ctx)).keks.map((k) => [k.version, k.state])).toEqual([[1, 'retired'], [2, 'active']]);
    expect((await errorOf(vault.keys.destroy(1, ctx))).code).toBe('KEY_IN_USE');
    // The same states written into the file by someone without the key are not believed.
    const db = new Database(path);
    db.exec("UPDATE keks SET state = 'retired' WHERE version = 2; UPDATE keks SET state = 'active' WHERE version = 1;");
    db.close();
    expect((await errorOf(vault.keys.destroy(2, ctx))).code).toBe('INTEGRITY');
    await vault.close();

    const fresh = await seeded(3);
    await fresh.vault.keys.rotate({}, ctx);
    await fresh.vault.keys.destroy(1, ctx);
    expect((await errorOf(fresh.vault.keys.destroy(1, ctx))).code).toBe('CONFLICT');
    const status = await fresh.vault.keys.status(ctx);
    expect(status.keks.map((k) => k.state)).toEqual(['destroyed', 'active']);
    const check = new Database(fresh.path, { readonly: true });
    expect((check.prepare('SELECT wrapped FROM keks WHERE version = 1').get() as { wrapped: Buffer | null }).wrapped).toBeNull();
    check.close();
    expect((await fresh.vault.get('u:1', ['contact'], ctx)).contact?.reveal()).toEqual(sampleContact);
    expect((await fresh.vault.get('u:photo', ['face'], ctx)).face?.reveal().image).toEqual(image);
    await fresh.vault.close();
  });

  it('counts erasures made since the last master-key rotation as not backup-safe', async () => {
    const { vault, dir } = await seeded(3);
    await vault.erase('u:0', ctx);
    await vault.erase('u:1', ctx, { categories: ['contact'] });
    expect((await vault.keys.status(ctx)).erasures).toMatchObject({ erasures: 2, values: 3, notBackupSafe: 2, lastMasterRotation: null });
    // A KEK rotation does not help backups: they keep their own KEK, wrapped by the master key.
    await vault.keys.rotate({}, ctx);
    await vault.keys.destroy(1, ctx);
    expect((await vault.keys.status(ctx)).erasures.notBackupSafe).toBe(2);
    await vault.keys.rotateMaster(await generateKeyFile(join(dir, 'next.key')), ctx);
    expect((await vault.keys.status(ctx)).erasures).toMatchObject({ erasures: 2, notBackupSafe: 0 });
    await vault.erase('u:2', ctx);
    expect((await vault.keys.status(ctx)).erasures.notBackupSafe).toBe(1);
    await vault.close();
  });

  it('audits every key operation, never with key bytes', async () => {
    const { vault, path, keyPath } = await seeded(2);
    await vault.keys.rotate({}, ctx);
    await vault.keys.destroy(1, ctx);
    await vault.close();
    const db = new Database(path, { readonly: true });
    const entries = db.prepare("SELECT action, detail FROM audit_log WHERE action LIKE 'key.%' ORDER BY seq").all() as { action: string; detail: string }[];
    db.close();
    expect(entries.map((e) => e.action)).toEqual(['key.rotate', 'key.rotate', 'key.destroy']);
    expect(entries[0]?.detail).toBe('{"fromVersion":1,"phase":"start","reencrypt":false,"toVersion":2}');
    const key = (await import('node:fs')).readFileSync(keyPath).toString('hex');
    for (const e of entries) expect(e.detail).not.toContain(key);
  });
});

describe('master-key rotation', () => {
  it('moves the vault to a new key file: the old key stops working, the new one opens it', async () => {
    const { vault, path, dir, keyPath } = await seeded(3);
    const next = join(dir, 'next.key');
    await vault.keys.rotateMaster(await generateKeyFile(next), ctx);
    await vault.put('u:after', { contact: sampleContact }, ctx); // the open vault keeps working
    await vault.close();
    expect((await errorOf(openVault({ create: true, path, masterKey: keyFile(keyPath), policy: testPolicy }))).code).toBe('WRONG_MASTER_KEY');
    const reopened = await openVault({ create: true, path, masterKey: keyFile(next), policy: testPolicy });
    await expectAllReadable(reopened, 3);
    expect((await reopened.audit.verify(ctx)).ok).toBe(true);
    await reopened.close();
  });

  it('moves to a passphrase, with fresh Argon2id parameters', async () => {
    const { vault, path } = await seeded(2);
    const fast = (p: string) => passphraseKey(p, { opsLimit: 2, memLimit: 64 * 1024 * 1024 });
    await vault.keys.rotateMaster(fast('a long passphrase for the vault'), ctx);
    await vault.close();
    const reopened = await openVault({ create: true, path, masterKey: fast('a long passphrase for the vault'), policy: testPolicy });
    expect((await reopened.status(ctx)).masterKeyProvider).toBe('passphrase');
    await reopened.close();
  });

  it('refuses the same key, a missing or loose new key file, and changes nothing', async () => {
    const { vault, path, dir, keyPath } = await seeded(1);
    expect((await errorOf(vault.keys.rotateMaster(keyFile(keyPath), ctx))).code).toBe('CONFLICT');
    expect((await errorOf(vault.keys.rotateMaster(keyFile(join(dir, 'missing.key')), ctx))).code).toBe('MASTER_KEY_UNAVAILABLE');
    const loose = join(dir, 'loose.key');
    writeFileSync(loose, Buffer.alloc(32, 9));
    chmodSync(loose, 0o644);
    expect((await errorOf(vault.keys.rotateMaster(keyFile(loose), ctx))).code).toBe('INSECURE_KEY_FILE');
    await vault.close();
    const again = await openVault({ create: true, path, masterKey: keyFile(keyPath), policy: testPolicy });
    await expectAllReadable(again, 1);
    await again.close();
  });
});

describe('retention sweep', () => {
  it('erases values past retention, counts in a dry run first, and records the erasures', async () => {
    let now = new Date('2026-01-01T00:00:00Z');
    const { vault } = await freshVault({ now: () => now });
    await vault.put('u:1', { location: sampleLocation, contact: sampleContact }, ctx);
    now = new Date('2026-01-20T00:00:00Z');
    await vault.put('u:2', { location: sampleLocation }, ctx);
    now = new Date('2026-02-05T00:00:00Z'); // u:1's location (30 days) expired, u:2's not
    expect(await vault.retention.sweep(ctx, { dryRun: true })).toMatchObject({ dryRun: true, total: 1, erased: { location: 1 } });
    expect((await vault.keys.status(ctx)).erasures.erasures).toBe(0);
    expect(await vault.retention.sweep(ctx)).toMatchObject({ dryRun: false, total: 1, erased: { location: 1 }, scanned: 3 });
    expect(await vault.retention.sweep(ctx)).toMatchObject({ total: 0 });
    expect((await vault.get('u:1', ['location', 'contact'], ctx)).contact?.reveal()).toEqual(sampleContact);
    expect((await vault.get('u:2', ['location'], ctx)).location).toBeDefined();
    expect((await vault.keys.status(ctx)).erasures).toMatchObject({ erasures: 1, values: 1 });
    await vault.close();
  });
});
