import { beforeAll, describe, expect, it } from 'vitest';
import { loadSodium } from '../../../src/crypto/sodium.js';
import { VaultError } from '../../../src/errors.js';
import { encodeCanonical } from '../../../src/format/canonical.js';
import { newId } from '../../../src/crypto/random.js';
import { KekNotLoaded, Keyring, kekAad } from '../../../src/keys/keyring.js';
import type { MasterKeyProvider } from '../../../src/keys/master-key.js';
import { hex } from '../../helpers/unit-bytes.js';
import { expectVaultRejection } from '../../helpers/unit-errors.js';

/** A provider whose unwrap returns a copy of `result` (or throws it), recording each AAD. */
function fakeProvider(result: Uint8Array | Error): MasterKeyProvider & { aads: Uint8Array[]; returned: Uint8Array[] } {
  const aads: Uint8Array[] = [];
  const returned: Uint8Array[] = [];
  return {
    id: 'fake',
    aads,
    returned,
    wrap: async (key) => key.slice(),
    unwrap: async (_wrapped, aad) => {
      aads.push(aad);
      if (result instanceof Error) throw result;
      const out = result.slice();
      returned.push(out);
      return out;
    },
  };
}

beforeAll(async () => {
  await loadSodium();
});

describe('kekAad', () => {
  it('is the canonical "kek" encoding of the vault id and version', () => {
    const vaultId = newId();
    expect(hex(kekAad(vaultId, 7))).toBe(hex(encodeCanonical('kek', [vaultId, 7])));
    expect(hex(kekAad(vaultId, 7))).not.toBe(hex(kekAad(vaultId, 8)));
  });
});

describe('Keyring', () => {
  it('unwraps a version with the AAD that binds it to the vault and version, then serves it', async () => {
    const vaultId = newId();
    const provider = fakeProvider(new Uint8Array(32).fill(5));
    const ring = new Keyring(provider, vaultId);
    await ring.load(2, Uint8Array.of(1));
    expect(ring.has(2)).toBe(true);
    expect(ring.get(2).use((b) => b[0])).toBe(5);
    expect(hex(provider.aads[0]!)).toBe(hex(kekAad(vaultId, 2)));
  });

  it('throws KekNotLoaded naming the version for a version not loaded yet', () => {
    const ring = new Keyring(fakeProvider(new Uint8Array(32)), newId());
    let caught: unknown;
    try {
      ring.get(4);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(KekNotLoaded);
    expect((caught as KekNotLoaded).version).toBe(4);
    expect(ring.has(4)).toBe(false);
  });

  it('does not unwrap a version twice', async () => {
    const provider = fakeProvider(new Uint8Array(32).fill(1));
    const ring = new Keyring(provider, newId());
    await ring.load(1, Uint8Array.of(1));
    await ring.load(1, Uint8Array.of(1));
    expect(provider.aads.length).toBe(1);
  });

  it('reports an unwrap failure as INTEGRITY naming the version', async () => {
    const ring = new Keyring(fakeProvider(new Error('kms said no')), newId());
    const error = await expectVaultRejection(ring.load(3, Uint8Array.of(1)), 'INTEGRITY');
    expect(error.message).toContain('key-encryption key v3');
    expect(ring.has(3)).toBe(false);
  });

  it('refuses an unwrapped key that is not 32 bytes as INTEGRITY and zeroes it', async () => {
    const provider = fakeProvider(new Uint8Array(16).fill(9));
    const ring = new Keyring(provider, newId());
    await expectVaultRejection(ring.load(1, Uint8Array.of(1)), 'INTEGRITY');
    expect(provider.returned[0]!.every((b) => b === 0)).toBe(true);
  });

  it('wipes every key it holds on wipe and forgets them', async () => {
    const ring = new Keyring(fakeProvider(new Uint8Array(32).fill(1)), newId());
    await ring.load(1, Uint8Array.of(1));
    const held = ring.get(1);
    ring.wipe();
    expect(held.wiped).toBe(true);
    expect(ring.has(1)).toBe(false);
    expect(() => ring.get(1)).toThrow(KekNotLoaded);
    expect(() => ring.get(1)).not.toThrow(VaultError);
  });
});
