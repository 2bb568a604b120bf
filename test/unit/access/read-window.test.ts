import { describe, expect, it } from 'vitest';
import { addReads, readsInWindow, WINDOW_MINUTES } from '../../../src/access/read-window.js';

describe('the sliding hour of reads', () => {
  it('counts the reads of the 60 minutes up to now, and forgets older ones as the window moves', () => {
    let row = addReads(undefined, 'staff:a', 1000, 3, 1000);
    row = addReads(row, 'staff:a', 1030, 2, 1030);
    expect(readsInWindow(row, 1030)).toBe(5);
    expect(readsInWindow(row, 1059)).toBe(5);
    expect(readsInWindow(row, 1060)).toBe(2); // minute 1000 left the window
    expect(readsInWindow(row, 1089)).toBe(2);
    expect(readsInWindow(row, 1090)).toBe(0);
    row = addReads(row, 'staff:a', 1100, 1, 1100);
    expect(readsInWindow(row, 1100)).toBe(1);
    expect(row.counts.length).toBe(WINDOW_MINUTES * 4);
  });

  it('adds reads batched from an earlier minute into that minute, and drops those older than the window', () => {
    let row = addReads(undefined, 'staff:a', 2000, 1, 2000);
    row = addReads(row, 'staff:a', 1990, 4, 2000);
    expect(readsInWindow(row, 2000)).toBe(5);
    expect(readsInWindow(row, 2050)).toBe(1);
    row = addReads(row, 'staff:a', 1900, 7, 2000); // older than the window
    expect(readsInWindow(row, 2000)).toBe(5);
  });

  it('counts a row ahead of the reader\'s clock whole (another process\'s clock): fail closed', () => {
    const row = addReads(undefined, 'staff:a', 3000, 9, 3000);
    expect(readsInWindow(row, 2990)).toBe(9);
  });
});
