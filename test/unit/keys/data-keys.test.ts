import { beforeAll, describe, expect, it } from 'vitest';
import { KEY_BYTES } from '../../../src/crypto/aead.js';
import { randomBytes } from '../../../src/crypto/random.js';
import { SecretBytes } from '../../../src/crypto/secret-bytes.js';
import { loadSodium } from '../../../src/crypto/sodium.js';
import { integrityError } from '../../../src/errors.js';
import { newId } from '../../../src/crypto/random.js';
import { DekCache, dekAad, generateDek, recordAad, unwrapDek, wrapDek, type DekBinding } from '../../../src/keys/data-keys.js';
import { flipped, hex } from '../../helpers/unit-bytes.js';
import { expectVaultError } from '../../helpers/unit-errors.js';

const EXPECTED_MESSAGE = integrityError('data key').message;

function kek(): SecretBytes {
  return new SecretBytes(randomBytes(KEY_BYTES));
}

function binding(): DekBinding {
  return { vaultId: newId(), subjectTag: randomBytes(32), category: 'face', dekId: newId() };
}

function bytesOf(key: SecretBytes): string {
  return key.use(hex);
}

beforeAll(async () => {
  await loadSodium();
});

describe('generateDek', () => {
  it('returns a fresh 32-byte key each time', () => {
    const a = generateDek();
    const b = generateDek();
    expect(a.length).toBe(32);
    expect(bytesOf(a)).not.toBe(bytesOf(b));
  });
});

describe('wrapDek / unwrapDek', () => {
  it('unwraps what it wrapped under the same KEK, binding and KEK version', () => {
    const k = kek();
    const dek = generateDek();
    const b = binding();
    const wrapped = wrapDek(k, dek, b, 3);
    expect(wrapped.length).toBe(32 + 41);
    expect(bytesOf(unwrapDek(k, wrapped, b, 3))).toBe(bytesOf(dek));
  });

  const changes: [string, (b: DekBinding) => DekBinding][] = [
    ['vaultId', (b) => ({ ...b, vaultId: flipped(b.vaultId, 15) })],
    ['subjectTag', (b) => ({ ...b, subjectTag: flipped(b.subjectTag, 0) })],
    ['category', (b) => ({ ...b, category: 'voice' })],
    ['dekId', (b) => ({ ...b, dekId: newId() })],
  ];

  it.each(changes)('refuses a wrapped key presented with another %s (a row copied elsewhere) as INTEGRITY', (_field, change) => {
    const k = kek();
    const b = binding();
    const wrapped = wrapDek(k, generateDek(), b, 1);
    const error = expectVaultError(() => unwrapDek(k, wrapped, change(b), 1), 'INTEGRITY');
    expect(error.message).toBe(EXPECTED_MESSAGE);
  });

  it('refuses a wrapped key presented with another KEK version, or under another KEK, identically', () => {
    const k = kek();
    const b = binding();
    const wrapped = wrapDek(k, generateDek(), b, 1);
    expect(expectVaultError(() => unwrapDek(k, wrapped, b, 2), 'INTEGRITY').message).toBe(EXPECTED_MESSAGE);
    expect(expectVaultError(() => unwrapDek(kek(), wrapped, b, 1), 'INTEGRITY').message).toBe(EXPECTED_MESSAGE);
    expect(expectVaultError(() => unwrapDek(k, flipped(wrapped, 40), b, 1), 'INTEGRITY').message).toBe(EXPECTED_MESSAGE);
  });
});

describe('dekAad / recordAad', () => {
  it('differ for the same binding (domain separation between wrapped keys and records)', () => {
    const b = binding();
    expect(hex(dekAad(b, 1))).not.toBe(hex(recordAad(b, 1, 0)));
  });

  it('change with every binding field, the KEK version, the record format and the write time', () => {
    const b = binding();
    const t = 1_714_550_400_000;
    const base = hex(recordAad(b, 1, t));
    expect(hex(recordAad({ ...b, category: 'voice' }, 1, t))).not.toBe(base);
    expect(hex(recordAad({ ...b, dekId: newId() }, 1, t))).not.toBe(base);
    expect(hex(recordAad({ ...b, subjectTag: flipped(b.subjectTag, 31) }, 1, t))).not.toBe(base);
    expect(hex(recordAad({ ...b, vaultId: flipped(b.vaultId, 0) }, 1, t))).not.toBe(base);
    expect(hex(recordAad(b, 2, t))).not.toBe(base);
    expect(hex(recordAad(b, 1, t + 1))).not.toBe(base);
    expect(hex(dekAad(b, 1))).not.toBe(hex(dekAad(b, 2)));
  });

  it('encodes the write time as 8 bytes big-endian at the end of the record AAD', () => {
    const aad = recordAad(binding(), 1, 0x0102030405);
    expect(hex(aad.subarray(-12))).toBe('000000080000000102030405');
  });

  it('refuses a write time that is negative or not a safe integer', () => {
    expect(() => recordAad(binding(), 1, -1)).toThrow(RangeError);
    expect(() => recordAad(binding(), 1, 1.5)).toThrow(RangeError);
    expect(() => recordAad(binding(), 1, 2 ** 53)).toThrow(RangeError);
  });
});

describe('DekCache', () => {
  function key(fill: number): SecretBytes {
    return new SecretBytes(new Uint8Array(32).fill(fill));
  }

  it('returns a cached key by id and counts its entries', () => {
    const cache = new DekCache(2);
    const a = key(1);
    expect(cache.offer('a', a)).toBe(true);
    expect(cache.get('a')).toBe(a);
    expect(cache.get('missing')).toBeUndefined();
    expect(cache.size).toBe(1);
  });

  it('evicts the least recently used key beyond capacity and wipes it', () => {
    const cache = new DekCache(2);
    const a = key(1);
    const b = key(2);
    const c = key(3);
    cache.offer('a', a);
    cache.offer('b', b);
    cache.offer('c', c);
    expect(cache.size).toBe(2);
    expect(cache.get('a')).toBeUndefined();
    expect(a.wiped).toBe(true);
    expect(b.wiped).toBe(false);
    expect(c.wiped).toBe(false);
  });

  it('counts a get as a use: the key read last survives the next eviction', () => {
    const cache = new DekCache(2);
    const a = key(1);
    const b = key(2);
    cache.offer('a', a);
    cache.offer('b', b);
    cache.get('a');
    cache.offer('c', key(3));
    expect(cache.get('a')).toBe(a);
    expect(cache.get('b')).toBeUndefined();
    expect(b.wiped).toBe(true);
    expect(a.wiped).toBe(false);
  });

  it('wipes the previous key when another key is offered under the same id, but not when the same key is re-offered', () => {
    const cache = new DekCache(2);
    const a = key(1);
    cache.offer('x', a);
    cache.offer('x', a);
    expect(a.wiped).toBe(false);
    const a2 = key(9);
    cache.offer('x', a2);
    expect(a.wiped).toBe(true);
    expect(cache.get('x')).toBe(a2);
    expect(cache.size).toBe(1);
  });

  it('wipes a deleted key and every key on clear', () => {
    const cache = new DekCache(3);
    const a = key(1);
    const b = key(2);
    const c = key(3);
    cache.offer('a', a);
    cache.offer('b', b);
    cache.offer('c', c);
    cache.delete('a');
    expect(a.wiped).toBe(true);
    expect(cache.get('a')).toBeUndefined();
    cache.delete('never-there');
    cache.clear();
    expect(b.wiped && c.wiped).toBe(true);
    expect(cache.size).toBe(0);
  });

  it('refuses ownership when its capacity is 0: offer returns false and the key stays usable', () => {
    const cache = new DekCache(0);
    const a = key(1);
    expect(cache.offer('a', a)).toBe(false);
    expect(a.wiped).toBe(false);
    expect(cache.size).toBe(0);
    expect(cache.get('a')).toBeUndefined();
  });
});
