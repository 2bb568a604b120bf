import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeCanonical, u64, type CanonicalField } from '../../../src/format/canonical.js';
import { concatBytes, hex } from '../../helpers/unit-bytes.js';

const utf8 = new TextEncoder();

/** The inverse of encodeCanonical, written from the spec: proves the encoding is injective. */
function decodeCanonical(bytes: Uint8Array): { domain: string; fields: string[] } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const parts: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 4 > bytes.length) throw new Error('truncated length prefix');
    const n = view.getUint32(at);
    if (at + 4 + n > bytes.length) throw new Error('truncated field');
    parts.push(bytes.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  const [domain, ...fields] = parts;
  if (domain === undefined) throw new Error('no domain');
  return { domain: new TextDecoder().decode(domain), fields: fields.map(hex) };
}

function fieldHex(field: CanonicalField): string {
  if (typeof field === 'string') return hex(utf8.encode(field));
  if (typeof field === 'number') return field.toString(16).padStart(8, '0');
  return hex(field);
}

const textArb = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 6 }));
const fieldArb: fc.Arbitrary<CanonicalField> = fc.oneof(
  textArb,
  fc.uint8Array({ maxLength: 12 }),
  fc.integer({ min: 0, max: 0xffffffff }),
);
const inputArb = fc.record({ domain: textArb, fields: fc.array(fieldArb, { maxLength: 6 }) });

describe('encodeCanonical', () => {
  it('encodes the domain as a length-prefixed "childvault/<domain>" and nothing else when there are no fields', () => {
    // "childvault/kek" is 14 bytes.
    expect(hex(encodeCanonical('kek', []))).toBe('0000000e' + hex(utf8.encode('childvault/kek')));
  });

  it('length-prefixes bytes, UTF-8 strings and u32 big-endian integers', () => {
    const out = encodeCanonical('kek', [Uint8Array.of(0xde, 0xad), 'é', 0x01020304, 0]);
    const expected = concatBytes(
      Uint8Array.of(0, 0, 0, 14),
      utf8.encode('childvault/kek'),
      Uint8Array.of(0, 0, 0, 2, 0xde, 0xad),
      Uint8Array.of(0, 0, 0, 2, 0xc3, 0xa9), // é is two UTF-8 bytes
      Uint8Array.of(0, 0, 0, 4, 1, 2, 3, 4),
      Uint8Array.of(0, 0, 0, 4, 0, 0, 0, 0),
    );
    expect(hex(out)).toBe(hex(expected));
  });

  it('encodes an empty byte field and an empty string as a zero length prefix', () => {
    const out = encodeCanonical('x', [new Uint8Array(0), '']);
    expect(hex(out.subarray(out.length - 8))).toBe('0000000000000000');
  });

  it('does not let a field boundary move: ("ab","c") and ("a","bc") encode differently', () => {
    expect(hex(encodeCanonical('d', ['ab', 'c']))).not.toBe(hex(encodeCanonical('d', ['a', 'bc'])));
  });

  it('separates domains: a field cannot be moved into the domain', () => {
    expect(hex(encodeCanonical('dek', ['x']))).not.toBe(hex(encodeCanonical('dekx', [])));
    expect(hex(encodeCanonical('a/b', []))).not.toBe(hex(encodeCanonical('a', ['b'])));
  });

  it('is decodable back to its domain and field bytes for any input (so it is injective)', () => {
    fc.assert(
      fc.property(inputArb, ({ domain, fields }) => {
        const decoded = decodeCanonical(encodeCanonical(domain, fields));
        expect(decoded.domain).toBe(`childvault/${domain}`);
        expect(decoded.fields).toEqual(fields.map(fieldHex));
      }),
      { numRuns: 200 },
    );
  });

  it('never encodes two inputs with different field bytes to the same bytes', () => {
    fc.assert(
      fc.property(inputArb, inputArb, (a, b) => {
        const sameInput = a.domain === b.domain && JSON.stringify(a.fields.map(fieldHex)) === JSON.stringify(b.fields.map(fieldHex));
        const sameBytes = hex(encodeCanonical(a.domain, a.fields)) === hex(encodeCanonical(b.domain, b.fields));
        expect(sameBytes).toBe(sameInput);
      }),
      { numRuns: 200 },
    );
  });

  it('never encodes a list and that list with one field split in two to the same bytes', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 8 }), fc.array(fc.string({ maxLength: 8 }), { minLength: 1, maxLength: 5 }), fc.nat(), fc.nat(), (domain, fields, which, cut) => {
        const i = which % fields.length;
        const field = fields[i] ?? '';
        const k = cut % (field.length + 1);
        const split = [...fields.slice(0, i), field.slice(0, k), field.slice(k), ...fields.slice(i + 1)];
        expect(hex(encodeCanonical(domain, split))).not.toBe(hex(encodeCanonical(domain, fields)));
      }),
      { numRuns: 200 },
    );
  });

  it('accepts the u32 bounds 0 and 2^32-1', () => {
    expect(hex(encodeCanonical('n', [0xffffffff]).subarray(-4))).toBe('ffffffff');
    expect(hex(encodeCanonical('n', [0]).subarray(-4))).toBe('00000000');
  });

  it.each([
    ['a negative number', -1],
    ['2^32', 2 ** 32],
    ['a fraction', 1.5],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
  ])('refuses %s as an integer field with a RangeError', (_name, n) => {
    expect(() => encodeCanonical('n', [n])).toThrow(RangeError);
  });
});

describe('u64', () => {
  it('encodes a safe integer as 8 bytes big-endian', () => {
    expect(hex(u64(0))).toBe('0000000000000000');
    expect(hex(u64(0x0102_0304_0506))).toBe('0000010203040506');
    expect(hex(u64(Number.MAX_SAFE_INTEGER))).toBe('001fffffffffffff');
  });

  it('is carried by encodeCanonical as an 8-byte field', () => {
    expect(hex(encodeCanonical('t', [u64(1)]).subarray(-12))).toBe('000000080000000000000001');
  });

  it.each([-1, 1.5, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY])('refuses %s with a RangeError', (n) => {
    expect(() => u64(n)).toThrow(RangeError);
  });
});
