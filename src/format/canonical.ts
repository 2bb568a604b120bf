/**
 * The one canonical encoding for everything that is authenticated or hashed (AAD, key
 * derivation inputs, subject tags, audit entries): a domain string, then each field
 * length-prefixed.
 *
 *   encode(domain, f1..fn) = lp(utf8("childvault/" + domain)) ‖ lp(f1) ‖ … ‖ lp(fn)
 *   lp(x) = u32be(byteLength(x)) ‖ x
 *
 * Strings are UTF-8; integers are u32 big-endian (4 bytes); timestamps are passed through `u64`
 * (8 bytes, big-endian). Each domain fixes its own field list (docs/format.md), so no two inputs
 * of the same domain share an encoding, and no input of one domain equals an input of another.
 *
 * It runs on every read and write, so it allocates once and writes ASCII without a TextEncoder.
 */

export type CanonicalField = Uint8Array | string | number;

const utf8 = new TextEncoder();

// Byte writes, not DataView: touching `.buffer` of a small fresh typed array costs ~1 µs in V8.
/** Writes `n` as u32 big-endian at `at`. */
export function writeU32(out: Uint8Array, at: number, n: number): void {
  out[at] = n >>> 24;
  out[at + 1] = n >>> 16;
  out[at + 2] = n >>> 8;
  out[at + 3] = n;
}

/** Reads a u32 big-endian at `at`. */
export function readU32(bytes: Uint8Array, at: number): number {
  return (((bytes[at] ?? 0) << 24) | ((bytes[at + 1] ?? 0) << 16) | ((bytes[at + 2] ?? 0) << 8) | (bytes[at + 3] ?? 0)) >>> 0;
}

const prefixes = new Map<string, Uint8Array>();

/** lp(utf8("childvault/" + domain)), computed once per domain. */
function domainPrefix(domain: string): Uint8Array {
  let prefix = prefixes.get(domain);
  if (prefix === undefined) {
    const name = utf8.encode(`childvault/${domain}`);
    prefix = new Uint8Array(4 + name.length);
    writeU32(prefix, 0, name.length);
    prefix.set(name, 4);
    prefixes.set(domain, prefix);
  }
  return prefix;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** An integer beyond u32 (a millisecond timestamp) as a canonical field: u64 big-endian, 8 bytes. */
export function u64(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError('canonical u64 must be a non-negative safe integer');
  const out = new Uint8Array(8);
  writeU32(out, 0, Math.floor(n / 0x1_0000_0000));
  writeU32(out, 4, n >>> 0);
  return out;
}

/** Encodes `fields` under `domain` as described above. */
export function encodeCanonical(domain: string, fields: readonly CanonicalField[]): Uint8Array {
  const prefix = domainPrefix(domain);
  // First pass: sizes (non-ASCII strings are encoded here, once).
  const encoded: (Uint8Array | string | number)[] = new Array<Uint8Array | string | number>(fields.length);
  let total = prefix.length;
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i] as CanonicalField;
    if (typeof field === 'number') {
      if (!Number.isInteger(field) || field < 0 || field > 0xffffffff) throw new RangeError('canonical integer out of u32 range');
      encoded[i] = field;
      total += 8;
    } else if (typeof field === 'string') {
      const value = isAscii(field) ? field : utf8.encode(field);
      encoded[i] = value;
      total += 4 + value.length;
    } else {
      encoded[i] = field;
      total += 4 + field.length;
    }
  }
  // Second pass: write.
  // Every byte is written below; Buffer.allocUnsafe avoids a slow ArrayBuffer allocation.
  const out = Buffer.allocUnsafe(total);
  out.set(prefix, 0);
  let at = prefix.length;
  for (const value of encoded) {
    if (typeof value === 'number') {
      writeU32(out, at, 4);
      writeU32(out, at + 4, value);
      at += 8;
    } else if (typeof value === 'string') {
      writeU32(out, at, value.length);
      at += 4;
      for (let j = 0; j < value.length; j++) out[at + j] = value.charCodeAt(j);
      at += value.length;
    } else {
      writeU32(out, at, value.length);
      out.set(value, at + 4);
      at += 4 + value.length;
    }
  }
  return out;
}
