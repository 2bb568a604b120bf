import { beforeAll, describe, expect, it } from 'vitest';
import { KEY_BYTES } from '../../../src/crypto/aead.js';
import { randomBytes } from '../../../src/crypto/random.js';
import { SecretBytes } from '../../../src/crypto/secret-bytes.js';
import { loadSodium, sodium } from '../../../src/crypto/sodium.js';
import {
  STREAM_CHUNK_OVERHEAD,
  STREAM_HEADER_BYTES,
  createStreamOpener,
  createStreamSealer,
  type StreamOpener,
} from '../../../src/crypto/stream.js';
import { integrityError } from '../../../src/errors.js';
import { flipped } from '../../helpers/unit-bytes.js';
import { expectVaultError } from '../../helpers/unit-errors.js';

const WHAT = 'voice record';
const EXPECTED_MESSAGE = integrityError(WHAT).message;
const aad = new TextEncoder().encode('record aad');

function key(): SecretBytes {
  return new SecretBytes(randomBytes(KEY_BYTES));
}

function expectOpaqueFailure(fn: () => unknown): void {
  expect(expectVaultError(fn, 'INTEGRITY').message).toBe(EXPECTED_MESSAGE);
}

interface Sealed {
  readonly header: Uint8Array;
  readonly chunks: Uint8Array[];
  readonly plain: Uint8Array[];
}

function sealChunks(k: SecretBytes, sizes: readonly number[]): Sealed {
  const sealer = createStreamSealer(k, aad);
  const plain = sizes.map((n, i) => new Uint8Array(n).fill(i + 1));
  const chunks = plain.map((p, i) => sealer.push(p, i === plain.length - 1));
  return { header: sealer.header, chunks, plain };
}

/** Pulls `chunks` in order and calls finish; returns the plaintexts. */
function openAll(opener: StreamOpener, chunks: readonly Uint8Array[]): Uint8Array[] {
  const out = chunks.map((c) => opener.pull(c));
  opener.finish();
  return out;
}

beforeAll(async () => {
  await loadSodium();
});

describe('secretstream sealing and opening', () => {
  it('opens chunks sealed in order, with the final one last', () => {
    const k = key();
    const s = sealChunks(k, [10, 0, 33, 5]);
    expect(s.header.length).toBe(STREAM_HEADER_BYTES);
    expect(s.chunks.map((c) => c.length)).toEqual([10, 0, 33, 5].map((n) => n + STREAM_CHUNK_OVERHEAD));
    expect(openAll(createStreamOpener(k, s.header, aad, WHAT), s.chunks)).toEqual(s.plain);
  });

  it('opens a stream of a single final chunk', () => {
    const k = key();
    const s = sealChunks(k, [7]);
    expect(openAll(createStreamOpener(k, s.header, aad, WHAT), s.chunks)).toEqual(s.plain);
  });

  it('refuses to push after the final chunk', () => {
    const sealer = createStreamSealer(key(), aad);
    sealer.push(Uint8Array.of(1), true);
    expect(() => sealer.push(Uint8Array.of(2), false)).toThrow('stream already finished');
  });

  it('refuses reordered chunks', () => {
    const k = key();
    const s = sealChunks(k, [4, 4, 4]);
    const opener = createStreamOpener(k, s.header, aad, WHAT);
    expectOpaqueFailure(() => opener.pull(s.chunks[1]!));
  });

  it('refuses a dropped middle chunk', () => {
    const k = key();
    const s = sealChunks(k, [4, 4, 4]);
    const opener = createStreamOpener(k, s.header, aad, WHAT);
    opener.pull(s.chunks[0]!);
    expectOpaqueFailure(() => opener.pull(s.chunks[2]!));
  });

  it('refuses a duplicated chunk', () => {
    const k = key();
    const s = sealChunks(k, [4, 4, 4]);
    const opener = createStreamOpener(k, s.header, aad, WHAT);
    opener.pull(s.chunks[0]!);
    expectOpaqueFailure(() => opener.pull(s.chunks[0]!));
  });

  it('refuses a stream truncated before its final chunk at finish', () => {
    const k = key();
    const s = sealChunks(k, [4, 4, 4]);
    const opener = createStreamOpener(k, s.header, aad, WHAT);
    opener.pull(s.chunks[0]!);
    opener.pull(s.chunks[1]!);
    expectOpaqueFailure(() => {
      opener.finish();
    });
  });

  it('refuses an empty stream (no chunk at all) at finish', () => {
    const k = key();
    const s = sealChunks(k, [4]);
    expectOpaqueFailure(() => {
      createStreamOpener(k, s.header, aad, WHAT).finish();
    });
  });

  it('refuses any chunk after the final one', () => {
    const k = key();
    const s = sealChunks(k, [4, 4]);
    const opener = createStreamOpener(k, s.header, aad, WHAT);
    opener.pull(s.chunks[0]!);
    opener.pull(s.chunks[1]!);
    expectOpaqueFailure(() => opener.pull(s.chunks[1]!));
    expectOpaqueFailure(() => opener.pull(new Uint8Array(40)));
  });

  it('refuses an authentic chunk sealed after the final one (a stream extended past FINAL)', () => {
    const s = sodium();
    const raw = randomBytes(KEY_BYTES);
    const { state, header } = s.crypto_secretstream_xchacha20poly1305_init_push(raw);
    const last = s.crypto_secretstream_xchacha20poly1305_push(state, Uint8Array.of(1), aad, s.crypto_secretstream_xchacha20poly1305_TAG_FINAL);
    const extra = s.crypto_secretstream_xchacha20poly1305_push(state, Uint8Array.of(2), aad, s.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
    const opener = createStreamOpener(new SecretBytes(raw), header, aad, WHAT);
    expect(Array.from(opener.pull(last))).toEqual([1]);
    expectOpaqueFailure(() => opener.pull(extra));
  });

  it('refuses a chunk taken from another stream under the same key', () => {
    const k = key();
    const a = sealChunks(k, [4, 4]);
    const b = sealChunks(k, [4, 4]);
    const opener = createStreamOpener(k, a.header, aad, WHAT);
    expectOpaqueFailure(() => opener.pull(b.chunks[0]!));
  });

  it('refuses every single-byte flip in every chunk', () => {
    const k = key();
    const s = sealChunks(k, [3, 6]);
    s.chunks.forEach((chunk, ci) => {
      for (let i = 0; i < chunk.length; i++) {
        const opener = createStreamOpener(k, s.header, aad, WHAT);
        const before = s.chunks.slice(0, ci);
        for (const c of before) opener.pull(c);
        expectOpaqueFailure(() => opener.pull(flipped(chunk, i)));
      }
    });
  });

  it('refuses every single-byte flip in the header', () => {
    const k = key();
    const s = sealChunks(k, [3]);
    for (let i = 0; i < s.header.length; i++) {
      expectOpaqueFailure(() => openAll(createStreamOpener(k, flipped(s.header, i), aad, WHAT), s.chunks));
    }
  });

  it('refuses a header of the wrong length when the opener is created', () => {
    const k = key();
    const s = sealChunks(k, [3]);
    expectOpaqueFailure(() => createStreamOpener(k, s.header.subarray(1), aad, WHAT));
    expectOpaqueFailure(() => createStreamOpener(k, new Uint8Array(STREAM_HEADER_BYTES + 1), aad, WHAT));
  });

  it('refuses a wrong key and a wrong AAD identically', () => {
    const k = key();
    const s = sealChunks(k, [3, 3]);
    expectOpaqueFailure(() => openAll(createStreamOpener(key(), s.header, aad, WHAT), s.chunks));
    expectOpaqueFailure(() => openAll(createStreamOpener(k, s.header, flipped(aad, 0), WHAT), s.chunks));
    expectOpaqueFailure(() => openAll(createStreamOpener(k, s.header, new Uint8Array(0), WHAT), s.chunks));
  });

  it('refuses a truncated chunk, and a chunk shorter than the per-chunk overhead', () => {
    const k = key();
    const s = sealChunks(k, [8]);
    const chunk = s.chunks[0]!;
    expectOpaqueFailure(() => createStreamOpener(k, s.header, aad, WHAT).pull(chunk.subarray(0, chunk.length - 1)));
    expectOpaqueFailure(() => createStreamOpener(k, s.header, aad, WHAT).pull(chunk.subarray(0, 3)));
    expectOpaqueFailure(() => createStreamOpener(k, s.header, aad, WHAT).pull(new Uint8Array(0)));
  });

  it('refuses authentic chunks carrying tags other than MESSAGE and FINAL (PUSH, REKEY)', () => {
    const s = sodium();
    for (const tag of [s.crypto_secretstream_xchacha20poly1305_TAG_PUSH, s.crypto_secretstream_xchacha20poly1305_TAG_REKEY]) {
      const raw = randomBytes(KEY_BYTES);
      const { state, header } = s.crypto_secretstream_xchacha20poly1305_init_push(raw);
      const chunk = s.crypto_secretstream_xchacha20poly1305_push(state, Uint8Array.of(1, 2), aad, tag);
      expectOpaqueFailure(() => createStreamOpener(new SecretBytes(raw), header, aad, WHAT).pull(chunk));
    }
  });
});
