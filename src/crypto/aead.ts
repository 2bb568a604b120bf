/**
 * XChaCha20-Poly1305-IETF sealed boxes: `version(1) ‖ nonce(24) ‖ ciphertext ‖ tag(16)`.
 * Random 192-bit nonces make nonce reuse negligible for any number of messages per key.
 * Every failure to open is the same opaque INTEGRITY error.
 */
import { integrityError } from '../errors.js';
import { fillRandom } from './random.js';
import type { SecretBytes } from './secret-bytes.js';
import { aeadDecryptInto, aeadEncryptInto } from './wasm.js';

export const SEALED_BOX_VERSION = 1;
export const NONCE_BYTES = 24;
export const TAG_BYTES = 16;
export const KEY_BYTES = 32;
/** Bytes a sealed box adds to its plaintext. */
export const SEALED_BOX_OVERHEAD = 1 + NONCE_BYTES + TAG_BYTES;

/** Encrypts `plaintext` under `key`, authenticating `aad`. */
export function seal(key: SecretBytes, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  // Buffer.allocUnsafe: every byte is written below, and it avoids a slow ArrayBuffer allocation.
  const out = Buffer.allocUnsafe(SEALED_BOX_OVERHEAD + plaintext.length);
  out[0] = SEALED_BOX_VERSION;
  const nonce = fillRandom(out.subarray(1, 1 + NONCE_BYTES));
  key.use((k) => {
    aeadEncryptInto(out.subarray(1 + NONCE_BYTES), plaintext, aad, nonce, k);
  });
  return out;
}

/**
 * Decrypts a sealed box. `what` names the object in the error ("record", "data key"); the error
 * is the same whether the version, the key, the AAD or a single bit of the box is wrong.
 */
export function open(key: SecretBytes, box: Uint8Array, aad: Uint8Array, what: string): Uint8Array {
  if (box.length < SEALED_BOX_OVERHEAD || box[0] !== SEALED_BOX_VERSION) throw integrityError(what);
  const nonce = box.subarray(1, 1 + NONCE_BYTES);
  const ciphertext = box.subarray(1 + NONCE_BYTES);
  // A fresh, unpooled array: the plaintext may be handed on, and a pooled Buffer would share memory.
  const out = new Uint8Array(ciphertext.length - TAG_BYTES);
  const ok = key.use((k) => aeadDecryptInto(out, ciphertext, aad, nonce, k));
  if (!ok) throw integrityError(what);
  return out;
}
