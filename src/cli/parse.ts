/** Parsing of option values; a bad value is a usage error naming the option, not echoing it. */
import { VaultError } from '../index.js';

export function parseIntegerOption(text: string, option: string, min: number, max: number): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new VaultError('USAGE', `${option} must be a whole number from ${min} to ${max}`);
  return n;
}

/** A comma-separated list option; '' is the empty list. */
export function parseListOption(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** The calendar date forms accepted for time options. */
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Parses an ISO 8601 time option: a UTC date (`2026-11-01`; with `endOfDay`, its last
 * millisecond) or a date-time with `Z` or an offset. Throws USAGE naming the option, never its value.
 */
export function parseTimeOption(text: string, option: string, endOfDay = false): Date {
  const bad = (): VaultError =>
    new VaultError('USAGE', `${option} must be an ISO 8601 date or time, like 2026-11-01 or 2026-11-01T08:00:00Z (with Z or an offset)`);
  const day = DATE_ONLY.exec(text) ?? DATE_TIME.exec(text);
  if (day === null) throw bad();
  const [y, m, d] = [Number(day[1]), Number(day[2]), Number(day[3])];
  const midnight = Date.UTC(y, m - 1, d);
  const check = new Date(midnight);
  // Date.parse would roll 2026-02-30 over into March; a real calendar date is required.
  if (y < 1970 || check.getUTCFullYear() !== y || check.getUTCMonth() !== m - 1 || check.getUTCDate() !== d) throw bad();
  const ms = DATE_ONLY.test(text) ? midnight + (endOfDay ? 86_400_000 - 1 : 0) : Date.parse(text);
  if (!Number.isFinite(ms) || ms < 0) throw bad();
  return new Date(ms);
}

/** A span from now: `90m`, `12h`, `7d`. */
const SPAN = /^(\d{1,4})([mhd])$/;
const SPAN_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * An expiry: a span from `now` (`12h`, `7d`), so an example or a script never goes stale, or an
 * ISO 8601 time as parseTimeOption takes it.
 */
export function parseExpiryOption(text: string, option: string, now: Date): Date {
  const span = SPAN.exec(text);
  if (span === null) {
    if (/^\d{4}-/.test(text)) return parseTimeOption(text, option);
    throw new VaultError('USAGE', `${option} must be a span from now like 12h or 7d, or an ISO 8601 time like 2026-11-01T08:00:00Z`);
  }
  return new Date(now.getTime() + Number(span[1]) * SPAN_MS[span[2] as keyof typeof SPAN_MS]);
}
