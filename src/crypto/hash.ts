/** BLAKE2b hashing (libsodium generichash), keyed and unkeyed. */
import type { SecretBytes } from './secret-bytes.js';
import { sodium } from './sodium.js';
import { blake2bInto } from './wasm.js';

export const HASH_BYTES = 32;

/** Unkeyed BLAKE2b-256 of `message`. */
export function blake2b(message: Uint8Array, length: number = HASH_BYTES): Uint8Array {
  const out = new Uint8Array(length);
  blake2bInto(out, message, null);
  return out;
}

/** Keyed BLAKE2b (a MAC / PRF) of `message`. */
export function blake2bKeyed(key: SecretBytes, message: Uint8Array, length: number = HASH_BYTES): Uint8Array {
  const out = new Uint8Array(length);
  key.use((k) => {
    blake2bInto(out, message, k);
  });
  return out;
}

/** Constant-time equality of two byte arrays of the same length. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && sodium().memcmp(a, b);
}
