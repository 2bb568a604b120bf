/**
 * Chunked encryption for large values (libsodium secretstream, XChaCha20-Poly1305). Each chunk
 * is authenticated with its position, and the last one carries TAG_FINAL, so reordered, dropped,
 * duplicated or truncated chunks fail to open. Memory stays bounded by one chunk.
 */
import { integrityError } from '../errors.js';
import type { SecretBytes } from './secret-bytes.js';
import { sodium, type Sodium } from './sodium.js';

export const STREAM_HEADER_BYTES = 24;
/** Bytes each chunk adds to its plaintext. */
export const STREAM_CHUNK_OVERHEAD = 17;

export interface StreamSealer {
  /** The stream header; stored beside the chunks, needed to open them. */
  readonly header: Uint8Array;
  /** Encrypts the next chunk; `final` must be true for the last one (and only for it). */
  push(chunk: Uint8Array, final: boolean): Uint8Array;
}

export interface StreamOpener {
  /** Decrypts the next chunk. Throws INTEGRITY on any tampering, or on a chunk after the final one. */
  pull(chunk: Uint8Array): Uint8Array;
  /** Throws INTEGRITY unless the final chunk was seen (the stream was not truncated). */
  finish(): void;
}

/** Starts sealing a stream under `key`; every chunk authenticates `aad`. */
export function createStreamSealer(key: SecretBytes, aad: Uint8Array): StreamSealer {
  const s = sodium();
  const { state, header } = key.use((k) => s.crypto_secretstream_xchacha20poly1305_init_push(k));
  let finished = false;
  return {
    header,
    push(chunk, final) {
      if (finished) throw new Error('stream already finished');
      finished = final;
      const tag = final ? s.crypto_secretstream_xchacha20poly1305_TAG_FINAL : s.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
      return s.crypto_secretstream_xchacha20poly1305_push(state, chunk, aad, tag);
    },
  };
}

/** Starts opening a stream sealed by `createStreamSealer`. */
export function createStreamOpener(key: SecretBytes, header: Uint8Array, aad: Uint8Array, what: string): StreamOpener {
  const s = sodium();
  if (header.length !== STREAM_HEADER_BYTES) throw integrityError(what);
  let state: ReturnType<Sodium['crypto_secretstream_xchacha20poly1305_init_pull']>;
  try {
    state = key.use((k) => s.crypto_secretstream_xchacha20poly1305_init_pull(header, k));
  } catch {
    throw integrityError(what);
  }
  let finished = false;
  return {
    pull(chunk) {
      if (finished) throw integrityError(what);
      let result: { message: Uint8Array; tag: number } | false;
      try {
        result = s.crypto_secretstream_xchacha20poly1305_pull(state, chunk, aad);
      } catch {
        throw integrityError(what);
      }
      // The wrapper returns false (not a throw) when authentication fails.
      if (typeof result !== 'object' || result === null) throw integrityError(what);
      if (result.tag === s.crypto_secretstream_xchacha20poly1305_TAG_FINAL) finished = true;
      else if (result.tag !== s.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE) throw integrityError(what);
      return result.message;
    },
    finish() {
      if (!finished) throw integrityError(what);
    },
  };
}
