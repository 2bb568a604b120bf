import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DigestFilter, FILTER_REFRESH_MS } from '../../../src/guard/digest-filter.js';
import type { GuardRepository } from '../../../src/store/guard-repository.js';

interface Row {
  readonly id: number;
  readonly digest: Uint8Array;
}

/** The blind_index table as `DigestFilter` reads it, recording the ids it was asked for. */
class FakeIndex implements Pick<GuardRepository, 'digestsAfter'> {
  readonly rows: Row[] = [];
  readonly asked: number[] = [];
  #nextId = 1;

  /** A row stored by "another process" (or this one, before the filter was made). */
  store(digest: Uint8Array, id = this.#nextId): void {
    this.rows.push({ id, digest });
    this.#nextId = id + 1;
  }

  digestsAfter(id: number): IterableIterator<Row> {
    this.asked.push(id);
    return this.rows.filter((r) => r.id > id).values();
  }
}

function setup(): { index: FakeIndex; filter: DigestFilter; clock: { now: number } } {
  const index = new FakeIndex();
  const clock = { now: 1_000 };
  const filter = new DigestFilter(index as unknown as GuardRepository, () => clock.now);
  return { index, filter, clock };
}

const digest = (): Uint8Array => new Uint8Array(randomBytes(32));

/** `count` distinct random 32-byte digests, from one random buffer. */
function digests(count: number): Uint8Array[] {
  const all = randomBytes(count * 32);
  return Array.from({ length: count }, (_, i) => new Uint8Array(all.buffer, all.byteOffset + i * 32, 32));
}

describe('DigestFilter', () => {
  it('finds a digest added by this process at once, within the refresh window', () => {
    const { index, filter, clock } = setup();
    const d = digest();
    expect(filter.mayContain(d)).toBe(false);
    filter.add(d);
    clock.now += 1;
    expect(filter.mayContain(d)).toBe(true);
    expect(index.asked).toEqual([0]); // found without a read
  });

  it('reads what is stored before its first check', () => {
    const { index, filter } = setup();
    const d = digest();
    index.store(d);
    expect(filter.mayContain(d)).toBe(true);
  });

  it("finds another process's digest once FILTER_REFRESH_MS has passed, reading at most once per window", () => {
    const { index, filter, clock } = setup();
    const d = digest();
    expect(filter.mayContain(d)).toBe(false);
    index.store(d); // another process writes
    clock.now += FILTER_REFRESH_MS / 2;
    filter.mayContain(d); // may or may not see it yet
    filter.mayContain(digest());
    expect(index.asked).toEqual([0]);
    clock.now += FILTER_REFRESH_MS / 2;
    expect(filter.mayContain(d)).toBe(true);
    expect(index.asked).toEqual([0, 0]);
    clock.now += FILTER_REFRESH_MS * 10;
    expect(filter.mayContain(d)).toBe(true);
    expect(index.asked).toEqual([0, 0, 1]);
  });

  it('reads only the rows after the last id it has read, ids with gaps included', () => {
    const { index, filter } = setup();
    const [a, b, c, d, e] = digests(5);
    index.store(a!, 1);
    index.store(b!, 2);
    index.store(c!, 7); // 3–6 deleted
    filter.sync();
    index.store(d!, 8);
    index.store(e!, 12);
    filter.sync();
    filter.sync();
    expect(index.asked).toEqual([0, 7, 12]);
    for (const x of [a, b, c, d, e]) expect(filter.mayContain(x!)).toBe(true);
  });

  it('finds all of 100k digests, added or read (the table grows)', () => {
    const { index, filter } = setup();
    const all = digests(100_000);
    all.forEach((d, i) => {
      if (i % 2 === 0) filter.add(d);
      else index.store(d);
    });
    filter.sync();
    expect(all.every((d) => filter.mayContain(d))).toBe(true);
  });

  it('always finds added digests, whatever their prefixes (including 0, 1 and 0xffffffff)', () => {
    const edge = fc.constantFrom([0, 0, 0, 0], [0, 0, 0, 1], [0xff, 0xff, 0xff, 0xff], [0, 0, 4, 0]).chain((prefix) => fc.uint8Array({ minLength: 28, maxLength: 28 }).map((rest) => new Uint8Array([...prefix, ...rest])));
    const digestArb = fc.oneof(fc.uint8Array({ minLength: 32, maxLength: 32 }), edge);
    fc.assert(
      fc.property(fc.array(digestArb, { maxLength: 3000 }), fc.array(digestArb, { maxLength: 50 }), (added, stored) => {
        const { index, filter } = setup();
        for (const d of stored) index.store(d);
        for (const d of added) filter.add(d);
        for (const d of [...added, ...stored]) expect(filter.mayContain(d)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('answers false for most digests not added: under 1% false positives with 10k stored', () => {
    const { filter } = setup();
    const [stored, probes] = [digests(10_000), digests(10_000)];
    for (const d of stored) filter.add(d);
    const falseHits = probes.filter((d) => filter.mayContain(d)).length;
    expect(falseHits).toBeLessThan(100);
  });
});
