/** Ed25519 signatures for audit checkpoints. */
import { SecretBytes } from './secret-bytes.js';
import { sodium } from './sodium.js';
import { ed25519KeypairInto, ed25519SignInto } from './wasm.js';

export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;

export interface SigningKey {
  readonly publicKey: Uint8Array;
  /** The 64-byte secret key (seed ‖ public key). */
  readonly secretKey: SecretBytes;
}

/** Expands a 32-byte seed into a signing key; the caller wipes the seed. */
export function signingKeyFromSeed(seed: SecretBytes): SigningKey {
  const publicKey = new Uint8Array(PUBLIC_KEY_BYTES);
  const secret = new Uint8Array(64);
  seed.use((s) => {
    ed25519KeypairInto(publicKey, secret, s);
  });
  return { publicKey, secretKey: new SecretBytes(secret) };
}

export function sign(key: SigningKey, message: Uint8Array): Uint8Array {
  const signature = new Uint8Array(SIGNATURE_BYTES);
  key.secretKey.use((sk) => {
    ed25519SignInto(signature, message, sk);
  });
  return signature;
}

/** True when `signature` is a valid Ed25519 signature of `message` under `publicKey`. */
export function verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== PUBLIC_KEY_BYTES || signature.length !== SIGNATURE_BYTES) return false;
  try {
    return sodium().crypto_sign_verify_detached(signature, message, publicKey);
  } catch {
    return false;
  }
}
