/**
 * Custom categories take whatever their zod schema accepts: a value nested 200,000 levels deep
 * escaped as a RangeError (stack overflow in zod and the framing), and a 170 MB value took seconds
 * of parsing and framing before it was refused. Both are refused first, cheaply, with VALIDATION
 * naming the field (src/format/value-codec.ts `assertValueBounds`).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { generateKeyFile, isVaultError, keyFile, openVault } from '../../src/index.js';
import { MAX_FRAME_BYTES } from '../../src/format/value-codec.js';
import { ctx, tempDir } from '../helpers/fixtures.js';
import { permissivePolicy } from '../helpers/policy.js';

async function vaultWithNotes() {
  const dir = tempDir();
  await generateKeyFile(join(dir, 'master.key'));
  return openVault({
    create: true,
    path: join(dir, 'pool.db'),
    masterKey: keyFile(join(dir, 'master.key')),
    categories: { notes: { schema: z.any(), retentionDays: 30 }, blob: { schema: z.instanceof(Uint8Array), retentionDays: 30 }, text: { schema: z.string(), retentionDays: 30 } },
    policy: permissivePolicy(['notes', 'blob', 'text']),
  });
}

function nested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { a: value };
  return value;
}

/** The error of `promise`, which must reject. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('custom category values: depth and size checked before validation', () => {
  it('refuses 200,000 levels of nesting with VALIDATION naming the field (no RangeError), and stores 64', async () => {
    const vault = await vaultWithNotes();
    try {
      const error = await rejection(vault.put('u:1', { notes: nested(200_000) }, ctx));
      expect(isVaultError(error, 'VALIDATION')).toBe(true);
      expect((error as { field?: string }).field).toBe('values.notes');
      expect((error as Error).message).toContain(`nested more than 64 levels deep`);
      expect(() => {
        vault.validate('u:1', { notes: nested(65) });
      }).toThrow(expect.objectContaining({ code: 'VALIDATION' }));
      await vault.put('u:1', { notes: nested(64) }, ctx);
      expect((await vault.get('u:1', ['notes'], ctx)).notes?.reveal()).toEqual(nested(64));
    } finally {
      await vault.close();
    }
  });

  it('refuses a cyclic value with VALIDATION (it used to overflow the stack)', async () => {
    const vault = await vaultWithNotes();
    try {
      const cyclic: Record<string, unknown> = { a: 1 };
      cyclic['self'] = cyclic;
      const error = await rejection(vault.put('u:1', { notes: cyclic }, ctx));
      expect(error).toMatchObject({ code: 'VALIDATION', field: 'values.notes' });
    } finally {
      await vault.close();
    }
  });

  it('refuses a 170 MB value (a string, bytes, an array) with VALIDATION naming the field, without parsing or framing it', async () => {
    const vault = await vaultWithNotes();
    try {
      const size = 170_000_000;
      expect(size).toBeGreaterThan(MAX_FRAME_BYTES);
      const values = [{ text: 'x'.repeat(size) }, { blob: new Uint8Array(size) }, { notes: { list: new Array<number>(size / 2) } }];
      for (const value of values) {
        const started = performance.now();
        const error = await rejection(vault.put('u:1', value, ctx));
        const ms = performance.now() - started;
        const field = `values.${Object.keys(value)[0] ?? ''}`;
        expect(error).toMatchObject({ code: 'VALIDATION', field });
        expect((error as Error).message).toBe(`${field}: larger than 160 MiB once stored`);
        console.info(`refused ${field} of ${size} bytes in ${ms.toFixed(1)} ms`);
      }
    } finally {
      await vault.close();
    }
  });

  it('still stores a value just under the limit of a frame (a 64 MiB blob and text)', async () => {
    const vault = await vaultWithNotes();
    try {
      await vault.put('u:1', { notes: { clip: new Uint8Array(64 * 1024 * 1024).fill(1), note: 'x'.repeat(1000) } }, ctx);
      const back = (await vault.get('u:1', ['notes'], ctx)).notes?.reveal() as { clip: Uint8Array; note: string };
      expect(back.clip.length).toBe(64 * 1024 * 1024);
      expect(back.note.length).toBe(1000);
    } finally {
      await vault.close();
    }
  });
});
