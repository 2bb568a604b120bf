import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ID_BYTES, newId } from '../../../src/crypto/random.js';
import { idToUuid, toHex } from '../../../src/format/ids.js';
import { hex } from '../../helpers/unit-bytes.js';

const MAX_MS = 2 ** 48 - 1;

function timestampOf(id: Uint8Array): number {
  let ms = 0;
  for (let i = 0; i < 6; i++) ms = ms * 256 + (id[i] ?? 0);
  return ms;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

describe('newId', () => {
  it('returns 16 bytes', () => {
    expect(newId().length).toBe(ID_BYTES);
    expect(ID_BYTES).toBe(16);
  });

  it('puts the milliseconds in the first 6 bytes, big-endian', () => {
    const id = newId(0x0123456789ab);
    expect(hex(id.subarray(0, 6))).toBe('0123456789ab');
  });

  it('sets the version nibble to 7 and the RFC 9562 variant bits to 10 for any timestamp', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_MS }), (ms) => {
        const id = newId(ms);
        expect((id[6] ?? 0) >> 4).toBe(7);
        expect((id[8] ?? 0) >> 6).toBe(0b10);
        expect(timestampOf(id)).toBe(ms);
      }),
      { numRuns: 200 },
    );
  });

  it('uses the current time by default', () => {
    const before = Date.now();
    const id = newId();
    const after = Date.now();
    expect(timestampOf(id)).toBeGreaterThanOrEqual(before);
    expect(timestampOf(id)).toBeLessThanOrEqual(after);
  });

  it('floors fractional milliseconds and clamps negative times to 0', () => {
    expect(timestampOf(newId(1234.9))).toBe(1234);
    expect(timestampOf(newId(-5))).toBe(0);
  });

  it('never repeats over 20000 ids made in the same millisecond', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) seen.add(hex(newId(1_700_000_000_000)));
    expect(seen.size).toBe(20_000);
  });

  it('keeps 74 random bits: ids of one millisecond differ outside the version and variant bits', () => {
    const a = newId(42);
    const b = newId(42);
    const randomPart = (id: Uint8Array) => hex(Uint8Array.of((id[6] ?? 0) & 0x0f, id[7] ?? 0, (id[8] ?? 0) & 0x3f, ...id.subarray(9)));
    expect(randomPart(a)).not.toBe(randomPart(b));
  });

  it('sorts ids of earlier milliseconds before ids of later ones (byte order)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_MS - 1 }), fc.integer({ min: 1, max: 2 ** 30 }), (t, delta) => {
        const later = Math.min(MAX_MS, t + delta);
        expect(compareBytes(newId(t), newId(later))).toBeLessThan(0);
      }),
      { numRuns: 200 },
    );
  });
});

describe('idToUuid', () => {
  it('formats an id as the 8-4-4-4-12 lower-case UUID text form with version 7', () => {
    const uuid = idToUuid(newId(1_700_000_000_000));
    expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(uuid.startsWith('018bcfe5-6800-7')).toBe(true); // 1_700_000_000_000 = 0x018bcfe56800
  });

  it('maps the bytes in order', () => {
    const id = Uint8Array.from({ length: 16 }, (_, i) => i * 17);
    expect(idToUuid(id)).toBe('00112233-4455-6677-8899-aabbccddeeff');
  });
});

describe('toHex', () => {
  it('encodes only the viewed bytes of a subarray', () => {
    const whole = Uint8Array.of(0xaa, 0x01, 0x02, 0xbb);
    expect(toHex(whole.subarray(1, 3))).toBe('0102');
  });
});
