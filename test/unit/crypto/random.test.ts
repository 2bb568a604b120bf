import { beforeEach, describe, expect, it, vi } from 'vitest';
import { hex } from '../../helpers/unit-bytes.js';

// Observe the module through the only door it has to the OS: every getRandomValues call is
// recorded with the array it filled and a copy of what it put there.
const recorder = vi.hoisted(() => ({ calls: [] as { array: Uint8Array; filled: Uint8Array }[] }));

vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return {
    ...actual,
    getRandomValues<T extends Uint8Array>(array: T): T {
      actual.getRandomValues(array);
      recorder.calls.push({ array, filled: array.slice() });
      return array;
    },
  };
});

type RandomModule = typeof import('../../../src/crypto/random.js');
let random: RandomModule;

beforeEach(async () => {
  vi.resetModules(); // a fresh, empty pool for each test
  recorder.calls.length = 0;
  random = await import('../../../src/crypto/random.js');
});

describe('fillRandom', () => {
  it('fills the target and returns it', () => {
    const target = new Uint8Array(24);
    expect(random.fillRandom(target)).toBe(target);
    expect(target.some((b) => b !== 0)).toBe(true);
  });

  it('hands out pool bytes in order and zeroes each slice of the pool it handed out', () => {
    const a = random.fillRandom(new Uint8Array(24));
    const b = random.fillRandom(new Uint8Array(16));
    expect(recorder.calls.length).toBe(1);
    const { array: pool, filled } = recorder.calls[0]!;
    expect(pool.length).toBe(4096);
    expect(hex(a)).toBe(hex(filled.subarray(0, 24)));
    expect(hex(b)).toBe(hex(filled.subarray(24, 40)));
    expect(pool.subarray(0, 40).every((x) => x === 0)).toBe(true);
    expect(hex(pool.subarray(40))).toBe(hex(filled.subarray(40))); // not yet handed out
  });

  it('refills the same pool from the OS when it runs out, and zeroes what it hands out after the refill', () => {
    for (let i = 0; i < 4096 / 32; i++) random.fillRandom(new Uint8Array(32));
    expect(recorder.calls.length).toBe(1);
    const pool = recorder.calls[0]!.array;
    expect(pool.every((x) => x === 0)).toBe(true);
    const next = random.fillRandom(new Uint8Array(32));
    expect(recorder.calls.length).toBe(2);
    expect(recorder.calls[1]!.array).toBe(pool);
    expect(hex(next)).toBe(hex(recorder.calls[1]!.filled.subarray(0, 32)));
    expect(pool.subarray(0, 32).every((x) => x === 0)).toBe(true);
  });

  it('fills targets larger than a quarter of the pool directly from the OS, bypassing the pool', () => {
    const target = new Uint8Array(1025);
    random.fillRandom(target);
    expect(recorder.calls.length).toBe(0); // not through the pool's getRandomValues
    expect(target.some((b) => b !== 0)).toBe(true);
  });

  it('fills targets beyond the 64 KiB limit of getRandomValues', () => {
    const target = random.randomBytes(65_537);
    expect(target.length).toBe(65_537);
    expect(target.subarray(65_000).some((b) => b !== 0)).toBe(true);
  });

  it('never returns the same 16 bytes twice over 5000 calls', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) seen.add(hex(random.fillRandom(new Uint8Array(16))));
    expect(seen.size).toBe(5000);
  });

  it('returns different values for consecutive calls of every size up to the direct-fill limit', () => {
    for (const n of [8, 24, 32, 1024, 1025, 4096]) {
      expect(hex(random.fillRandom(new Uint8Array(n)))).not.toBe(hex(random.fillRandom(new Uint8Array(n))));
    }
  });

  it('leaves an empty target alone', () => {
    expect(random.fillRandom(new Uint8Array(0)).length).toBe(0);
  });
});

describe('randomBytes', () => {
  it('returns n fresh bytes', () => {
    expect(random.randomBytes(32).length).toBe(32);
    expect(hex(random.randomBytes(32))).not.toBe(hex(random.randomBytes(32)));
  });
});
