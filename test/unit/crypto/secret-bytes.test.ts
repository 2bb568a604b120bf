import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SecretBytes } from '../../../src/crypto/secret-bytes.js';
import { hex } from '../../helpers/unit-bytes.js';

function keyBytes(): Uint8Array {
  return Uint8Array.from({ length: 32 }, (_, i) => 0xa0 + i);
}

describe('SecretBytes', () => {
  it('gives its bytes to use() and returns what the callback returns', () => {
    const bytes = keyBytes();
    const secret = new SecretBytes(bytes);
    expect(secret.length).toBe(32);
    expect(secret.use((b) => b)).toBe(bytes);
    expect(secret.use((b) => b.length * 2)).toBe(64);
    expect(secret.wiped).toBe(false);
  });

  it('zeroes the bytes it owns on wipe', () => {
    const bytes = keyBytes();
    const secret = new SecretBytes(bytes);
    secret.wipe();
    expect(bytes.every((b) => b === 0)).toBe(true);
    expect(secret.wiped).toBe(true);
  });

  it('throws on use after wipe', () => {
    const secret = new SecretBytes(keyBytes());
    secret.wipe();
    expect(() => secret.use((b) => b.length)).toThrow('SecretBytes used after wipe');
  });

  it('wipes idempotently and keeps reporting its length', () => {
    const secret = new SecretBytes(keyBytes());
    secret.wipe();
    secret.wipe();
    expect(secret.wiped).toBe(true);
    expect(secret.length).toBe(32);
  });

  it('redacts itself in String(), template literals, JSON and util.inspect', () => {
    const bytes = keyBytes();
    const secret = new SecretBytes(bytes);
    const keyHex = hex(bytes);
    const renderings = [
      String(secret),
      [secret].join(''),
      JSON.stringify({ key: secret }),
      inspect(secret),
      inspect({ nested: { secret } }, { depth: 10, showHidden: true }),
      Object.prototype.toString.call(secret),
    ];
    for (const text of renderings) {
      expect(text).not.toContain(keyHex);
      expect(text).not.toContain(String(0xa0)); // "160", the first byte as inspect would print it
    }
    expect(renderings[0]).toBe('[SecretBytes redacted]');
    expect(renderings[2]).toBe('{"key":"[SecretBytes redacted]"}');
    expect(renderings[3]).toBe('[SecretBytes redacted]');
  });

  it('exposes no enumerable property holding the bytes', () => {
    const secret = new SecretBytes(keyBytes());
    const values = Object.values(secret) as unknown[];
    expect(values.some((v) => v instanceof Uint8Array)).toBe(false);
    expect(Object.keys(secret)).toEqual(['length']);
  });
});
