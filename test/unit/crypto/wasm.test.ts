import fc from 'fast-check';
import libsodium from 'libsodium-wrappers-sumo';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadSodium } from '../../../src/crypto/sodium.js';
import { deriveArgon2id } from '../../../src/crypto/password-hash.js';
import { SecretBytes } from '../../../src/crypto/secret-bytes.js';
import { aeadDecryptInto, aeadEncryptInto, argon2idInto, blake2bInto } from '../../../src/crypto/wasm.js';

beforeAll(loadSodium);

const heap = (): Uint8Array => (libsodium as unknown as { libsodium: { HEAPU8: Uint8Array } }).libsodium.HEAPU8;
const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(Buffer.from(needle)) !== -1;
}

describe('direct WebAssembly calls', () => {
  it('encrypt and decrypt exactly as the libsodium.js wrappers do', () => {
    fc.assert(
      fc.property(bytes(0, 300), bytes(0, 100), bytes(24, 24), bytes(32, 32), (m, ad, nonce, key) => {
        const expected = libsodium.crypto_aead_xchacha20poly1305_ietf_encrypt(m, ad, null, nonce, key);
        const out = new Uint8Array(m.length + 16);
        aeadEncryptInto(out, m, ad, nonce, key);
        expect(out).toEqual(expected);
        const back = new Uint8Array(m.length);
        expect(aeadDecryptInto(back, out, ad, nonce, key)).toBe(true);
        expect(back).toEqual(m);
      }),
      { numRuns: 100 },
    );
  });

  it('reports a failed authentication and zeroes the output', () => {
    const key = new Uint8Array(32).fill(3);
    const nonce = new Uint8Array(24).fill(4);
    const sealed = new Uint8Array(21);
    aeadEncryptInto(sealed, new Uint8Array([1, 2, 3, 4, 5]), new Uint8Array(0), nonce, key);
    sealed[0] = (sealed[0] ?? 0) ^ 1;
    const out = new Uint8Array(5).fill(9);
    expect(aeadDecryptInto(out, sealed, new Uint8Array(0), nonce, key)).toBe(false);
    expect(Array.from(out)).toEqual([0, 0, 0, 0, 0]);
  });

  it('hashes exactly as crypto_generichash does, keyed and unkeyed', () => {
    fc.assert(
      fc.property(bytes(0, 400), fc.option(bytes(16, 64), { nil: null }), fc.integer({ min: 16, max: 64 }), (m, key, length) => {
        const out = new Uint8Array(length);
        blake2bInto(out, m, key);
        expect(out).toEqual(libsodium.crypto_generichash(length, m, key));
      }),
      { numRuns: 100 },
    );
  });

  it('leaves no copy of the key or the plaintext in the WebAssembly heap', () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => 0xa0 ^ i);
    const plaintext = new TextEncoder().encode('plaintext-marker-5a1e-do-not-keep');
    const nonce = new Uint8Array(24).fill(7);
    const sealed = new Uint8Array(plaintext.length + 16);
    aeadEncryptInto(sealed, plaintext, new Uint8Array(0), nonce, key);
    aeadDecryptInto(new Uint8Array(plaintext.length), sealed, new Uint8Array(0), nonce, key);
    blake2bInto(new Uint8Array(32), plaintext, key);
    expect(contains(heap(), key)).toBe(false);
    expect(contains(heap(), plaintext)).toBe(false);
  });

  it('derives Argon2id exactly as crypto_pwhash does', () => {
    const password = new TextEncoder().encode('correct horse battery staple');
    const salt = new Uint8Array(16).fill(5);
    const out = new Uint8Array(32);
    expect(argon2idInto(out, password, salt, 1, 8 * 1024 * 1024, libsodium.crypto_pwhash_ALG_ARGON2ID13)).toBe(true);
    expect(out).toEqual(libsodium.crypto_pwhash(32, password, salt, 1, 8 * 1024 * 1024, libsodium.crypto_pwhash_ALG_ARGON2ID13));
    expect(argon2idInto(new Uint8Array(32), password, salt, 0, 8 * 1024 * 1024, libsodium.crypto_pwhash_ALG_ARGON2ID13)).toBe(false);
  });

  it('leaves neither the passphrase nor the derived key in the WebAssembly heap (the wrapper leaves both)', () => {
    const salt = new Uint8Array(16).fill(6);
    const params = { salt, opsLimit: 1, memLimit: 8 * 1024 * 1024 };
    // Control: the libsodium.js wrapper frees its copies without zeroing them.
    const wrapperPass = new TextEncoder().encode('wrapper-passphrase-marker-77c1');
    const wrapperKey = libsodium.crypto_pwhash(32, wrapperPass, salt, 1, 8 * 1024 * 1024, libsodium.crypto_pwhash_ALG_ARGON2ID13);
    expect(contains(heap(), wrapperPass) || contains(heap(), wrapperKey)).toBe(true);

    const pass = new TextEncoder().encode('direct-passphrase-marker-3b9e');
    const key = deriveArgon2id(new SecretBytes(pass.slice()), params);
    key.use((k) => {
      expect(contains(heap(), k)).toBe(false);
    });
    expect(contains(heap(), pass)).toBe(false);
    key.wipe();
  });
});
