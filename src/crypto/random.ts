/**
 * Random bytes from the OS CSPRNG (Node's getRandomValues). One getrandom call costs ~5 µs here
 * whatever its size, so nonces are cut from a 4 KiB pool refilled from the CSPRNG; bytes handed
 * out are zeroed in the pool so it never holds key material that was given away.
 */
import { getRandomValues, randomFillSync } from 'node:crypto';

const POOL_SIZE = 4096;
const pool = new Uint8Array(POOL_SIZE);
let offset = POOL_SIZE;

/** Fills `target` with fresh random bytes and returns it. */
export function fillRandom(target: Uint8Array): Uint8Array {
  // randomFillSync has no 64 KiB per-call limit (getRandomValues does).
  if (target.length > POOL_SIZE / 4) return randomFillSync(target);
  if (offset + target.length > POOL_SIZE) {
    getRandomValues(pool);
    offset = 0;
  }
  const slice = pool.subarray(offset, offset + target.length);
  target.set(slice);
  slice.fill(0);
  offset += target.length;
  return target;
}

/** `n` fresh random bytes. */
export function randomBytes(n: number): Uint8Array {
  return fillRandom(new Uint8Array(n));
}

/**
 * Time-ordered 16-byte row ids in the UUIDv7 layout (48-bit Unix milliseconds, version 7,
 * 74 random bits). New rows land at the end of the B-tree, which keeps batched inserts ~4x faster
 * than random UUIDs here, and ids are never reused, so they can bind ciphertexts (AAD) and key
 * caches safely.
 */
export const ID_BYTES = 16;

/** A new time-ordered id for `now` (milliseconds since the epoch). */
export function newId(now: number = Date.now()): Uint8Array {
  const id = fillRandom(new Uint8Array(ID_BYTES));
  let ms = Math.max(0, Math.floor(now));
  for (let i = 5; i >= 0; i--) {
    id[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  id[6] = 0x70 | ((id[6] ?? 0) & 0x0f);
  id[8] = 0x80 | ((id[8] ?? 0) & 0x3f);
  return id;
}
