/**
 * Chunked encryption for large values (libsodium secretstream, XChaCha20-Poly1305). Each chunk
 * is authenticated with its position, and the last one carries TAG_FINAL, so reordered, dropped,
 * duplicated or truncated chunks fail to open. Memory stays bounded by one chunk.
 *
 * The stream state (which holds a subkey) lives in a SecretBytes between chunks and enters the
 * WebAssembly heap only for one call, in the zeroed scratch region (src/crypto/wasm.ts). It is
 * wiped after the final chunk, on any failure, and by `dispose()`.
 */
import { integrityError } from '../errors.js';
import { fillRandom } from './random.js';
import { SecretBytes } from './secret-bytes.js';
import { sodium } from './sodium.js';
import {
  SECRETSTREAM_ABYTES,
  SECRETSTREAM_HEADER_BYTES,
  SECRETSTREAM_STATE_BYTES,
  secretstreamInitInto,
  secretstreamPullInto,
  secretstreamPushInto,
} from './wasm.js';

export const STREAM_HEADER_BYTES = SECRETSTREAM_HEADER_BYTES;
/** Bytes each chunk adds to its plaintext. */
export const STREAM_CHUNK_OVERHEAD = SECRETSTREAM_ABYTES;

export interface StreamSealer {
  /** The stream header; stored beside the chunks, needed to open them. */
  readonly header: Uint8Array;
  /** Encrypts the next chunk; `final` must be true for the last one (and only for it). */
  push(chunk: Uint8Array, final: boolean): Uint8Array;
  /** Wipes the stream state (done by the final push already); the sealer cannot push again. */
  dispose(): void;
}

export interface StreamOpener {
  /** Decrypts the next chunk. Throws INTEGRITY on any tampering, or on a chunk after the final one. */
  pull(chunk: Uint8Array): Uint8Array;
  /** Throws INTEGRITY unless the final chunk was seen (the stream was not truncated). */
  finish(): void;
  /** Wipes the stream state (done by the final chunk or any failure already); the opener cannot pull again. */
  dispose(): void;
}

/** Starts sealing a stream under `key`; every chunk authenticates `aad`. */
export function createStreamSealer(key: SecretBytes, aad: Uint8Array): StreamSealer {
  const s = sodium();
  const state = new SecretBytes(new Uint8Array(SECRETSTREAM_STATE_BYTES));
  // A random header from the OS CSPRNG, as every nonce here (docs/format.md §1).
  const header = fillRandom(new Uint8Array(STREAM_HEADER_BYTES));
  let started = false;
  try {
    started = key.use((k) => state.use((st) => secretstreamInitInto(st, header, k)));
  } finally {
    if (!started) state.wipe();
  }
  if (!started) throw new Error('crypto_secretstream init failed');
  let finished = false;
  return {
    header,
    push(chunk, final) {
      if (finished) throw new Error('stream already finished');
      finished = final;
      const tag = final ? s.crypto_secretstream_xchacha20poly1305_TAG_FINAL : s.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
      const out = new Uint8Array(chunk.length + STREAM_CHUNK_OVERHEAD);
      let ok = false;
      try {
        state.use((st) => {
          secretstreamPushInto(st, out, chunk, aad, tag);
        });
        ok = true;
        return out;
      } finally {
        if (final || !ok) {
          finished = true;
          state.wipe();
        }
      }
    },
    dispose() {
      finished = true;
      state.wipe();
    },
  };
}

/** Starts opening a stream sealed by `createStreamSealer`. */
export function createStreamOpener(key: SecretBytes, header: Uint8Array, aad: Uint8Array, what: string): StreamOpener {
  const s = sodium();
  if (header.length !== STREAM_HEADER_BYTES) throw integrityError(what);
  const state = new SecretBytes(new Uint8Array(SECRETSTREAM_STATE_BYTES));
  let started = false;
  try {
    started = key.use((k) => state.use((st) => secretstreamInitInto(st, header, k)));
  } finally {
    if (!started) state.wipe();
  }
  if (!started) throw integrityError(what);
  let finished = false;
  let sawFinal = false;
  /** Any failure ends the stream: its state is wiped and every later pull refused. */
  const fail = (): never => {
    finished = true;
    state.wipe();
    throw integrityError(what);
  };
  return {
    pull(chunk) {
      if (finished || chunk.length < STREAM_CHUNK_OVERHEAD) return fail();
      const out = new Uint8Array(chunk.length - STREAM_CHUNK_OVERHEAD);
      const tag = state.use((st) => secretstreamPullInto(st, out, chunk, aad));
      if (tag === s.crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
        finished = true;
        sawFinal = true;
        state.wipe();
      } else if (tag !== s.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE) {
        out.fill(0);
        return fail(); // -1 (did not authenticate), or a tag this format never writes
      }
      return out;
    },
    finish() {
      if (!sawFinal) fail();
    },
    dispose() {
      finished = true;
      state.wipe();
    },
  };
}
