import { beforeAll, describe, expect, it } from 'vitest';
import { KEY_BYTES, NONCE_BYTES, SEALED_BOX_OVERHEAD, SEALED_BOX_VERSION, TAG_BYTES, open, seal } from '../../../src/crypto/aead.js';
import { randomBytes } from '../../../src/crypto/random.js';
import { SecretBytes } from '../../../src/crypto/secret-bytes.js';
import { loadSodium } from '../../../src/crypto/sodium.js';
import { integrityError } from '../../../src/errors.js';
import { concatBytes, flipped, hex } from '../../helpers/unit-bytes.js';
import { expectVaultError } from '../../helpers/unit-errors.js';

const WHAT = 'test record';
const EXPECTED_MESSAGE = integrityError(WHAT).message;

function key(): SecretBytes {
  return new SecretBytes(randomBytes(KEY_BYTES));
}

function expectOpaqueFailure(fn: () => unknown): void {
  const error = expectVaultError(fn, 'INTEGRITY');
  expect(error.message).toBe(EXPECTED_MESSAGE);
}

beforeAll(async () => {
  await loadSodium();
});

describe('seal / open', () => {
  const plaintext = new TextEncoder().encode('lat 30.27 lon 120.15');
  const aad = new TextEncoder().encode('binding');

  it('opens what it sealed under the same key and AAD', () => {
    const k = key();
    expect(open(k, seal(k, plaintext, aad), aad, WHAT)).toEqual(plaintext);
  });

  it('seals and opens an empty plaintext with an empty AAD', () => {
    const k = key();
    const box = seal(k, new Uint8Array(0), new Uint8Array(0));
    expect(box.length).toBe(SEALED_BOX_OVERHEAD);
    expect(open(k, box, new Uint8Array(0), WHAT)).toEqual(new Uint8Array(0));
  });

  it('lays the box out as version(1) ‖ nonce(24) ‖ ciphertext ‖ tag(16)', () => {
    const box = seal(key(), plaintext, aad);
    expect(SEALED_BOX_OVERHEAD).toBe(1 + NONCE_BYTES + TAG_BYTES);
    expect(box.length).toBe(plaintext.length + 41);
    expect(box[0]).toBe(SEALED_BOX_VERSION);
    expect(SEALED_BOX_VERSION).toBe(1);
  });

  it('uses a fresh nonce each time, so sealing twice gives different boxes', () => {
    const k = key();
    const a = seal(k, plaintext, aad);
    const b = seal(k, plaintext, aad);
    expect(hex(a.subarray(1, 25))).not.toBe(hex(b.subarray(1, 25)));
    expect(hex(a)).not.toBe(hex(b));
  });

  it('does not leave the plaintext in the box', () => {
    const box = seal(key(), plaintext, aad);
    expect(Buffer.from(box).includes(Buffer.from(plaintext))).toBe(false);
  });

  it('refuses every single-byte flip anywhere in the box with the same INTEGRITY error', () => {
    const k = key();
    const box = seal(k, plaintext, aad);
    for (let i = 0; i < box.length; i++) {
      for (const mask of [0x01, 0x80, 0xff]) expectOpaqueFailure(() => open(k, flipped(box, i, mask), aad, WHAT));
    }
  });

  it('refuses a wrong key with the same INTEGRITY error', () => {
    const box = seal(key(), plaintext, aad);
    expectOpaqueFailure(() => open(key(), box, aad, WHAT));
  });

  it('refuses a wrong, longer, shorter or empty AAD with the same INTEGRITY error', () => {
    const k = key();
    const box = seal(k, plaintext, aad);
    expectOpaqueFailure(() => open(k, box, flipped(aad, 0), WHAT));
    expectOpaqueFailure(() => open(k, box, concatBytes(aad, Uint8Array.of(0)), WHAT));
    expectOpaqueFailure(() => open(k, box, aad.subarray(1), WHAT));
    expectOpaqueFailure(() => open(k, box, new Uint8Array(0), WHAT));
  });

  it('refuses every truncation and an extra trailing byte with the same INTEGRITY error', () => {
    const k = key();
    const box = seal(k, plaintext, aad);
    for (let n = 0; n < box.length; n++) expectOpaqueFailure(() => open(k, box.subarray(0, n), aad, WHAT));
    expectOpaqueFailure(() => open(k, concatBytes(box, Uint8Array.of(0)), aad, WHAT));
  });

  it.each([0, 2, 255])('refuses version byte %i with the same INTEGRITY error', (version) => {
    const k = key();
    const box = seal(k, plaintext, aad);
    box[0] = version;
    expectOpaqueFailure(() => open(k, box, aad, WHAT));
  });

  it('refuses a box opened with a wiped key without revealing anything', () => {
    const k = key();
    const box = seal(k, plaintext, aad);
    k.wipe();
    expect(() => open(k, box, aad, WHAT)).toThrow();
  });
});
