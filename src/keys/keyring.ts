/**
 * The key-encryption keys of an open vault, unwrapped on first use and held until close.
 * Unwrapping goes through the master-key provider (async: it may be a KMS); lookups during a
 * transaction are synchronous, so a transaction that meets an unloaded version throws
 * `KekNotLoaded`, and the facade loads it and retries.
 */
import { SecretBytes } from '../crypto/secret-bytes.js';
import { integrityError, isVaultError } from '../errors.js';
import { encodeCanonical } from '../format/canonical.js';
import type { MasterKeyProvider } from './master-key.js';

/** AAD binding a wrapped KEK to its vault and version. */
export function kekAad(vaultId: Uint8Array, version: number): Uint8Array {
  return encodeCanonical('kek', [vaultId, version]);
}

/** Thrown inside a transaction that needs a KEK version not yet unwrapped. Internal. */
export class KekNotLoaded extends Error {
  constructor(readonly version: number) {
    super(`key-encryption key v${version} is not loaded`);
  }
}

export class Keyring {
  readonly #keks = new Map<number, SecretBytes>();

  #provider: MasterKeyProvider;

  constructor(
    provider: MasterKeyProvider,
    private readonly vaultId: Uint8Array,
  ) {
    this.#provider = provider;
  }

  /** After a master-key rotation: later loads unwrap with the new master key. */
  useProvider(provider: MasterKeyProvider): void {
    this.#provider = provider;
  }

  /** Unwraps and holds KEK `version`. An unwrap failure is INTEGRITY: the master key was already checked. */
  async load(version: number, wrapped: Uint8Array): Promise<void> {
    if (this.#keks.has(version)) return;
    let key: Uint8Array;
    try {
      key = await this.#provider.unwrap(wrapped, kekAad(this.vaultId, version));
    } catch (error) {
      if (isVaultError(error) && error.code !== 'INTEGRITY') throw error; // e.g. a KMS outage
      throw integrityError(`key-encryption key v${version}`);
    }
    if (key.length !== 32) {
      key.fill(0);
      throw integrityError(`key-encryption key v${version}`);
    }
    this.#keks.get(version)?.wipe(); // a concurrent load of the same version
    this.#keks.set(version, new SecretBytes(key));
  }

  /** The KEK of `version`; throws KekNotLoaded if it must be loaded first. */
  get(version: number): SecretBytes {
    const key = this.#keks.get(version);
    if (key === undefined) throw new KekNotLoaded(version);
    return key;
  }

  has(version: number): boolean {
    return this.#keks.has(version);
  }

  /** Holds a KEK this process just created (takes ownership of `key`). */
  add(version: number, key: SecretBytes): void {
    this.#keks.get(version)?.wipe();
    this.#keks.set(version, key);
  }

  /** Wipes and forgets one version (after it was destroyed). */
  forget(version: number): void {
    this.#keks.get(version)?.wipe();
    this.#keks.delete(version);
  }

  /** Calls `fn` with each held version and key (for re-wrapping under a new master key). */
  forEach(fn: (version: number, key: SecretBytes) => void): void {
    for (const [version, key] of this.#keks) fn(version, key);
  }

  wipe(): void {
    for (const key of this.#keks.values()) key.wipe();
    this.#keks.clear();
  }
}
