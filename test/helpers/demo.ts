/** What every run of `childvault demo` must show, wherever it is installed from. */
import { expect } from 'vitest';
import type { Completed } from './processes.js';

/** The demo exited 0 with nothing on stderr, found no plaintext, refused the leaks, and printed no child's phone. */
export function expectDemoRan(result: Completed): void {
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/plaintext fragments .*: 0 found/);
  expect(result.stdout).toContain('refused with PLAINTEXT_LEAK');
  expect(result.stdout).toContain('now returns 0 values');
  expect(result.stdout).toContain("found: service.db tickets.note rowid 2 — child's data contact.phone");
  expect(result.stdout).not.toContain('+86138000');
}
