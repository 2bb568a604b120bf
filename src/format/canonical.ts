/**
 * The one canonical encoding for everything that is authenticated or hashed (AAD, key
 * derivation inputs, subject tags): a domain string, then each field length-prefixed.
 *
 *   encode(domain, f1..fn) = lp(utf8("childvault/" + domain)) ‖ lp(f1) ‖ … ‖ lp(fn)
 *   lp(x) = u32be(byteLength(x)) ‖ x
 *
 * Strings are UTF-8; integers are u32 big-endian (4 bytes); timestamps are passed through `u64`
 * (8 bytes, big-endian). Each domain fixes its own field list
 * (docs/format.md), so no two inputs of the same domain share an encoding, and no input of one
 * domain equals an input of another.
 */

export type CanonicalField = Uint8Array | string | number;

const utf8 = new TextEncoder();

function fieldBytes(field: CanonicalField): Uint8Array {
  if (typeof field === 'string') return utf8.encode(field);
  if (typeof field === 'number') {
    if (!Number.isInteger(field) || field < 0 || field > 0xffffffff) throw new RangeError('canonical integer out of u32 range');
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, field);
    return out;
  }
  return field;
}

/** An integer beyond u32 (a millisecond timestamp) as a canonical field: u64 big-endian, 8 bytes. */
export function u64(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError('canonical u64 must be a non-negative safe integer');
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

/** Encodes `fields` under `domain` as described above. */
export function encodeCanonical(domain: string, fields: readonly CanonicalField[]): Uint8Array {
  const parts = [utf8.encode(`childvault/${domain}`), ...fields.map(fieldBytes)];
  let total = 0;
  for (const p of parts) total += 4 + p.length;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const p of parts) {
    view.setUint32(at, p.length);
    out.set(p, at + 4);
    at += 4 + p.length;
  }
  return out;
}
