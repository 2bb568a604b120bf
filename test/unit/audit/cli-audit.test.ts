import { describe, expect, it } from 'vitest';
import { failureLine } from '../../../src/cli/commands/audit.js';
import { parseTimeOption } from '../../../src/cli/parse.js';
import { expectVaultError } from '../../helpers/unit-errors.js';

describe('parseTimeOption', () => {
  it('reads a UTC date as its first millisecond, or its last one for the end of a period', () => {
    expect(parseTimeOption('2026-11-01', '--since').toISOString()).toBe('2026-11-01T00:00:00.000Z');
    expect(parseTimeOption('2026-11-30', '--until', true).toISOString()).toBe('2026-11-30T23:59:59.999Z');
  });

  it('reads date-times with Z or an offset', () => {
    expect(parseTimeOption('2026-11-01T08:00Z', '--since').toISOString()).toBe('2026-11-01T08:00:00.000Z');
    expect(parseTimeOption('2026-11-01T08:00:00.5+08:00', '--since').toISOString()).toBe('2026-11-01T00:00:00.500Z');
  });

  it.each(['yesterday', '2026-02-30', '2026-11-01T08:00:00', '2026-11-01T25:00Z', '1969-12-31', '2026-1-1', ''])('refuses %j as USAGE naming the option, not the value', (text) => {
    const error = expectVaultError(() => parseTimeOption(text, '--since'), 'USAGE');
    // The same fixed text whatever the input: the value is never echoed.
    expect(error.message).toBe('--since must be an ISO 8601 date or time, like 2026-11-01 or 2026-11-01T08:00:00Z (with Z or an offset)');
  });
});

describe('failureLine', () => {
  const report = (seq: number | null, line: number | null, message: string) => ({
    ok: false,
    entries: 0,
    elided: 0,
    checkpoints: 0,
    head: null,
    lastCheckpoint: null,
    problem: { seq, message },
    line,
  });

  it('names the seq and the line', () => {
    expect(failureLine(report(5, 6, 'entry 5 was modified'))).toBe('FAILED at seq 5 (line 6): entry 5 was modified');
    expect(failureLine(report(5, null, 'entry 5 was modified'))).toBe('FAILED at seq 5: entry 5 was modified');
  });

  it('does not repeat a line the message names', () => {
    expect(failureLine(report(null, 12, 'line 12 is not valid JSON'))).toBe('FAILED: line 12 is not valid JSON');
    expect(failureLine(report(null, 1, 'line 12 is not valid JSON'))).toBe('FAILED (line 1): line 12 is not valid JSON');
  });
});
