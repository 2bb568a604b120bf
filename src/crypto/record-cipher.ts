/**
 * Seals and opens stored values under their data key. Small frames are one sealed box; frames
 * over STREAM_THRESHOLD are a secretstream of CHUNK_BYTES chunks, so a 64 MiB voice clip never
 * needs a second 64 MiB buffer (nor a 64 MiB WebAssembly heap).
 */
import { integrityError } from '../errors.js';
import { FrameReader, frameChunks, frameToBytes, type EncodedFrame } from '../format/value-codec.js';
import { open, seal } from './aead.js';
import type { SecretBytes } from './secret-bytes.js';
import { createStreamOpener, createStreamSealer, STREAM_HEADER_BYTES } from './stream.js';

export const RECORD_FORMAT_SINGLE = 1;
export const RECORD_FORMAT_STREAM = 2;
export type RecordFormat = typeof RECORD_FORMAT_SINGLE | typeof RECORD_FORMAT_STREAM;

/** Version byte that starts a stream record's body (`version ‖ secretstream header`). */
export const STREAM_BODY_VERSION = 1;
export const STREAM_THRESHOLD = 64 * 1024;
export const CHUNK_BYTES = 64 * 1024;

/** The format a frame of `byteLength` bytes is stored in. */
export function recordFormatFor(byteLength: number): RecordFormat {
  return byteLength > STREAM_THRESHOLD ? RECORD_FORMAT_STREAM : RECORD_FORMAT_SINGLE;
}

export interface SealedRecord {
  readonly body: Uint8Array;
  /** Encrypted chunks, produced lazily: consume them once, in order (empty for single records). */
  readonly chunks: Iterable<Uint8Array>;
}

/** Seals `frame` in `format` under `dek`, authenticating `aad` (which must bind `format`). */
export function sealRecord(dek: SecretBytes, format: RecordFormat, aad: Uint8Array, frame: EncodedFrame): SealedRecord {
  if (format === RECORD_FORMAT_SINGLE) {
    const plaintext = frameToBytes(frame);
    try {
      return { body: seal(dek, plaintext, aad), chunks: [] };
    } finally {
      plaintext.fill(0);
    }
  }
  const sealer = createStreamSealer(dek, aad);
  const body = new Uint8Array(1 + STREAM_HEADER_BYTES);
  body[0] = STREAM_BODY_VERSION;
  body.set(sealer.header, 1);
  function* chunks(): Generator<Uint8Array> {
    try {
      for (const { chunk, final } of frameChunks(frame, CHUNK_BYTES)) yield sealer.push(chunk, final);
    } finally {
      sealer.dispose(); // also when the consumer stops early or fails (the final push wiped it already otherwise)
    }
  }
  return { body, chunks: chunks() };
}

/** Opens a record sealed by `sealRecord`. Any failure is the one opaque INTEGRITY error. */
export function openRecord(
  dek: SecretBytes,
  format: number,
  aad: Uint8Array,
  body: Uint8Array,
  chunks: Iterable<Uint8Array>,
  what: string,
): unknown {
  const reader = new FrameReader(what);
  if (format === RECORD_FORMAT_SINGLE) {
    const plaintext = open(dek, body, aad, what);
    try {
      reader.push(plaintext);
    } finally {
      plaintext.fill(0);
    }
    for (const _ of chunks) throw integrityError(what); // a single record has no chunks
    return reader.finish();
  }
  if (format !== RECORD_FORMAT_STREAM || body.length !== 1 + STREAM_HEADER_BYTES || body[0] !== STREAM_BODY_VERSION) {
    throw integrityError(what);
  }
  const opener = createStreamOpener(dek, body.subarray(1), aad, what);
  try {
    for (const chunk of chunks) {
      const plaintext = opener.pull(chunk);
      try {
        reader.push(plaintext);
      } finally {
        plaintext.fill(0);
      }
    }
    opener.finish();
  } finally {
    opener.dispose(); // a chunk source or frame reader that throws mid-stream must not leave the state
  }
  return reader.finish();
}
