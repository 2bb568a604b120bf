/** BLAKE2b hashing (libsodium generichash), keyed and unkeyed. */
import type { SecretBytes } from './secret-bytes.js';
import type { CanonicalField } from '../format/canonical.js';
import { blake2bCanonicalInto, blake2bInto } from './wasm.js';

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

/** BLAKE2b-256 of `encodeCanonical(domain, fields)`, keyed when `key` is given. */
export function hashCanonical(domain: string, fields: readonly CanonicalField[], key?: SecretBytes): Uint8Array {
  return hashCanonicalInto(new Uint8Array(HASH_BYTES), domain, fields, key);
}

/** `hashCanonical` into `out` (its length is the hash's), for callers that reuse one output array. */
export function hashCanonicalInto(out: Uint8Array, domain: string, fields: readonly CanonicalField[], key?: SecretBytes): Uint8Array {
  if (key === undefined) blake2bCanonicalInto(out, domain, fields, null);
  else
    key.use((k) => {
      blake2bCanonicalInto(out, domain, fields, k);
    });
  return out;
}

/**
 * Equality of two byte arrays in time independent of where they differ (the loop always runs to
 * the end; lengths are public). In JavaScript rather than libsodium's memcmp, whose wrapper copies
 * both arrays into the heap on every call.
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}
