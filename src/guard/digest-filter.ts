/**
 * An in-memory prefilter over the blind index. A lookup in the vault file costs ~6 µs (each
 * statement takes a WAL read lock); a guard checks several strings per log line or row, so most
 * must be answered without SQLite. The filter holds the first 32 bits of every digest: a miss is
 * certain, a hit is confirmed by the index. Deleted rows stay in the filter as harmless false hits.
 */
import type { GuardRepository } from '../store/guard-repository.js';

/** How stale the view of other processes' writes may get (this process's writes show at once). */
export const FILTER_REFRESH_MS = 100;

/** An open-addressing set of 32-bit values (0 stands for "empty", so 0 is stored as 1). */
class PrefixSet {
  #table = new Uint32Array(1024);
  #size = 0;

  add(prefix: number): void {
    if ((this.#size + 1) * 2 > this.#table.length) this.#grow();
    if (this.#insert(this.#table, prefix || 1)) this.#size++;
  }

  has(prefix: number): boolean {
    const v = prefix || 1;
    const mask = this.#table.length - 1;
    for (let i = v & mask; ; i = (i + 1) & mask) {
      const at = this.#table[i];
      if (at === v) return true;
      if (at === 0) return false;
    }
  }

  #insert(table: Uint32Array, v: number): boolean {
    const mask = table.length - 1;
    for (let i = v & mask; ; i = (i + 1) & mask) {
      const at = table[i];
      if (at === v) return false;
      if (at === 0) {
        table[i] = v;
        return true;
      }
    }
  }

  #grow(): void {
    const next = new Uint32Array(this.#table.length * 2);
    for (const v of this.#table) if (v !== 0) this.#insert(next, v);
    this.#table = next;
  }
}

/** The digest's first four bytes (digests are uniform: no mixing needed). */
function prefixOf(digest: Uint8Array): number {
  return ((digest[0] ?? 0) << 24 | (digest[1] ?? 0) << 16 | (digest[2] ?? 0) << 8 | (digest[3] ?? 0)) >>> 0;
}

export class DigestFilter {
  readonly #repo: GuardRepository;
  readonly #now: () => number;
  readonly #set = new PrefixSet();
  #lastId = 0;
  #syncedAt = Number.NEGATIVE_INFINITY;

  constructor(repo: GuardRepository, now: () => number = () => performance.now()) {
    this.#repo = repo;
    this.#now = now;
  }

  /** False when no stored digest can equal `digest`; true when the index must be asked. */
  mayContain(digest: Uint8Array): boolean {
    if (this.#now() - this.#syncedAt >= FILTER_REFRESH_MS) this.sync();
    return this.#set.has(prefixOf(digest));
  }

  /** A digest this process just stored (visible at once, before the next sync). */
  add(digest: Uint8Array): void {
    this.#set.add(prefixOf(digest));
  }

  /** Reads the digests stored since the last sync, by any process. */
  sync(): void {
    for (const row of this.#repo.digestsAfter(this.#lastId)) {
      this.#set.add(prefixOf(row.digest));
      this.#lastId = row.id;
    }
    this.#syncedAt = this.#now();
  }
}
