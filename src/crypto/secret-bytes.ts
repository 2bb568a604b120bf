/**
 * A holder for key material. Its bytes are reachable only through `use`, which makes every read
 * visible in review; `wipe` zeroes them and later reads throw. It redacts itself in `toString`,
 * `util.inspect` and `JSON.stringify`, so a key cannot reach a log by accident.
 */
import { inspect } from 'node:util';

const REDACTED = '[SecretBytes redacted]';

export class SecretBytes {
  #bytes: Uint8Array | undefined;
  readonly length: number;

  /** Takes ownership of `bytes`: the caller must not keep or reuse the array. */
  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.length = bytes.length;
  }

  /** Calls `fn` with the key bytes. `fn` must not keep a reference to them. */
  use<T>(fn: (bytes: Uint8Array) => T): T {
    const bytes = this.#bytes;
    if (bytes === undefined) throw new Error('SecretBytes used after wipe');
    return fn(bytes);
  }

  get wiped(): boolean {
    return this.#bytes === undefined;
  }

  /** Zeroes the bytes. Idempotent. */
  wipe(): void {
    this.#bytes?.fill(0);
    this.#bytes = undefined;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
