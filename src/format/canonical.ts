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

// eslint-disable-next-line no-control-regex -- ASCII means every code point below 0x80, controls included
const ASCII = /^[\x00-\x7f]*$/;

function isAscii(s: string): boolean {
  return ASCII.test(s);
}

/** An integer beyond u32 (a millisecond timestamp) as a canonical field: u64 big-endian, 8 bytes. */
export function u64(n: number): Uint8Array {
  return writeU64(new Uint8Array(8), n);
}

/** Writes `n` as u64 big-endian into the 8 bytes of `out` (a reused slot: no allocation); returns `out`. */
export function writeU64(out: Uint8Array, n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError('canonical u64 must be a non-negative safe integer');
  writeU32(out, 0, Math.floor(n / 0x1_0000_0000));
  writeU32(out, 4, n >>> 0);
  return out;
}

/** UTF-8 byte length of a string field, without encoding it when it is ASCII. */
function stringBytes(s: string): number {
  return isAscii(s) ? s.length : Buffer.byteLength(s, 'utf8');
}

/** The length of `encodeCanonical(domain, fields)`. */
export function canonicalLength(domain: string, fields: readonly CanonicalField[]): number {
  let total = domainPrefix(domain).length;
  for (const field of fields) {
    if (typeof field === 'number') {
      if (!Number.isInteger(field) || field < 0 || field > 0xffffffff) throw new RangeError('canonical integer out of u32 range');
      total += 8;
    } else total += 4 + (typeof field === 'string' ? stringBytes(field) : field.length);
  }
  return total;
}

/**
 * Writes `encodeCanonical(domain, fields)` into `target` at `at` (which must have room for
 * `canonicalLength` bytes) and returns the length. Lets hashing write straight into libsodium's
 * heap instead of allocating the encoding first.
 */
export function writeCanonical(target: Uint8Array, at: number, domain: string, fields: readonly CanonicalField[]): number {
  const start = at;
  const prefix = domainPrefix(domain);
  target.set(prefix, at);
  at += prefix.length;
  for (const field of fields) {
    if (typeof field === 'number') {
      writeU32(target, at, 4);
      writeU32(target, at + 4, field);
      at += 8;
    } else if (typeof field === 'string') {
      if (isAscii(field)) {
        writeU32(target, at, field.length);
        at += 4;
        for (let j = 0; j < field.length; j++) target[at + j] = field.charCodeAt(j);
        at += field.length;
      } else {
        const { written } = utf8.encodeInto(field, target.subarray(at + 4));
        writeU32(target, at, written);
        at += 4 + written;
      }
    } else {
      writeU32(target, at, field.length);
      target.set(field, at + 4);
      at += 4 + field.length;
    }
  }
  return at - start;
}

/** Encodes `fields` under `domain` as described above. */
export function encodeCanonical(domain: string, fields: readonly CanonicalField[]): Uint8Array {
  // Every byte is written; Buffer.allocUnsafe avoids a slow ArrayBuffer allocation.
  const out = Buffer.allocUnsafe(canonicalLength(domain, fields));
  writeCanonical(out, 0, domain, fields);
  return out;
}
