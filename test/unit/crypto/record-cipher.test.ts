import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { KEY_BYTES, SEALED_BOX_OVERHEAD } from '../../../src/crypto/aead.js';
import { randomBytes } from '../../../src/crypto/random.js';
import {
  CHUNK_BYTES,
  RECORD_FORMAT_SINGLE,
  RECORD_FORMAT_STREAM,
  STREAM_BODY_VERSION,
  STREAM_THRESHOLD,
  openRecord,
  recordFormatFor,
  sealRecord,
  type RecordFormat,
} from '../../../src/crypto/record-cipher.js';
import { SecretBytes } from '../../../src/crypto/secret-bytes.js';
import { loadSodium } from '../../../src/crypto/sodium.js';
import { STREAM_CHUNK_OVERHEAD, STREAM_HEADER_BYTES } from '../../../src/crypto/stream.js';
import { integrityError } from '../../../src/errors.js';
import { encodeFrame, type EncodedFrame } from '../../../src/format/value-codec.js';
import { flipped } from '../../helpers/unit-bytes.js';
import { expectVaultError } from '../../helpers/unit-errors.js';

const WHAT = 'face record';
const EXPECTED_MESSAGE = integrityError(WHAT).message;

/** Large test data (src's randomBytes is for keys and nonces; see the report on sizes > 64 KiB). */
function bigRandom(n: number): Uint8Array {
  return new Uint8Array(nodeRandomBytes(n));
}

/** Byte equality without vitest's element-by-element diffing (slow on 100 KiB arrays). */
function expectSameBytes(actual: unknown, expected: Uint8Array): void {
  expect(actual).toBeInstanceOf(Uint8Array);
  expect(Buffer.from(actual as Uint8Array).equals(expected)).toBe(true);
}

function key(): SecretBytes {
  return new SecretBytes(randomBytes(KEY_BYTES));
}

function aadFor(format: number): Uint8Array {
  return new TextEncoder().encode(`record aad format ${format}`);
}

function expectOpaqueFailure(fn: () => unknown): void {
  expect(expectVaultError(fn, 'INTEGRITY').message).toBe(EXPECTED_MESSAGE);
}

/** A frame of exactly `total` bytes: a root blob sized so head + blob = total. */
function frameOfLength(total: number): { frame: EncodedFrame; blob: Uint8Array } {
  const headLength = encodeFrame(new Uint8Array(total - 40)).head.length; // same digit count as the final blob length
  const blob = bigRandom(total - headLength);
  const frame = encodeFrame(blob);
  expect(frame.byteLength).toBe(total);
  return { frame, blob };
}

interface Stored {
  readonly format: RecordFormat;
  readonly body: Uint8Array;
  readonly chunks: Uint8Array[];
}

function store(dek: SecretBytes, frame: EncodedFrame): Stored {
  const format = recordFormatFor(frame.byteLength);
  const sealed = sealRecord(dek, format, aadFor(format), frame);
  return { format, body: sealed.body, chunks: [...sealed.chunks].map((c) => c.slice()) };
}

beforeAll(async () => {
  await loadSodium();
});

describe('recordFormatFor', () => {
  it('keeps frames up to STREAM_THRESHOLD in one sealed box and streams larger ones', () => {
    expect(STREAM_THRESHOLD).toBe(64 * 1024);
    expect(recordFormatFor(0)).toBe(RECORD_FORMAT_SINGLE);
    expect(recordFormatFor(STREAM_THRESHOLD)).toBe(RECORD_FORMAT_SINGLE);
    expect(recordFormatFor(STREAM_THRESHOLD + 1)).toBe(RECORD_FORMAT_STREAM);
  });
});

describe('sealRecord / openRecord', () => {
  it('stores a small value as one sealed box with no chunks, and opens it', () => {
    const dek = key();
    const value = { lat: 30.27, lon: 120.15, capturedAt: '2024-05-01T08:00:00Z' };
    const s = store(dek, encodeFrame(value));
    expect(s.format).toBe(RECORD_FORMAT_SINGLE);
    expect(s.chunks).toEqual([]);
    expect(openRecord(dek, s.format, aadFor(s.format), s.body, s.chunks, WHAT)).toEqual(value);
  });

  it('stores a frame of exactly STREAM_THRESHOLD bytes as a single box', () => {
    const dek = key();
    const { frame, blob } = frameOfLength(STREAM_THRESHOLD);
    const s = store(dek, frame);
    expect(s.format).toBe(RECORD_FORMAT_SINGLE);
    expect(s.body.length).toBe(STREAM_THRESHOLD + SEALED_BOX_OVERHEAD);
    expectSameBytes(openRecord(dek, s.format, aadFor(s.format), s.body, s.chunks, WHAT), blob);
  });

  it('streams a frame of STREAM_THRESHOLD + 1 bytes as a full chunk and a 1-byte final chunk', () => {
    const dek = key();
    const { frame, blob } = frameOfLength(STREAM_THRESHOLD + 1);
    const s = store(dek, frame);
    expect(s.format).toBe(RECORD_FORMAT_STREAM);
    expect(s.body.length).toBe(1 + STREAM_HEADER_BYTES);
    expect(s.body[0]).toBe(STREAM_BODY_VERSION);
    expect(s.chunks.map((c) => c.length)).toEqual([CHUNK_BYTES + STREAM_CHUNK_OVERHEAD, 1 + STREAM_CHUNK_OVERHEAD]);
    expectSameBytes(openRecord(dek, s.format, aadFor(s.format), s.body, s.chunks, WHAT), blob);
  });

  it('streams a frame of exactly two chunks without an empty third chunk', () => {
    const dek = key();
    const { frame, blob } = frameOfLength(2 * CHUNK_BYTES);
    const s = store(dek, frame);
    expect(s.chunks.length).toBe(2);
    expectSameBytes(openRecord(dek, s.format, aadFor(s.format), s.body, s.chunks, WHAT), blob);
  });

  it('round-trips a structured value with a large blob through the stream format', () => {
    const dek = key();
    const value = { image: bigRandom(200_000), embedding: [0.25, -1], capturedAt: '2024-05-01T08:00:00Z' };
    const s = store(dek, encodeFrame(value));
    expect(s.format).toBe(RECORD_FORMAT_STREAM);
    expect(s.chunks.length).toBe(Math.ceil(encodeFrame(value).byteLength / CHUNK_BYTES));
    const opened = openRecord(dek, s.format, aadFor(s.format), s.body, s.chunks, WHAT) as typeof value;
    expect(Object.keys(opened)).toEqual(['image', 'embedding', 'capturedAt']);
    expectSameBytes(opened.image, value.image);
    expect({ ...opened, image: null }).toEqual({ ...value, image: null });
  });

  it('produces stream chunks lazily, only as they are consumed', () => {
    const dek = key();
    const { frame } = frameOfLength(3 * CHUNK_BYTES);
    const sealed = sealRecord(dek, RECORD_FORMAT_STREAM, aadFor(2), frame);
    const iterator = sealed.chunks[Symbol.iterator]();
    expect(iterator.next().done).toBe(false);
    expect(iterator.next().done).toBe(false);
    expect(iterator.next().done).toBe(false);
    expect(iterator.next().done).toBe(true);
  });
});

describe('openRecord refusals', () => {
  let dek: SecretBytes;
  let single: Stored;
  let streamed: Stored;
  beforeAll(() => {
    dek = key();
    single = store(dek, encodeFrame({ phone: '+8613800000000' }));
    streamed = store(dek, frameOfLength(2 * CHUNK_BYTES + 10).frame);
  });

  it('refuses a single record opened under the stream format (the format is bound by the AAD and the body)', () => {
    expectOpaqueFailure(() => openRecord(dek, RECORD_FORMAT_STREAM, aadFor(RECORD_FORMAT_SINGLE), single.body, [], WHAT));
  });

  it('refuses a single record opened with the AAD of another format', () => {
    expectOpaqueFailure(() => openRecord(dek, RECORD_FORMAT_SINGLE, aadFor(RECORD_FORMAT_STREAM), single.body, [], WHAT));
  });

  it('refuses a single record that comes with chunks', () => {
    expectOpaqueFailure(() => openRecord(dek, RECORD_FORMAT_SINGLE, aadFor(1), single.body, [new Uint8Array(20)], WHAT));
  });

  it.each([0, 3, 255])('refuses unknown record format %i', (format) => {
    expectOpaqueFailure(() => openRecord(dek, format, aadFor(format), streamed.body, streamed.chunks, WHAT));
  });

  it('refuses a stream body with another version byte or another length', () => {
    const body = streamed.body.slice();
    body[0] = 2;
    expectOpaqueFailure(() => openRecord(dek, RECORD_FORMAT_STREAM, aadFor(2), body, streamed.chunks, WHAT));
    expectOpaqueFailure(() => openRecord(dek, RECORD_FORMAT_STREAM, aadFor(2), streamed.body.subarray(1), streamed.chunks, WHAT));
  });

  it('refuses a stream with a dropped, reordered or missing final chunk', () => {
    const [a, b, c] = streamed.chunks as [Uint8Array, Uint8Array, Uint8Array];
    expectOpaqueFailure(() => openRecord(dek, RECORD_FORMAT_STREAM, aadFor(2), streamed.body, [a, c], WHAT));
    expectOpaqueFailure(() => openRecord(dek, RECORD_FORMAT_STREAM, aadFor(2), streamed.body, [b, a, c], WHAT));
    expectOpaqueFailure(() => openRecord(dek, RECORD_FORMAT_STREAM, aadFor(2), streamed.body, [a, b], WHAT));
    expectOpaqueFailure(() => openRecord(dek, RECORD_FORMAT_STREAM, aadFor(2), streamed.body, [], WHAT));
    expectOpaqueFailure(() => openRecord(dek, RECORD_FORMAT_STREAM, aadFor(2), streamed.body, [a, b, c, c], WHAT));
  });

  it('refuses a flipped byte in a stream chunk or header, a wrong key and a wrong AAD', () => {
    const [a, b, c] = streamed.chunks as [Uint8Array, Uint8Array, Uint8Array];
    expectOpaqueFailure(() => openRecord(dek, RECORD_FORMAT_STREAM, aadFor(2), streamed.body, [a, flipped(b, 100), c], WHAT));
    expectOpaqueFailure(() => openRecord(dek, RECORD_FORMAT_STREAM, aadFor(2), flipped(streamed.body, 5), streamed.chunks, WHAT));
    expectOpaqueFailure(() => openRecord(key(), RECORD_FORMAT_STREAM, aadFor(2), streamed.body, streamed.chunks, WHAT));
    expectOpaqueFailure(() => openRecord(dek, RECORD_FORMAT_STREAM, aadFor(1), streamed.body, streamed.chunks, WHAT));
  });

  it('refuses a flipped byte in a single box, a wrong key and a wrong AAD', () => {
    expectOpaqueFailure(() => openRecord(dek, RECORD_FORMAT_SINGLE, aadFor(1), flipped(single.body, 30), [], WHAT));
    expectOpaqueFailure(() => openRecord(key(), RECORD_FORMAT_SINGLE, aadFor(1), single.body, [], WHAT));
    expectOpaqueFailure(() => openRecord(dek, RECORD_FORMAT_SINGLE, flipped(aadFor(1), 0), single.body, [], WHAT));
  });
});
