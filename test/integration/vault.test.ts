import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { isVaultError, keyFile, openVault, Sensitive, VaultError, type Location } from '../../src/index.js';
import { permissivePolicy, testPolicy } from '../helpers/policy.js';
import { ctx, freshVault, sampleContact, sampleLocation, tempDir } from '../helpers/fixtures.js';

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isVaultError(error)) return error.code;
    throw error;
  }
  return 'resolved';
}

describe('put and get', () => {
  it('round-trips every built-in category and returns Sensitive values', async () => {
    const { vault } = await freshVault();
    const image = new Uint8Array(300).map((_, i) => i % 251);
    await vault.put('u:1', { location: sampleLocation, contact: sampleContact, face: { image, embedding: [0.5, -0.25] }, voice: { voiceprint: [1, 2, 3] } }, ctx);
    const got = await vault.get('u:1', ['location', 'contact', 'face', 'voice'], ctx);
    expect(got.location).toBeInstanceOf(Sensitive);
    expect(got.location?.reveal()).toEqual(sampleLocation);
    expect(got.contact?.reveal()).toEqual(sampleContact);
    expect(got.face?.reveal().image).toEqual(image);
    expect(got.face?.reveal().embedding).toEqual([0.5, -0.25]);
    expect(got.voice?.reveal()).toEqual({ voiceprint: [1, 2, 3] });
    await vault.close();
  });

  it('types get results from the category schemas', async () => {
    const { vault } = await freshVault();
    const got = await vault.get('u:1', ['location'], ctx);
    expectTypeOf(got).toEqualTypeOf<{ location?: Sensitive<Location> }>();
    // @ts-expect-error 'pets' is not a category of this vault
    await expect(vault.get('u:1', ['pets'], ctx)).rejects.toMatchObject({ code: 'VALIDATION' });
    await vault.close();
  });

  it('takes capturedAt as a Date and gives it back as its ISO text', async () => {
    const { vault } = await freshVault();
    const when = new Date('2026-11-01T08:00:00+08:00');
    await vault.put('u:1', { location: { lat: 30.27, lon: 120.15, capturedAt: when } }, ctx);
    expect((await vault.get('u:1', ['location'], ctx)).location?.reveal().capturedAt).toBe('2026-11-01T00:00:00.000Z');
    await vault.close();
  });

  it('returns nothing for categories never written', async () => {
    const { vault } = await freshVault();
    await vault.put('u:1', { location: sampleLocation }, ctx);
    expect(await vault.get('u:1', ['contact', 'face'], ctx)).toEqual({});
    expect(await vault.get('u:2', ['location'], ctx)).toEqual({});
    await vault.close();
  });

  it('replaces a value and its data key on put', async () => {
    const { vault, path } = await freshVault();
    await vault.put('u:1', { location: sampleLocation }, ctx);
    const before = new Database(path, { readonly: true }).prepare('SELECT dek_id AS id FROM records').all() as { id: Buffer }[];
    await vault.put('u:1', { location: { ...sampleLocation, lat: 10 } }, ctx);
    const after = new Database(path, { readonly: true }).prepare('SELECT dek_id AS id FROM records').all() as { id: Buffer }[];
    expect(before).toHaveLength(1);
    expect(after).toHaveLength(1);
    expect(after[0]?.id.equals(before[0]!.id)).toBe(false);
    expect((await vault.get('u:1', ['location'], ctx)).location?.reveal().lat).toBe(10);
    await vault.close();
  });

  it('round-trips a 64 MiB voice clip through the chunked format', async () => {
    const { vault, path } = await freshVault();
    const audio = new Uint8Array(64 * 1024 * 1024);
    for (let i = 0; i < audio.length; i += 4096) audio[i] = (i / 4096) % 256;
    await vault.put('u:big', { voice: { audio } }, ctx);
    const chunks = new Database(path, { readonly: true }).prepare('SELECT count(*) AS n FROM record_chunks').get() as { n: number };
    expect(chunks.n).toBeGreaterThanOrEqual(1024);
    const back = (await vault.get('u:big', ['voice'], ctx)).voice?.reveal().audio;
    expect(back?.length).toBe(audio.length);
    expect(Buffer.from(back!).equals(Buffer.from(audio))).toBe(true);
    await vault.close();
  });

  it('refuses a blob over 64 MiB', async () => {
    const { vault } = await freshVault();
    const error = await vault.put('u:1', { voice: { audio: new Uint8Array(64 * 1024 * 1024 + 1) } }, ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VaultError);
    expect((error as VaultError).code).toBe('VALIDATION');
    expect((error as VaultError).field).toBe('values.voice.audio');
    await vault.close();
  });

  it('does not return values past their retention', async () => {
    let now = new Date('2026-11-01T00:00:00Z');
    const { vault } = await freshVault({ now: () => now });
    await vault.put('u:1', { location: sampleLocation, contact: sampleContact }, ctx);
    now = new Date('2026-12-01T00:00:01Z'); // location keeps 30 days, contact 365
    const got = await vault.get('u:1', ['location', 'contact'], ctx);
    expect(got.location).toBeUndefined();
    expect(got.contact?.reveal()).toEqual(sampleContact);
    await vault.close();
  });

  it('accepts extra categories with their own schema and types', async () => {
    const dir = tempDir();
    const { generateKeyFile } = await import('../../src/index.js');
    const vault = await openVault({
      create: true,
      path: `${dir}/pool.db`,
      masterKey: await generateKeyFile(`${dir}/k`),
      categories: { school: { schema: z.strictObject({ name: z.string(), grade: z.number().int() }), retentionDays: 200 } },
      policy: permissivePolicy(['school', 'location']),
    });
    await vault.put('u:1', { school: { name: 'No. 2 Primary', grade: 3 } }, ctx);
    const got = await vault.get('u:1', ['school', 'location'], ctx);
    expectTypeOf(got.school).toEqualTypeOf<Sensitive<{ name: string; grade: number }> | undefined>();
    expect(got.school?.reveal()).toEqual({ name: 'No. 2 Primary', grade: 3 });
    await vault.close();
  });
});

describe('putMany', () => {
  it('writes every item in one transaction', async () => {
    const { vault } = await freshVault();
    const items = Array.from({ length: 50 }, (_, i) => ({ subject: `u:${i}`, values: { location: { ...sampleLocation, lat: i } } }));
    const receipts = await vault.putMany(items, ctx);
    expect(receipts).toHaveLength(50);
    expect((await vault.get('u:49', ['location'], ctx)).location?.reveal().lat).toBe(49);
    await vault.close();
  });

  it('writes nothing when one item is invalid, and names that item', async () => {
    const { vault } = await freshVault();
    const items = [
      { subject: 'u:1', values: { location: sampleLocation } },
      { subject: 'u:2', values: { location: { ...sampleLocation, lat: 91 } } },
    ];
    const error = (await vault.putMany(items, ctx).catch((e: unknown) => e)) as VaultError;
    expect(error.code).toBe('VALIDATION');
    expect(error.field).toBe('items[1].values.location.lat');
    expect(error.message).not.toContain('91');
    expect(await vault.get('u:1', ['location'], ctx)).toEqual({});
    await vault.close();
  });
});

describe('erase', () => {
  it('erases chosen categories, then the whole subject, and deletes their rows', async () => {
    const { vault, path } = await freshVault();
    await vault.put('u:1', { location: sampleLocation, contact: sampleContact }, ctx);
    await vault.put('u:2', { location: sampleLocation }, ctx);
    expect((await vault.erase('u:1', ctx, { categories: ['location'] })).erased).toEqual(['location']);
    expect(Object.keys(await vault.get('u:1', ['location', 'contact'], ctx))).toEqual(['contact']);
    expect((await vault.erase('u:1', ctx)).erased).toEqual(['contact']);
    expect(await vault.get('u:1', ['location', 'contact'], ctx)).toEqual({});
    expect((await vault.erase('u:1', ctx)).erased).toEqual([]);
    const db = new Database(path, { readonly: true });
    expect((db.prepare('SELECT count(*) AS n FROM records').get() as { n: number }).n).toBe(1);
    db.close();
    expect((await vault.get('u:2', ['location'], ctx)).location?.reveal()).toEqual(sampleLocation);
    await vault.close();
  });

  it('leaves no trace of an erased value in the vault file (secure_delete)', async () => {
    const { vault, path } = await freshVault({ dataKeyCacheSize: 0 });
    await vault.put('u:1', { contact: sampleContact }, ctx);
    const db = new Database(path, { readonly: true });
    const wrapped = (db.prepare('SELECT wrapped_dek AS wrapped FROM records').get() as { wrapped: Buffer }).wrapped;
    const body = (db.prepare('SELECT body FROM records').get() as { body: Buffer }).body;
    db.close();
    await vault.erase('u:1', ctx);
    await vault.close(); // checkpoints the WAL into the main file
    const file = readFileSync(path);
    expect(file.indexOf(wrapped)).toBe(-1);
    expect(file.indexOf(body)).toBe(-1);
  });
});

describe('validation at the boundary', () => {
  it.each([
    ['a phone-number subject', '13800138000', 'subject'],
    ['a subject with spaces', 'u 1', 'subject'],
    ['an empty subject', '', 'subject'],
  ])('refuses %s without echoing it', async (_label, subject, field) => {
    const { vault } = await freshVault();
    const error = (await vault.put(subject, { location: sampleLocation }, ctx).catch((e: unknown) => e)) as VaultError;
    expect(error.code).toBe('VALIDATION');
    expect(error.field).toBe(field);
    if (subject !== '') expect(error.message).not.toContain(subject);
    await vault.close();
  });

  it.each([
    ['latitude 91', { location: { ...sampleLocation, lat: 91 } }, 'values.location.lat'],
    ['a malformed phone', { contact: { phone: '138-0013-8000' } }, 'values.contact.phone'],
    ['a wrong type', { location: { ...sampleLocation, lon: '120' } }, 'values.location.lon'],
    ['an unknown field', { contact: { phone: '+8613800138000', nickname: 'x' } }, 'values.contact'],
    ['an unknown category', { pets: { name: 'x' } }, 'values.pets'],
    ['no category at all', {}, 'values'],
  ])('refuses %s and names the field', async (_label, values, field) => {
    const { vault } = await freshVault();
    const error = (await vault.put('u:1', values as never, ctx).catch((e: unknown) => e)) as VaultError;
    expect(error.code).toBe('VALIDATION');
    expect(error.field).toBe(field);
    await vault.close();
  });

  it('refuses a malformed access context', async () => {
    const { vault } = await freshVault();
    expect(await codeOf(vault.get('u:1', ['location'], { actor: '', role: 'service', purpose: 'account' }))).toBe('VALIDATION');
    expect(await codeOf(vault.get('u:1', ['location'], { actor: 'a', role: 'r' } as never))).toBe('VALIDATION');
    await vault.close();
  });

  it('refuses every call after close with CLOSED', async () => {
    const { vault } = await freshVault();
    await vault.close();
    expect(await codeOf(vault.get('u:1', ['location'], ctx))).toBe('CLOSED');
    expect(await codeOf(vault.put('u:1', { location: sampleLocation }, ctx))).toBe('CLOSED');
    await vault.close(); // idempotent
  });
});

describe('stored bytes', () => {
  it('never holds plaintext or subject ids in the database file or its WAL', async () => {
    const { vault, path } = await freshVault();
    const marker = 'Planted-Address-7f3a9c';
    await vault.put('u:planted-subject', { contact: { ...sampleContact, address: marker }, location: sampleLocation }, ctx);
    for (const file of [path, `${path}-wal`]) {
      const bytes = readFileSync(file);
      for (const needle of [marker, sampleContact.phone, sampleContact.email, 'u:planted-subject', '30.2741']) {
        expect(bytes.indexOf(Buffer.from(needle)), `${needle} in ${file}`).toBe(-1);
      }
    }
    await vault.close();
  });

  it('reopens with the same key file and reads what was written', async () => {
    const { vault, path, keyPath } = await freshVault();
    await vault.put('u:1', { contact: sampleContact }, ctx);
    await vault.close();
    const again = await openVault({ create: true, path, masterKey: keyFile(keyPath), policy: testPolicy });
    expect((await again.get('u:1', ['contact'], ctx)).contact?.reveal()).toEqual(sampleContact);
    await again.close();
  });

  it('works in memory', async () => {
    const dir = tempDir();
    const { generateKeyFile } = await import('../../src/index.js');
    const vault = await openVault({ create: true, path: ':memory:', masterKey: await generateKeyFile(`${dir}/k`), policy: testPolicy });
    await vault.put('u:1', { location: sampleLocation }, ctx);
    expect((await vault.get('u:1', ['location'], ctx)).location?.reveal()).toEqual(sampleLocation);
    await vault.close();
  });
});

describe('review regressions', () => {
  it('refuses misspelled options instead of falling back to a wider default', async () => {
    const { vault, path, keyPath } = await freshVault();
    await vault.put('u:1', { location: sampleLocation, contact: sampleContact }, ctx);
    expect(await codeOf(vault.erase('u:1', ctx, { category: ['location'] } as never))).toBe('VALIDATION');
    expect((await vault.get('u:1', ['location', 'contact'], ctx)).contact).toBeDefined(); // nothing was erased
    await vault.close();
    expect(await codeOf(openVault({ create: true, path: `${path}.typo`, masterKey: keyFile(keyPath), mustexist: true } as never))).toBe('VALIDATION');
  });

  it('never echoes an unknown category key (it may be data)', async () => {
    const { vault } = await freshVault();
    const error = (await vault.put('u:1', { '+8613800138000': { x: 1 } } as never, ctx).catch((e: unknown) => e)) as VaultError;
    expect(error.code).toBe('VALIDATION');
    expect(error.message).not.toContain('13800138000');
    await vault.close();
  });

  it('refuses to open a used vault that lost a vault key, instead of silently making a new one', async () => {
    const { vault, path, keyPath } = await freshVault();
    await vault.put('u:1', { contact: sampleContact }, ctx);
    await vault.close();
    const db = new Database(path);
    db.prepare("DELETE FROM vault_keys WHERE name = 'subject-index'").run();
    db.close();
    expect(await codeOf(openVault({ create: true, path, masterKey: keyFile(keyPath), policy: testPolicy }))).toBe('CORRUPT');
  });
});
