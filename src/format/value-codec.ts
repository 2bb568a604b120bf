/**
 * The plaintext frame of a stored value (encrypted as a whole, see docs/format.md):
 *
 *   u8 version (1) ‖ u32be headerLength ‖ header ‖ blob_0 ‖ blob_1 ‖ …
 *   header = UTF-8 JSON {"v": value with every Uint8Array replaced by null,
 *                        "b": [[path, byteLength], …]}   (blobs in frame order)
 *
 * Binary fields (face images, voice clips) stay out of the JSON, so a 64 MiB clip is neither
 * base64-inflated nor copied into a string, and the frame can be produced and consumed in chunks.
 */
import { VaultError, integrityError } from '../errors.js';
import { readU32, writeU32 } from './canonical.js';

export const FRAME_VERSION = 1;
const PREFIX_BYTES = 5;
/** Largest frame accepted (two 64 MiB blobs and change); also bounds what a reader allocates. */
export const MAX_FRAME_BYTES = 160 * 1024 * 1024;

/** A value that can be stored: JSON data plus Uint8Array leaves. */
export type StorableValue =
  | null
  | boolean
  | number
  | string
  | Uint8Array
  | readonly StorableValue[]
  | { readonly [key: string]: StorableValue };

type PathStep = string | number;

export interface EncodedFrame {
  /** Version, header length and header; holds plaintext, wipe after use. */
  readonly head: Uint8Array;
  /** The blobs, in frame order (the caller's arrays, not copies). */
  readonly blobs: readonly Uint8Array[];
  /** Total frame length in bytes. */
  readonly byteLength: number;
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

function describePath(path: readonly PathStep[]): string {
  return path.length === 0 ? '(value)' : path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.').replace(/\.\[/g, '[');
}

/**
 * Containers (arrays, objects) nested deeper than this in a value are refused before it is
 * validated: zod, the framing and JSON.stringify all recurse, and 200,000 levels overflowed the
 * stack (a RangeError instead of VALIDATION). The built-in categories nest 2 levels.
 */
export const MAX_VALUE_DEPTH = 64;

const MiB = 1024 * 1024;

/** A container being walked by assertValueBounds: its children are read one by one. */
interface OpenContainer {
  readonly node: object;
  /** Own enumerable keys of an object; null for an array. */
  readonly keys: readonly string[] | null;
  readonly length: number;
  index: number;
  /** The running total before this container: its size is the total after it, minus this. */
  readonly before: number;
}

/**
 * Refuses, with VALIDATION naming `field` (never the value), a value to be stored that is nested
 * deeper than MAX_VALUE_DEPTH, that is cyclic, or that is certainly larger than MAX_FRAME_BYTES
 * once framed — before zod parses it and the frame is built, which would take seconds on a
 * 170 MB value and overflow the stack on deep nesting. Cheap and iterative: an explicit stack,
 * each container's items counted before they are visited (an array of 85 million numbers is
 * refused by its length), each shared sub-value walked once (a DAG cannot blow up), and strings
 * sized by their length, a lower bound of their UTF-8 JSON. So the check never refuses what
 * `encodeFrame` would store; values it passes may still be refused there, exactly.
 *
 * @example
 * ```ts
 * assertValueBounds(raw, 'values.notes'); // then parse with the category's schema
 * ```
 */
export function assertValueBounds(value: unknown, field: string): void {
  const tooLarge = (): never => {
    throw new VaultError('VALIDATION', `${field}: larger than ${MAX_FRAME_BYTES / MiB} MiB once stored`, { field });
  };
  /** A lower bound of the frame's bytes so far (JSON text of the skeleton, plus blobs). */
  let total = 0;
  const sizes = new WeakMap<object, number>();
  const open = new WeakSet<object>();
  const stack: OpenContainer[] = [];
  const visit = (item: unknown): void => {
    switch (typeof item) {
      case 'string':
        total += item.length + 2; // UTF-8 has at least one byte per UTF-16 unit; the quotes
        break;
      case 'number':
      case 'boolean':
      case 'bigint':
        total += 1;
        break;
      case 'object': {
        if (item === null) {
          total += 4;
          break;
        }
        if (ArrayBuffer.isView(item)) {
          total += item.byteLength;
          break;
        }
        const known = sizes.get(item);
        if (known !== undefined) {
          total += known;
          break;
        }
        if (open.has(item)) throw new VaultError('VALIDATION', `${field}: contains itself (a cycle), which cannot be stored`, { field });
        if (stack.length >= MAX_VALUE_DEPTH) throw new VaultError('VALIDATION', `${field}: nested more than ${MAX_VALUE_DEPTH} levels deep`, { field });
        const before = total;
        let keys: string[] | null = null;
        let length: number;
        if (Array.isArray(item)) {
          length = item.length;
          total += 1 + Math.max(length, 1); // brackets and commas
        } else {
          const proto: unknown = Object.getPrototypeOf(item);
          if (proto !== Object.prototype && proto !== null) {
            total += 1; // not storable (a Date, a Map): the schema or the framing refuses it
            break;
          }
          keys = Object.keys(item);
          length = keys.length;
          total += 2; // braces; each entry is counted with its value (an undefined one is not written)
        }
        if (keys === null && total + length > MAX_FRAME_BYTES) tooLarge(); // each item takes a byte at least
        open.add(item);
        stack.push({ node: item, keys, length, index: 0, before });
        break;
      }
      default:
        return; // undefined, functions, symbols: not stored
    }
    if (total > MAX_FRAME_BYTES) tooLarge();
  };
  try {
    visit(value);
    for (let top = stack.at(-1); top !== undefined; top = stack.at(-1)) {
      if (top.index < top.length) {
        const i = top.index++;
        if (top.keys === null) {
          visit((top.node as readonly unknown[])[i]);
        } else {
          const key = top.keys[i] as string;
          const child = (top.node as Record<string, unknown>)[key];
          if (child !== undefined && typeof child !== 'function' && typeof child !== 'symbol') total += key.length + 3; // "key": (and a comma, but one)
          visit(child);
        }
      } else {
        stack.pop();
        open.delete(top.node);
        sizes.set(top.node, total - top.before);
      }
    }
  } catch (error) {
    if (error instanceof VaultError) throw error;
    // A getter or proxy trap threw: what cannot be read cannot be checked, nor stored. (Its
    // error is not attached: user code may have put the value in its message.)
    throw new VaultError('VALIDATION', `${field}: a part of the value cannot be read`, { field });
  }
}

/** Replaces Uint8Array leaves by null, collecting them; refuses anything JSON cannot carry exactly. */
function extractBlobs(value: unknown, path: PathStep[], blobs: [PathStep[], Uint8Array][]): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new VaultError('VALIDATION', `${describePath(path)}: numbers must be finite`, { field: describePath(path) });
    return value;
  }
  if (value instanceof Uint8Array) {
    blobs.push([[...path], value]);
    return null;
  }
  if (Array.isArray(value)) {
    return value.map((item: unknown, i) => {
      path.push(i);
      const out = extractBlobs(item, path, blobs);
      path.pop();
      return out;
    });
  }
  if (typeof value === 'object') {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        if (v === undefined) continue;
        if (k === '__proto__') {
          // JSON.parse keeps it as data but assignment would not: refuse rather than lose it.
          throw new VaultError('VALIDATION', `${describePath(path)}: the key "__proto__" cannot be stored`, { field: describePath(path) });
        }
        path.push(k);
        out[k] = extractBlobs(v, path, blobs);
        path.pop();
      }
      return out;
    }
  }
  const field = describePath(path);
  throw new VaultError('VALIDATION', `${field}: only JSON values and Uint8Array can be stored (got ${value === undefined ? 'undefined' : typeof value === 'object' ? 'a non-plain object' : typeof value})`, { field });
}

/** Encodes a value into a frame. Throws VALIDATION for values the frame cannot carry. */
export function encodeFrame(value: unknown): EncodedFrame {
  const blobs: [PathStep[], Uint8Array][] = [];
  let json: string;
  try {
    const skeleton = extractBlobs(value, [], blobs);
    json = JSON.stringify({ v: skeleton, b: blobs.map(([p, b]) => [p, b.length]) });
  } catch (error) {
    // Recursion too deep, or JSON longer than a string can be: the value cannot be framed.
    if (error instanceof RangeError) throw new VaultError('VALIDATION', '(value): too deeply nested or too large to store', { field: '(value)', cause: error });
    throw error;
  }
  // Written in place (no intermediate encoded copy to wipe); wiped by the caller after sealing.
  const headerLength = Buffer.byteLength(json, 'utf8');
  const head = Buffer.allocUnsafe(PREFIX_BYTES + headerLength);
  head[0] = FRAME_VERSION;
  writeU32(head, 1, headerLength);
  head.write(json, PREFIX_BYTES, 'utf8');
  let byteLength = head.length;
  for (const [, b] of blobs) byteLength += b.length;
  if (byteLength > MAX_FRAME_BYTES) {
    head.fill(0);
    throw new VaultError('VALIDATION', `(value): larger than ${MAX_FRAME_BYTES / 1024 / 1024} MiB in all`, { field: '(value)' });
  }
  return { head, blobs: blobs.map(([, b]) => b), byteLength };
}

/** The frame as one buffer (for values small enough to seal in one box). Wipe after use. */
export function frameToBytes(frame: EncodedFrame): Uint8Array {
  const out = Buffer.allocUnsafe(frame.byteLength); // fully written below
  out.set(frame.head, 0);
  let at = frame.head.length;
  for (const b of frame.blobs) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

/**
 * Cuts the frame into pieces of exactly `size` bytes (the last may be shorter, never empty
 * unless the frame is). Yields the same reused buffer each time — the consumer must use it
 * before asking for the next — and zeroes it at the end, so only one chunk of plaintext exists
 * outside the caller's own arrays.
 */
export function* frameChunks(frame: EncodedFrame, size: number): Generator<{ chunk: Uint8Array; final: boolean }> {
  if (!Number.isInteger(size) || size < 1) throw new RangeError('chunk size must be a positive integer');
  const buffer = new Uint8Array(size);
  let filled = 0;
  let remaining = frame.byteLength;
  try {
    for (const part of [frame.head, ...frame.blobs]) {
      let at = 0;
      while (at < part.length) {
        const n = Math.min(size - filled, part.length - at);
        buffer.set(part.subarray(at, at + n), filled);
        filled += n;
        at += n;
        remaining -= n;
        if (filled === size && remaining > 0) {
          yield { chunk: buffer, final: false };
          filled = 0;
        }
      }
    }
    yield { chunk: buffer.subarray(0, filled), final: true };
  } finally {
    buffer.fill(0);
  }
}

interface Header {
  v: unknown;
  b: [PathStep[], number][];
}

function parseHeader(bytes: Uint8Array, what: string): Header {
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8Decoder.decode(bytes));
  } catch {
    throw integrityError(what);
  }
  if (typeof parsed !== 'object' || parsed === null || !('v' in parsed) || !('b' in parsed) || !Array.isArray(parsed.b)) throw integrityError(what);
  for (const entry of parsed.b as unknown[]) {
    if (!Array.isArray(entry) || entry.length !== 2 || !Array.isArray(entry[0]) || !Number.isSafeInteger(entry[1]) || (entry[1] as number) < 0) {
      throw integrityError(what);
    }
  }
  // Never allocate more than a frame may hold, whatever an (authenticated) header claims.
  const total = (parsed.b as [unknown, number][]).reduce((sum, [, n]) => sum + n, bytes.length);
  if (total > MAX_FRAME_BYTES) throw integrityError(what);
  return parsed as Header;
}

function placeBlob(root: unknown, path: readonly PathStep[], blob: Uint8Array, what: string): unknown {
  if (path.length === 0) return blob;
  let node: unknown = root;
  for (let i = 0; i < path.length - 1; i++) {
    node = (node as Record<string | number, unknown> | null)?.[path[i] as string | number];
  }
  const last = path[path.length - 1] as string | number;
  if (typeof node !== 'object' || node === null || (node as Record<string | number, unknown>)[last] !== null) throw integrityError(what);
  (node as Record<string | number, unknown>)[last] = blob;
  return root;
}

/**
 * Reassembles a value from frame bytes given in any split (one buffer, or chunk by chunk).
 * Blob buffers are allocated once at their final size, so memory is the value plus one chunk.
 */
export class FrameReader {
  readonly #what: string;
  #prefix = new Uint8Array(PREFIX_BYTES);
  #prefixFilled = 0;
  #header: Uint8Array | undefined;
  #headerFilled = 0;
  #parsed: Header | undefined;
  #blobs: Uint8Array[] = [];
  #blobIndex = 0;
  #blobFilled = 0;

  /** `what` names the object in INTEGRITY errors. */
  constructor(what: string) {
    this.#what = what;
  }

  /** Consumes the next bytes of the frame. The caller may wipe `bytes` afterwards. */
  push(bytes: Uint8Array): void {
    let at = 0;
    while (at < bytes.length) {
      if (this.#prefixFilled < PREFIX_BYTES) {
        const n = Math.min(PREFIX_BYTES - this.#prefixFilled, bytes.length - at);
        this.#prefix.set(bytes.subarray(at, at + n), this.#prefixFilled);
        this.#prefixFilled += n;
        at += n;
        if (this.#prefixFilled === PREFIX_BYTES) {
          const headerLength = readU32(this.#prefix, 1);
          if (this.#prefix[0] !== FRAME_VERSION || headerLength > MAX_FRAME_BYTES) throw integrityError(this.#what);
          this.#header = Buffer.allocUnsafe(headerLength); // filled before use
        }
        continue;
      }
      const header = this.#header as Uint8Array;
      if (this.#parsed === undefined) {
        const n = Math.min(header.length - this.#headerFilled, bytes.length - at);
        header.set(bytes.subarray(at, at + n), this.#headerFilled);
        this.#headerFilled += n;
        at += n;
        if (this.#headerFilled === header.length) this.#startBlobs();
        continue;
      }
      const blob = this.#blobs[this.#blobIndex];
      if (blob === undefined) throw integrityError(this.#what); // bytes past the last blob
      const n = Math.min(blob.length - this.#blobFilled, bytes.length - at);
      blob.set(bytes.subarray(at, at + n), this.#blobFilled);
      this.#blobFilled += n;
      at += n;
      this.#skipFullBlobs();
    }
  }

  #startBlobs(): void {
    const header = this.#header as Uint8Array;
    this.#parsed = parseHeader(header, this.#what);
    header.fill(0);
    this.#blobs = this.#parsed.b.map(([, length]) => new Uint8Array(length));
    this.#skipFullBlobs();
  }

  #skipFullBlobs(): void {
    while (this.#blobIndex < this.#blobs.length && this.#blobFilled === this.#blobs[this.#blobIndex]?.length) {
      this.#blobIndex++;
      this.#blobFilled = 0;
    }
  }

  /** The decoded value. Throws INTEGRITY if the frame is incomplete. */
  finish(): unknown {
    const parsed = this.#parsed;
    if (parsed === undefined || this.#blobIndex !== this.#blobs.length) throw integrityError(this.#what);
    let value = parsed.v;
    parsed.b.forEach(([path], i) => {
      value = placeBlob(value, path, this.#blobs[i] as Uint8Array, this.#what);
    });
    return value;
  }
}

/** Decodes a whole frame held in one buffer. */
export function decodeFrame(bytes: Uint8Array, what: string): unknown {
  const reader = new FrameReader(what);
  reader.push(bytes);
  return reader.finish();
}
