/**
 * `Sensitive<T>`: how values leave the vault. The plaintext is reachable only through
 * `reveal()`; string conversion and `util.inspect` (so `console.log`, template literals, error
 * messages) show a redaction, and `JSON.stringify`, `structuredClone` (and so `postMessage`,
 * `v8.serialize`), `Buffer.from` and object spread throw PLAINTEXT_LEAK, so a value read for one
 * purpose cannot slip into a log line, a queue or an API response by accident (docs/guards.md).
 */
import { inspect } from 'node:util';
import { VaultError } from '../errors.js';
import type { View } from '../schema/policy.js';

// Registered symbol: recognised even across two copies of this package in one process.
const brand = Symbol.for('childvault.sensitive');

export class Sensitive<T> {
  readonly #value: T | undefined;
  /** The category the value belongs to (not secret). */
  readonly category: string;
  /**
   * What the caller's grant lets it see: `full`, `masked` (contact), `coarse` (location), or
   * `presence` — only that a value exists, in which case `reveal()` refuses.
   */
  readonly view: View;
  readonly [brand] = true;

  /** @internal Values are made by the vault. */
  constructor(value: T | undefined, category: string, view: View = 'full') {
    this.#value = view === 'presence' ? undefined : value;
    this.category = category;
    this.view = view;
    // structuredClone, v8.serialize and worker postMessage copy own enumerable properties (the
    // private field is silently dropped): this one makes them throw instead of passing on a husk.
    Object.defineProperty(this, 'value', { enumerable: true, get: () => this.#refuse('copy') });
  }

  #refuse(what: string): never {
    throw new VaultError('PLAINTEXT_LEAK', `refusing to ${what} a Sensitive ${this.category} value; call reveal() where the value is used, not on its way to storage or logs`);
  }

  /**
   * The plaintext (in the grant's view). Call it at the last moment, where the value is used for
   * the purpose it was read for, and do not store the result elsewhere. Refuses for a `presence`
   * view: the grant allows knowing that the value exists, nothing more.
   */
  reveal(): T {
    if (this.view === 'presence') {
      throw new VaultError('ACCESS_DENIED', `this grant only shows that a ${this.category} value exists (presence view)`);
    }
    return this.#value as T;
  }

  toString(): string {
    return `[Sensitive ${this.category}${this.view === 'full' ? '' : ` (${this.view})`}: redacted]`;
  }

  [Symbol.toPrimitive](): string {
    return this.toString();
  }

  /** Serialising minor data is refused, not redacted: a silent "[redacted]" in a payload hides a bug. */
  toJSON(): never {
    return this.#refuse('serialise');
  }

  /** `Buffer.from(value)` calls this first: refused like serialisation (string conversion redacts). */
  valueOf(): never {
    return this.#refuse('convert to bytes');
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/** True for values returned by a vault, from this or any other copy of childvault. */
export function isSensitive(value: unknown): value is Sensitive<unknown> {
  return value instanceof Sensitive || (typeof value === 'object' && value !== null && (value as { [brand]?: unknown })[brand] === true);
}
