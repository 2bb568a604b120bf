import { describe, expect, it } from 'vitest';
import { parseExpiryOption } from '../../../src/cli/parse.js';
import { expectVaultError } from '../../helpers/unit-errors.js';

describe('parseExpiryOption', () => {
  const now = new Date('2026-12-03T10:00:00Z');

  it('takes a span from now in minutes, hours or days, or an ISO 8601 time', () => {
    expect(parseExpiryOption('90m', '--expires', now).toISOString()).toBe('2026-12-03T11:30:00.000Z');
    expect(parseExpiryOption('12h', '--expires', now).toISOString()).toBe('2026-12-03T22:00:00.000Z');
    expect(parseExpiryOption('7d', '--expires', now).toISOString()).toBe('2026-12-10T10:00:00.000Z');
    expect(parseExpiryOption('2026-12-05T08:00:00Z', '--expires', now).toISOString()).toBe('2026-12-05T08:00:00.000Z');
  });

  it('refuses anything else as USAGE naming the option, never echoing the value', () => {
    for (const bad of ['7', '7w', '-1d', 'soon', '12345d', '2026-02-30']) {
      const error = expectVaultError(() => parseExpiryOption(bad, '--expires', now), 'USAGE');
      expect(error.message).toContain('--expires');
      if (bad.length > 1) expect(error.message).not.toContain(bad); // '7' is in the example '7d'
    }
  });
});
