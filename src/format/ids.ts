/**
 * The text forms of ids and bytes: lower-case hex and the UUID form of 16-byte ids (the ids
 * themselves are drawn in crypto/random.ts).
 */

const HEX_DIGITS = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * Lower-case hex, for messages, exports and CLI output. A loop for short arrays: a Buffer view of a
 * small fresh Uint8Array makes V8 move its bytes off-heap (~1 µs), more than the loop costs.
 */
export function toHex(bytes: Uint8Array): string {
  if (bytes.length > 64) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += HEX_DIGITS[bytes[i] ?? 0] ?? '';
  return out;
}

/** The canonical UUID text form of a 16-byte id. */
export function idToUuid(id: Uint8Array): string {
  const h = toHex(id);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
