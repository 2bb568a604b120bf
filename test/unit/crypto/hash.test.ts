import { beforeAll, describe, expect, it } from 'vitest';
import { HASH_BYTES, blake2b, blake2bKeyed, equalBytes } from '../../../src/crypto/hash.js';
import { SecretBytes } from '../../../src/crypto/secret-bytes.js';
import { loadSodium, sodium } from '../../../src/crypto/sodium.js';
import { hex } from '../../helpers/unit-bytes.js';

beforeAll(async () => {
  await loadSodium();
});

describe('blake2b', () => {
  it('matches the published BLAKE2b-256 digest of the empty string', () => {
    expect(HASH_BYTES).toBe(32);
    expect(hex(blake2b(new Uint8Array(0)))).toBe('0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8');
  });

  it('returns digests of the requested length', () => {
    expect(blake2b(Uint8Array.of(1), 64).length).toBe(64);
  });
});

describe('blake2bKeyed', () => {
  it('depends on the key and on the message', () => {
    const k1 = new SecretBytes(new Uint8Array(32).fill(1));
    const k2 = new SecretBytes(new Uint8Array(32).fill(2));
    const m = new TextEncoder().encode('u:1001');
    expect(hex(blake2bKeyed(k1, m))).toBe(hex(blake2bKeyed(k1, m)));
    expect(hex(blake2bKeyed(k1, m))).not.toBe(hex(blake2bKeyed(k2, m)));
    expect(hex(blake2bKeyed(k1, m))).not.toBe(hex(blake2bKeyed(k1, new TextEncoder().encode('u:1002'))));
    expect(hex(blake2bKeyed(k1, m))).not.toBe(hex(blake2b(m)));
  });

  it('equals libsodium generichash with the same key', () => {
    const raw = new Uint8Array(32).fill(7);
    const m = Uint8Array.of(1, 2, 3);
    expect(hex(blake2bKeyed(new SecretBytes(raw.slice()), m))).toBe(hex(sodium().crypto_generichash(32, m, raw)));
  });
});

describe('equalBytes', () => {
  it('is true only for arrays of the same length and content', () => {
    expect(equalBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(true);
    expect(equalBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBe(false);
    expect(equalBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 0))).toBe(false);
    expect(equalBytes(new Uint8Array(0), new Uint8Array(0))).toBe(true);
  });
});
