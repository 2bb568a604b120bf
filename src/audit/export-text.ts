/**
 * Text helpers for audit exports: hex, ISO 8601 times and JSON strings.
 *
 * Why not the general-purpose paths (Buffer views, Date objects, JSON.stringify): exports and
 * their verification run these millions of times, and the common case — a 32-byte hash, a time
 * in the same minute as the last one, plain ASCII text — is easy to spot and several times
 * cheaper done directly. Each function returns exactly what the general path would.
 */

import { toHex } from '../format/ids.js';

const HEX_VALUES = new Int8Array(128).fill(-1);
/** The character code of each hex digit. */
const HEX_CODES = new Uint8Array(16);
for (let i = 0; i < 16; i++) {
  HEX_CODES[i] = '0123456789abcdef'.charCodeAt(i);
  HEX_VALUES[HEX_CODES[i] ?? 0] = i;
}

/** Lower-case hex of `bytes` (the one implementation: format/ids.ts). */
export const hexOf = toHex;

/** The bytes of `text` if it is exactly `length` bytes of lower-case hex, else null. */
export function hexBytes(text: unknown, length: number): Uint8Array | null {
  if (typeof text !== 'string' || text.length !== length * 2) return null;
  const out = new Uint8Array(length);
  let bad = 0;
  for (let i = 0; i < length; i++) {
    const hi = HEX_VALUES[text.charCodeAt(2 * i)] ?? -1;
    const lo = HEX_VALUES[text.charCodeAt(2 * i + 1)] ?? -1;
    bad |= hi | lo;
    out[i] = (hi << 4) | lo;
  }
  return bad < 0 ? null : out;
}

/**
 * True when `text` is the lower-case hex of `bytes`, compared without building a string: the
 * verifiers compare every computed hash with the hex a row or a file holds (hashes are public, so
 * the comparison need not be constant-time).
 */
export function equalsHex(bytes: Uint8Array, text: unknown): boolean {
  if (typeof text !== 'string' || text.length !== bytes.length * 2) return false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] ?? 0;
    if (text.charCodeAt(2 * i) !== HEX_CODES[b >> 4] || text.charCodeAt(2 * i + 1) !== HEX_CODES[b & 15]) return false;
  }
  return true;
}

/** Bytes of hex that a schema has already validated. */
export function fromHex(text: string): Uint8Array {
  const bytes = hexBytes(text, text.length >> 1);
  if (bytes === null) throw new RangeError('fromHex: not lower-case hex (validate first)');
  return bytes;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The number written by the `n` decimal digits at `at`, or -1 if one is not a digit. */
export function digitsAt(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/**
 * The milliseconds of an export timestamp (`2026-11-27T10:00:00.000Z`, from 1970 on), or null if
 * it is not exactly that form of a real instant — the same rule as the schemas' `isoTime`.
 */
export function isoToMs(s: unknown): number | null {
  if (typeof s !== 'string' || s.length !== 24 || s[4] !== '-' || s[7] !== '-' || s[10] !== 'T' || s[13] !== ':' || s[16] !== ':' || s[19] !== '.' || s[23] !== 'Z') return null;
  const y = digitsAt(s, 0, 4);
  const mo = digitsAt(s, 5, 2);
  const d = digitsAt(s, 8, 2);
  const h = digitsAt(s, 11, 2);
  const mi = digitsAt(s, 14, 2);
  const sec = digitsAt(s, 17, 2);
  const ms = digitsAt(s, 20, 3);
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 || ms < 0) return null;
  const leap = mo === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 1 : 0;
  if (d > (DAYS_IN_MONTH[mo - 1] ?? 0) + leap) return null;
  return Date.UTC(y, mo - 1, d, h, mi, sec, ms);
}

let isoMinute = -1;
let isoMinutePrefix = '';

/** `new Date(ms).toISOString()`, with the minute's prefix reused (entries come in time order). */
export function isoOf(ms: number): string {
  const minute = Math.floor(ms / 60_000);
  if (minute !== isoMinute) {
    isoMinutePrefix = new Date(minute * 60_000).toISOString().slice(0, 17);
    isoMinute = minute;
  }
  const rest = ms - minute * 60_000;
  const sec = Math.floor(rest / 1000);
  const milli = rest - sec * 1000;
  return `${isoMinutePrefix}${sec < 10 ? '0' : ''}${sec}.${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}

/** Printable ASCII without `"` and `\`: its JSON string form is itself in quotes. */
export const PLAIN_JSON = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** `JSON.stringify(s)`, without the call for plain text. */
export function jsonString(s: string): string {
  return PLAIN_JSON.test(s) ? `"${s}"` : JSON.stringify(s);
}

/** {@link jsonString}, or `null`. */
export function jsonStringOrNull(s: string | null): string {
  return s === null ? 'null' : jsonString(s);
}
