/** Parsing of option values; a bad value is a usage error naming the option, not echoing it. */
import { VaultError } from '../errors.js';

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

export { parseTimeOption } from './commands/audit.js';
