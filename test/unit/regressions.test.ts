/**
 * Regressions for defects found by review of the first version: each test failed before its fix.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { open } from '../../src/crypto/aead.js';
import { SecretBytes } from '../../src/crypto/secret-bytes.js';
import { loadSodium } from '../../src/crypto/sodium.js';
import { VaultError } from '../../src/errors.js';
import { decodeFrame, encodeFrame, frameChunks, frameToBytes, MAX_FRAME_BYTES } from '../../src/format/value-codec.js';
import { Keyring } from '../../src/keys/keyring.js';
import { keyFile, passphraseKey, type MasterKeyProvider } from '../../src/keys/master-key.js';
import { resolveCategories } from '../../src/schema/categories.js';
import { subjectIdSchema } from '../../src/schema/subject.js';
import { makeTempDir, removeTempDir } from '../helpers/unit-bytes.js';
import { expectVaultError, expectVaultRejection } from '../helpers/unit-errors.js';

beforeAll(loadSodium);
const dirs: string[] = [];
afterEach(() => {
  dirs.splice(0).forEach(removeTempDir);
});

describe('value frames', () => {
  it('refuses a "__proto__" key instead of silently dropping it', () => {
    const error = expectVaultError(() => encodeFrame(JSON.parse('{"a":{"__proto__":{"x":1}}}')), 'VALIDATION');
    expect(error.field).toBe('a');
  });

  it('refuses a header that claims more bytes than a frame may hold, with INTEGRITY (no huge allocation)', () => {
    const header = new TextEncoder().encode(JSON.stringify({ v: null, b: [[[], MAX_FRAME_BYTES + 1]] }));
    const frame = new Uint8Array(5 + header.length);
    frame[0] = 1;
    new DataView(frame.buffer).setUint32(1, header.length);
    frame.set(header, 5);
    expectVaultError(() => decodeFrame(frame, 'record'), 'INTEGRITY');
  });

  it('refuses a chunk size below 1', () => {
    expect(() => frameChunks(encodeFrame({ a: 1 }), 0).next()).toThrow(RangeError);
  });

  it('still round-trips a value after the new checks', () => {
    const value = { constructor: 'ok', list: [new Uint8Array([1, 2])] };
    expect(decodeFrame(frameToBytes(encodeFrame(value)), 'record')).toEqual(value);
  });
});

describe('passphrase cost options', () => {
  it.each([{ memLimit: 4 * 1024 * 1024 }, { opsLimit: 0 }, { opsLimit: 65 }, { memLimit: 2 * 1024 * 1024 * 1024 }, { opsLimit: 1 }, { memLimit: 8 * 1024 * 1024 }])('refuses %o, below the floor for new vaults or beyond what a vault could reopen with', (options) => {
    expectVaultError(() => passphraseKey('a long enough passphrase', options), 'VALIDATION');
  });
});

describe('key files', () => {
  it('refuses a FIFO at once instead of hanging', async () => {
    const dir = makeTempDir();
    dirs.push(dir);
    const fifo = join(dir, 'k');
    execFileSync('mkfifo', ['-m', '600', fifo]);
    const provider = keyFile(fifo) as MasterKeyProvider & { attach(s: null): Promise<unknown> };
    const error = await expectVaultRejection(provider.attach(null), 'INSECURE_KEY_FILE');
    expect(error.message).toContain('not a regular file');
  });
});

describe('categories', () => {
  it('accepts a custom category named like an Object.prototype member', () => {
    const merged = resolveCategories({ constructor: { schema: z.string(), retentionDays: 1 } });
    expect(Object.hasOwn(merged, 'constructor')).toBe(true);
  });
});

describe('subject ids', () => {
  it.each(['110101200501011234', '11010120050101123X', '1101_0120_0501_0112_34'])('refuses the ID-number-like id %s', (id) => {
    expect(subjectIdSchema.safeParse(id).success).toBe(false);
  });
});

describe('errors that are not tampering', () => {
  it('lets a KMS outage through the keyring instead of calling it INTEGRITY', async () => {
    const kms: MasterKeyProvider = {
      id: 'kms:test',
      wrap: async (b) => b,
      unwrap: async () => {
        throw new VaultError('MASTER_KEY_UNAVAILABLE', 'kms unreachable');
      },
    };
    await expectVaultRejection(new Keyring(kms, new Uint8Array(16)).load(1, new Uint8Array(73)), 'MASTER_KEY_UNAVAILABLE');
  });

  it('reports opening with a wiped key as a programming error, not INTEGRITY', () => {
    const key = new SecretBytes(new Uint8Array(32));
    key.wipe();
    let caught: unknown;
    try {
      open(key, new Uint8Array(60).fill(1), new Uint8Array(0), 'record');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(Error);
    expect(caught).not.toBeInstanceOf(VaultError);
  });
});
