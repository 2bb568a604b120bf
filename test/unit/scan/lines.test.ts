import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readLines } from '../../../src/scan/lines.js';

const dir = mkdtempSync(join(tmpdir(), 'cv-lines-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function lines(content: string | Buffer, options: { maxLineBytes?: number; overlapBytes?: number } = {}): Promise<{ count: number; got: [number, string, boolean][] }> {
  const path = join(dir, `f${Math.random()}`);
  writeFileSync(path, content);
  const got: [number, string, boolean][] = [];
  const count = await readLines(path, (text, line, piece) => got.push([line, text, piece]), options);
  return { count, got };
}

describe('readLines', () => {
  it('numbers lines from 1, drops CRs and a BOM, and counts a last line without a newline', async () => {
    expect(await lines('\ufeffa\r\nb\n\nc')).toEqual({
      count: 4,
      got: [
        [1, 'a', false],
        [2, 'b', false],
        [3, '', false],
        [4, 'c', false],
      ],
    });
    expect(await lines('x\n')).toEqual({ count: 1, got: [[1, 'x', false]] });
    expect(await lines('')).toEqual({ count: 0, got: [] });
  });

  it('splits a line longer than the limit into overlapping pieces, never cutting a UTF-8 character', async () => {
    const long = 'é1234567890'.repeat(40); // 2-byte characters at every 11th position
    const { count, got } = await lines(`first\n${long}\nlast\n`, { maxLineBytes: 64, overlapBytes: 16 });
    expect(count).toBe(3);
    expect(got[0]).toEqual([1, 'first', false]);
    expect(got.at(-1)).toEqual([3, 'last', false]);
    const pieces = got.slice(1, -1);
    expect(pieces.length).toBeGreaterThan(2);
    for (const [line, text, piece] of pieces) {
      expect(line).toBe(2);
      expect(piece).toBe(true);
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(64);
      expect(text).not.toContain('\ufffd');
    }
    // Every 30-character window of the line is inside some piece (values cut by a boundary are seen whole).
    for (let at = 0; at + 12 <= long.length; at += 5) {
      const window = long.slice(at, at + 12);
      expect(pieces.some(([, text]) => text.includes(window))).toBe(true);
    }
  });

  it('reads lines longer than its chunk size whole when within the limit', async () => {
    const long = 'y'.repeat(3 * 1024 * 1024);
    const { got } = await lines(`a\n${long}\nb`);
    expect(got.map(([l, t, p]) => [l, t.length, p])).toEqual([
      [1, 1, false],
      [2, long.length, false],
      [3, 1, false],
    ]);
  });
});
