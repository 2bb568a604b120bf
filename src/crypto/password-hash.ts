/** Argon2id key derivation for passphrase master keys. */
import { VaultError } from '../errors.js';
import { SecretBytes } from './secret-bytes.js';
import { sodium } from './sodium.js';
import { argon2idInto } from './wasm.js';

export const ARGON2ID_SALT_BYTES = 16;
/**
 * The least a new passphrase vault may cost: libsodium's INTERACTIVE limits (2 passes, 64 MiB).
 * Numbers rather than the library's constants, so option schemas can use them before libsodium
 * has loaded; a test checks they equal crypto_pwhash_OPSLIMIT/MEMLIMIT_INTERACTIVE.
 */
export const ARGON2ID_MIN_OPS_LIMIT = 2;
export const ARGON2ID_MIN_MEM_LIMIT = 64 * 1024 * 1024;

export interface Argon2idParams {
  readonly salt: Uint8Array;
  /** Passes over memory (libsodium opslimit). */
  readonly opsLimit: number;
  /** Memory in bytes (libsodium memlimit). */
  readonly memLimit: number;
}

/**
 * Defaults: opslimit 3 and 256 MiB (libsodium's MODERATE), about 1.7 s here: a passphrase is
 * typed once per process start, and each guess costs an attacker the same.
 */
export function defaultArgon2idLimits(): { opsLimit: number; memLimit: number } {
  const s = sodium();
  return { opsLimit: s.crypto_pwhash_OPSLIMIT_MODERATE, memLimit: s.crypto_pwhash_MEMLIMIT_MODERATE };
}

/** Derives a 32-byte key from `passphrase` (UTF-8 bytes, which stay the caller's). The caller wipes the result. */
export function deriveArgon2id(passphrase: SecretBytes, params: Argon2idParams): SecretBytes {
  const s = sodium();
  const out = new Uint8Array(32);
  let ok: boolean;
  try {
    ok = passphrase.use((pass) => argon2idInto(out, pass, params.salt, params.opsLimit, params.memLimit, s.crypto_pwhash_ALG_ARGON2ID13));
  } catch (cause) {
    out.fill(0);
    throw new VaultError('MASTER_KEY_UNAVAILABLE', 'Argon2id key derivation failed (out of memory, or invalid cost parameters stored in the vault)', { cause });
  }
  if (!ok) {
    out.fill(0);
    throw new VaultError('MASTER_KEY_UNAVAILABLE', 'Argon2id key derivation failed (out of memory, or invalid cost parameters stored in the vault)');
  }
  return new SecretBytes(out);
}
