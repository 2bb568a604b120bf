/**
 * Tampering with the vault file: every stored blob kind, flipped, swapped or moved between rows,
 * must fail with the one opaque INTEGRITY error (or WRONG_MASTER_KEY where the master-key check
 * itself is hit) and never return a wrong value.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ctx, freshVault, sampleContact, sampleLocation } from '../helpers/fixtures.js';
import { errorOf } from '../helpers/unit-errors.js';

/** A vault with two subjects and a chunked record; the data-key cache is off so every read unwraps. */
async function setup() {
  const fixture = await freshVault({ dataKeyCacheSize: 0 });
  const image = new Uint8Array(200 * 1024).map((_, i) => (i * 7) % 256);
  await fixture.vault.put('u:1', { location: sampleLocation, contact: sampleContact, face: { image } }, ctx);
  await fixture.vault.put('u:2', { location: { ...sampleLocation, lat: 1 }, contact: { phone: '+8613900139000' } }, ctx);
  const db = new Database(fixture.path);
  const dekOf = (subject: 'u:1' | 'u:2', category: string) => {
    // Subject tags are keyed digests, so rows are told apart by insertion order (u:1 first).
    const rows = db.prepare('SELECT dek_id AS id, subject_tag FROM records WHERE category = ? ORDER BY id').all(category) as { id: Buffer; subject_tag: Buffer }[];
    const row = rows[subject === 'u:1' ? 0 : 1];
    if (row === undefined) throw new Error(`no ${category} row for ${subject}`);
    return row;
  };
  return { ...fixture, db, dekOf };
}

function flip(bytes: Buffer, at: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[at] = (copy[at] ?? 0) ^ 0x01;
  return copy;
}

describe('tampering with stored bytes', () => {
  it('detects a flip of every byte of a sealed record and of a wrapped data key', async () => {
    const { vault, db, dekOf } = await setup();
    const id = dekOf('u:1', 'contact').id;
    for (const [table, column, key] of [
      ['records', 'body', 'dek_id'],
      ['records', 'wrapped_dek', 'dek_id'],
    ] as const) {
      const original = (db.prepare(`SELECT ${column} AS v FROM ${table} WHERE ${key} = ?`).get(id) as { v: Buffer }).v;
      const update = db.prepare(`UPDATE ${table} SET ${column} = ? WHERE ${key} = ?`);
      const messages = new Set<string>();
      for (let at = 0; at < original.length; at++) {
        update.run(flip(original, at), id);
        const error = await errorOf(vault.get('u:1', ['contact'], ctx));
        expect(error.code, `${table}.${column} byte ${at}`).toBe('INTEGRITY');
        messages.add(error.message);
      }
      expect(messages.size, 'one opaque message whatever byte').toBe(1);
      update.run(original, id);
    }
    expect((await vault.get('u:1', ['contact'], ctx)).contact?.reveal()).toEqual(sampleContact);
    await vault.close();
  });

  it('detects flips in a chunked record: header, first, middle and last chunk', async () => {
    const { vault, db, dekOf } = await setup();
    const id = dekOf('u:1', 'face').id;
    const body = (db.prepare('SELECT body FROM records WHERE dek_id = ?').get(id) as { body: Buffer }).body;
    for (let at = 0; at < body.length; at++) {
      db.prepare('UPDATE records SET body = ? WHERE dek_id = ?').run(flip(body, at), id);
      expect((await errorOf(vault.get('u:1', ['face'], ctx))).code).toBe('INTEGRITY');
    }
    db.prepare('UPDATE records SET body = ? WHERE dek_id = ?').run(body, id);
    const chunks = db.prepare('SELECT idx, data FROM record_chunks WHERE dek_id = ? ORDER BY idx').all(id) as { idx: number; data: Buffer }[];
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    for (const chunk of [chunks[0]!, chunks[1]!, chunks[chunks.length - 1]!]) {
      for (const at of [0, Math.floor(chunk.data.length / 2), chunk.data.length - 1]) {
        db.prepare('UPDATE record_chunks SET data = ? WHERE dek_id = ? AND idx = ?').run(flip(chunk.data, at), id, chunk.idx);
        expect((await errorOf(vault.get('u:1', ['face'], ctx))).code).toBe('INTEGRITY');
        db.prepare('UPDATE record_chunks SET data = ? WHERE dek_id = ? AND idx = ?').run(chunk.data, id, chunk.idx);
      }
    }
    expect((await vault.get('u:1', ['face'], ctx)).face?.reveal().image?.length).toBe(200 * 1024);
    await vault.close();
  });

  it('detects reordered, dropped and foreign chunks', async () => {
    const { vault, db, dekOf } = await setup();
    const id = dekOf('u:1', 'face').id;
    // Swap chunks 0 and 1.
    db.exec('BEGIN');
    db.prepare('UPDATE record_chunks SET idx = 1000000 WHERE dek_id = ? AND idx = 0').run(id);
    db.prepare('UPDATE record_chunks SET idx = 0 WHERE dek_id = ? AND idx = 1').run(id);
    db.prepare('UPDATE record_chunks SET idx = 1 WHERE dek_id = ? AND idx = 1000000').run(id);
    db.exec('COMMIT');
    expect((await errorOf(vault.get('u:1', ['face'], ctx))).code).toBe('INTEGRITY');
    // Drop the last chunk (truncation), on a fresh copy of the value.
    await vault.put('u:1', { face: { image: new Uint8Array(200 * 1024).fill(9) } }, ctx);
    const fresh = dekOf('u:1', 'face').id;
    db.prepare('DELETE FROM record_chunks WHERE dek_id = ? AND idx = (SELECT max(idx) FROM record_chunks WHERE dek_id = ?)').run(fresh, fresh);
    expect((await errorOf(vault.get('u:1', ['face'], ctx))).code).toBe('INTEGRITY');
    // A chunk from another value (same position) does not authenticate either.
    await vault.put('u:1', { face: { image: new Uint8Array(200 * 1024).fill(1) } }, ctx);
    await vault.put('u:2', { face: { image: new Uint8Array(200 * 1024).fill(2) } }, ctx);
    const a = dekOf('u:1', 'face').id;
    const b = dekOf('u:2', 'face').id;
    const foreign = (db.prepare('SELECT data FROM record_chunks WHERE dek_id = ? AND idx = 1').get(b) as { data: Buffer }).data;
    db.prepare('UPDATE record_chunks SET data = ? WHERE dek_id = ? AND idx = 1').run(foreign, a);
    expect((await errorOf(vault.get('u:1', ['face'], ctx))).code).toBe('INTEGRITY');
    await vault.close();
  });

  it('detects a changed format or write time (both are bound into the AAD)', async () => {
    const { vault, db, dekOf } = await setup();
    const id = dekOf('u:1', 'location').id;
    db.prepare('UPDATE records SET format = 2 WHERE dek_id = ?').run(id);
    expect((await errorOf(vault.get('u:1', ['location'], ctx))).code).toBe('INTEGRITY');
    db.prepare('UPDATE records SET format = 1, written_at = written_at + 86400000 WHERE dek_id = ?').run(id);
    expect((await errorOf(vault.get('u:1', ['location'], ctx))).code).toBe('INTEGRITY');
    db.prepare('UPDATE records SET written_at = written_at - 86400000 WHERE dek_id = ?').run(id);
    expect((await vault.get('u:1', ['location'], ctx)).location?.reveal()).toEqual(sampleLocation);
    await vault.close();
  });
});

describe('moving bytes between rows', () => {
  it('refuses a record body copied to another subject or category', async () => {
    const { vault, db, dekOf } = await setup();
    const body = (id: Buffer) => (db.prepare('SELECT body FROM records WHERE dek_id = ?').get(id) as { body: Buffer }).body;
    const setBody = db.prepare('UPDATE records SET body = ? WHERE dek_id = ?');
    // u:2's location into u:1's location row (other subject, same category).
    setBody.run(body(dekOf('u:2', 'location').id), dekOf('u:1', 'location').id);
    expect((await errorOf(vault.get('u:1', ['location'], ctx))).code).toBe('INTEGRITY');
    // u:1's contact into u:1's location row... after restoring nothing: the location row stays broken, use contact/u:2.
    setBody.run(body(dekOf('u:1', 'contact').id), dekOf('u:2', 'location').id);
    expect((await errorOf(vault.get('u:2', ['location'], ctx))).code).toBe('INTEGRITY');
    await vault.close();
  });

  it('refuses a wrapped data key copied to another row, and a whole row re-tagged to another subject', async () => {
    const { vault, db, dekOf } = await setup();
    const wrapped = (id: Buffer) => (db.prepare('SELECT wrapped_dek AS w FROM records WHERE dek_id = ?').get(id) as { w: Buffer }).w;
    db.prepare('UPDATE records SET wrapped_dek = ? WHERE dek_id = ?').run(wrapped(dekOf('u:2', 'contact').id), dekOf('u:1', 'contact').id);
    expect((await errorOf(vault.get('u:1', ['contact'], ctx))).code).toBe('INTEGRITY');
    // Give u:2's location row (key and record, intact) u:1's subject tag.
    const u1 = dekOf('u:1', 'location');
    const u2 = dekOf('u:2', 'location');
    db.prepare('DELETE FROM records WHERE dek_id = ?').run(u1.id);
    db.prepare('UPDATE records SET subject_tag = ? WHERE dek_id = ?').run(u1.subject_tag, u2.id);
    expect((await errorOf(vault.get('u:1', ['location'], ctx))).code).toBe('INTEGRITY');
    await vault.close();
  });

  it('refuses a row moved to another category', async () => {
    const { vault, db, dekOf } = await setup();
    const contact = dekOf('u:2', 'contact');
    db.prepare("UPDATE records SET category = 'voice' WHERE dek_id = ?").run(contact.id);
    expect((await errorOf(vault.get('u:2', ['voice'], ctx))).code).toBe('INTEGRITY');
    await vault.close();
  });
});

describe('tampering with keys the vault unwraps at open', () => {
  it.each([
    ['the wrapped KEK', 'UPDATE keks SET wrapped = ? WHERE version = 1', 'SELECT wrapped AS v FROM keks WHERE version = 1', 'INTEGRITY'],
    ['the wrapped subject-index key', "UPDATE vault_keys SET wrapped = ? WHERE name = 'subject-index'", "SELECT wrapped AS v FROM vault_keys WHERE name = 'subject-index'", 'INTEGRITY'],
    // The check value is how a wrong key is recognised: tampering with it reads as a wrong key.
    ['the master-key check', 'UPDATE vault_meta SET master_check = ?', 'SELECT master_check AS v FROM vault_meta', 'WRONG_MASTER_KEY'],
    ['the vault id', 'UPDATE vault_meta SET vault_id = ?', 'SELECT vault_id AS v FROM vault_meta', 'WRONG_MASTER_KEY'],
  ])('refuses to open after a flip in %s', async (_label, update, select, code) => {
    const { vault, db, reopen } = await setup();
    await vault.close();
    const original = (db.prepare(select).get() as { v: Buffer }).v;
    for (const at of [0, 1, Math.floor(original.length / 2), original.length - 1]) {
      db.prepare(update).run(flip(original, at));
      expect((await errorOf(reopen())).code).toBe(code);
    }
    db.prepare(update).run(original);
    const again = await reopen();
    expect((await again.get('u:1', ['contact'], ctx)).contact?.reveal()).toEqual(sampleContact);
    await again.close();
  });
});
