/**
 * Data keys: one random 32-byte key per (subject, category), wrapped by a KEK with AAD that binds
 * it to its vault, subject tag, category, id and KEK version — a wrapped key copied to another
 * row does not unwrap.
 */
import { KEY_BYTES, open, seal } from '../crypto/aead.js';
import { fillRandom } from '../crypto/random.js';
import { SecretBytes } from '../crypto/secret-bytes.js';
import { encodeCanonical, u64 } from '../format/canonical.js';

export interface DekBinding {
  readonly vaultId: Uint8Array;
  readonly subjectTag: Uint8Array;
  readonly category: string;
  readonly dekId: Uint8Array;
}

/** AAD of a wrapped data key. */
export function dekAad(binding: DekBinding, kekVersion: number): Uint8Array {
  return encodeCanonical('dek', [binding.vaultId, binding.subjectTag, binding.category, binding.dekId, kekVersion]);
}

/**
 * AAD of a record sealed under a data key. Binds the record format and the write time too, so
 * neither a format downgrade nor a changed `written_at` (which decides expiry) goes unnoticed.
 */
export function recordAad(binding: DekBinding, format: number, writtenAt: number): Uint8Array {
  return encodeCanonical('record', [binding.vaultId, binding.subjectTag, binding.category, binding.dekId, format, u64(writtenAt)]);
}

export function generateDek(): SecretBytes {
  return new SecretBytes(fillRandom(new Uint8Array(KEY_BYTES)));
}

export function wrapDek(kek: SecretBytes, dek: SecretBytes, binding: DekBinding, kekVersion: number): Uint8Array {
  return dek.use((bytes) => seal(kek, bytes, dekAad(binding, kekVersion)));
}

export function unwrapDek(kek: SecretBytes, wrapped: Uint8Array, binding: DekBinding, kekVersion: number): SecretBytes {
  return new SecretBytes(open(kek, wrapped, dekAad(binding, kekVersion), 'data key'));
}

/**
 * A bounded LRU of unwrapped data keys, keyed by data-key id (ids are never reused, and a key's
 * bytes never change under its id). Evicted and deleted keys are wiped.
 */
export class DekCache {
  readonly #entries = new Map<string, SecretBytes>();

  constructor(readonly capacity: number) {}

  get(id: string): SecretBytes | undefined {
    const key = this.#entries.get(id);
    if (key !== undefined) {
      this.#entries.delete(id);
      this.#entries.set(id, key);
    }
    return key;
  }

  /**
   * Offers `key` to the cache. Returns true when the cache took ownership (it will wipe the key);
   * false when the cache is disabled and the caller still owns — and must wipe — the key.
   */
  offer(id: string, key: SecretBytes): boolean {
    if (this.capacity === 0) return false;
    const previous = this.#entries.get(id);
    if (previous !== undefined && previous !== key) previous.wipe();
    this.#entries.delete(id);
    this.#entries.set(id, key);
    while (this.#entries.size > this.capacity) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.get(oldest)?.wipe();
      this.#entries.delete(oldest);
    }
    return true;
  }

  delete(id: string): void {
    this.#entries.get(id)?.wipe();
    this.#entries.delete(id);
  }

  get size(): number {
    return this.#entries.size;
  }

  clear(): void {
    for (const key of this.#entries.values()) key.wipe();
    this.#entries.clear();
  }
}
