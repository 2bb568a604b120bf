/**
 * The secretstream state holds a subkey: it must not stay on libsodium's WebAssembly heap. The
 * libsodium.js wrapper allocates one per stream and never frees or zeroes it (200k streams grew
 * the heap from 4 to 12.8 MiB); src/crypto/stream.ts keeps it in a SecretBytes instead and puts
 * it on the heap only for one call, in the zeroed scratch region. Its own file: a fresh heap.
 */
import libsodium from 'libsodium-wrappers-sumo';
import { beforeAll, describe, expect, it } from 'vitest';
import { KEY_BYTES } from '../../../src/crypto/aead.js';
import { randomBytes } from '../../../src/crypto/random.js';
import { SecretBytes } from '../../../src/crypto/secret-bytes.js';
import { loadSodium } from '../../../src/crypto/sodium.js';
import { createStreamOpener, createStreamSealer } from '../../../src/crypto/stream.js';
import { sealRecord, openRecord, RECORD_FORMAT_STREAM } from '../../../src/crypto/record-cipher.js';
import { encodeFrame } from '../../../src/format/value-codec.js';

const WHAT = 'voice record';
const aad = new TextEncoder().encode('record aad');

interface Heap {
  HEAPU8: Uint8Array;
  _malloc(n: number): number;
  _free(p: number): void;
}
const wasm = (): Heap => (libsodium as unknown as { libsodium: Heap }).libsodium;

function onHeap(needle: Uint8Array): boolean {
  const heap = wasm().HEAPU8;
  return Buffer.from(heap.buffer, heap.byteOffset, heap.byteLength).indexOf(Buffer.from(needle)) !== -1;
}

/**
 * The subkey a stream with `header` under `key` keeps in its state: HChaCha20(key, header[0..16]).
 * Computed here in JavaScript, since libsodium.js's own call would leave it on the heap.
 */
function subkeyOf(key: Uint8Array, header: Uint8Array): Uint8Array {
  const word = (b: Uint8Array, i: number): number => ((b[i] ?? 0) | ((b[i + 1] ?? 0) << 8) | ((b[i + 2] ?? 0) << 16) | ((b[i + 3] ?? 0) << 24)) >>> 0;
  const x = new Uint32Array(16);
  x.set([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);
  for (let i = 0; i < 8; i++) x[4 + i] = word(key, i * 4);
  for (let i = 0; i < 4; i++) x[12 + i] = word(header, i * 4);
  const rotl = (v: number, n: number): number => ((v << n) | (v >>> (32 - n))) >>> 0;
  const at = (i: number): number => x[i] ?? 0;
  const quarter = (a: number, b: number, c: number, d: number): void => {
    x[a] = at(a) + at(b);
    x[d] = rotl(at(d) ^ at(a), 16);
    x[c] = at(c) + at(d);
    x[b] = rotl(at(b) ^ at(c), 12);
    x[a] = at(a) + at(b);
    x[d] = rotl(at(d) ^ at(a), 8);
    x[c] = at(c) + at(d);
    x[b] = rotl(at(b) ^ at(c), 7);
  };
  for (let round = 0; round < 10; round++) {
    quarter(0, 4, 8, 12); quarter(1, 5, 9, 13); quarter(2, 6, 10, 14); quarter(3, 7, 11, 15);
    quarter(0, 5, 10, 15); quarter(1, 6, 11, 12); quarter(2, 7, 8, 13); quarter(3, 4, 9, 14);
  }
  const out = new Uint8Array(32);
  const view = new DataView(out.buffer);
  [0, 1, 2, 3, 12, 13, 14, 15].forEach((w, i) => {
    view.setUint32(i * 4, at(w), true);
  });
  return out;
}

/** Where a fresh 64-byte allocation lands: moves when something stays allocated in between. */
function probe(): number {
  const p = wasm()._malloc(64);
  wasm()._free(p);
  return p;
}

beforeAll(loadSodium);

describe('secretstream state on the WebAssembly heap', () => {
  it('computes the subkey as libsodium does (the check below depends on it)', () => {
    const key = new Uint8Array(32).map((_, i) => i * 7);
    const header = new Uint8Array(24).map((_, i) => 200 - i);
    expect(subkeyOf(key, header)).toEqual(libsodium.crypto_core_hchacha20(header.subarray(0, 16), key, null));
  });

  it('does not grow the heap over 50,000 streams sealed and opened', () => {
    const key = new SecretBytes(randomBytes(KEY_BYTES));
    const chunk = new Uint8Array(100).fill(7);
    const once = (): void => {
      const sealer = createStreamSealer(key, aad);
      const sealed = sealer.push(chunk, true);
      const opener = createStreamOpener(key, sealer.header, aad, WHAT);
      opener.pull(sealed);
      opener.finish();
    };
    once(); // the scratch region reaches its size
    const heapBefore = wasm().HEAPU8.length;
    const probeBefore = probe();
    for (let i = 0; i < 50_000; i++) once();
    expect(wasm().HEAPU8.length).toBe(heapBefore);
    expect(probe()).toBe(probeBefore);
  });

  it('leaves no subkey (nor plaintext) on the heap: mid-stream, after the final chunk, after a failure, after dispose', () => {
    const raw = randomBytes(KEY_BYTES);
    const key = new SecretBytes(raw.slice());
    const plain = new TextEncoder().encode('stream-plaintext-marker-91f3-must-not-stay');

    const sealer = createStreamSealer(key, aad);
    const subkey = subkeyOf(raw, sealer.header);
    const first = sealer.push(plain, false);
    expect(onHeap(subkey)).toBe(false); // between chunks
    const last = sealer.push(plain, true);
    expect(onHeap(subkey)).toBe(false);
    expect(onHeap(plain)).toBe(false);

    const opener = createStreamOpener(key, sealer.header, aad, WHAT);
    expect(opener.pull(first)).toEqual(plain);
    expect(onHeap(subkey)).toBe(false);
    expect(opener.pull(last)).toEqual(plain);
    opener.finish();
    expect(onHeap(subkey)).toBe(false);
    expect(onHeap(plain)).toBe(false);

    const failing = createStreamOpener(key, sealer.header, aad, WHAT);
    expect(() => failing.pull(last)).toThrow(); // out of order: INTEGRITY, and the stream is over
    expect(() => failing.pull(first)).toThrow();
    expect(() => { failing.finish(); }).toThrow();
    expect(onHeap(subkey)).toBe(false);

    const abandoned = createStreamSealer(key, aad);
    abandoned.push(plain, false);
    abandoned.dispose();
    expect(() => abandoned.push(plain, true)).toThrow('stream already finished');
    expect(onHeap(subkeyOf(raw, abandoned.header))).toBe(false);
  });

  it('record streams dispose of their state when the consumer stops early or a chunk fails', () => {
    const raw = randomBytes(KEY_BYTES);
    const dek = new SecretBytes(raw.slice());
    const frame = encodeFrame({ clip: new Uint8Array(200_000).fill(3) });
    const sealed = sealRecord(dek, RECORD_FORMAT_STREAM, aad, frame);
    const chunks = [...sealed.chunks];
    expect(openRecord(dek, RECORD_FORMAT_STREAM, aad, sealed.body, chunks, WHAT)).toEqual({ clip: new Uint8Array(200_000).fill(3) });
    const subkey = subkeyOf(raw, sealed.body.subarray(1));
    expect(onHeap(subkey)).toBe(false);
    expect(() => openRecord(dek, RECORD_FORMAT_STREAM, aad, sealed.body, [chunks[0] as Uint8Array, chunks[2] as Uint8Array], WHAT)).toThrow();
    const stopped = sealRecord(dek, RECORD_FORMAT_STREAM, aad, frame);
    for (const _ of stopped.chunks) break; // a consumer that stops after one chunk
    expect(onHeap(subkeyOf(raw, stopped.body.subarray(1)))).toBe(false);
    expect(onHeap(subkey)).toBe(false);
  });
});
