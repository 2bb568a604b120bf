/**
 * Turns zod issues into VaultErrors that name the field and the rule, never the value. zod's
 * own messages are not used verbatim: custom refinements may echo input.
 */
import type { z } from 'zod';
import { VaultError } from '../errors.js';

/**
 * Object keys can be data too (a map keyed by phone number): a key is shown only when it looks
 * like a field name — an identifier without a run of five digits — and as `[key]` otherwise.
 */
export function safeKey(key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/.test(key) && !/\d{5}/.test(key) ? key : '[key]';
}

function describePath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const step of path) {
    if (typeof step === 'number') out += `[${step}]`;
    else {
      const key = safeKey(String(step));
      out += out === '' || key === '[key]' ? key : `.${key}`;
    }
  }
  return out === '' ? '(input)' : out;
}

/** Messages written with `safe()`: known not to contain input. Anything else from zod is not shown verbatim. */
const SAFE_MESSAGES = new Set<string>();

function describeIssue(issue: z.core.$ZodIssue): string {
  if (SAFE_MESSAGES.has(issue.message)) return issue.message;
  switch (issue.code) {
    case 'invalid_type':
      // Parsed with reportInput (below): a missing field has an undefined input.
      return 'input' in issue && issue.input === undefined ? 'is required' : `expected ${issue.expected}`;
    case 'too_big':
      return `must be ${issue.inclusive === false ? '<' : 'at most'} ${String(issue.maximum)}${issue.origin === 'string' ? ' characters' : issue.origin === 'array' ? ' items' : ''}`;
    case 'too_small':
      return `must be ${issue.inclusive === false ? '>' : 'at least'} ${String(issue.minimum)}${issue.origin === 'string' ? ' characters' : issue.origin === 'array' ? ' items' : ''}`;
    case 'invalid_format':
      return `is not a valid ${issue.format}`;
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}`;
    case 'unrecognized_keys':
      return `has unknown field(s) ${issue.keys.map((k) => safeKey(k)).join(', ')}`;
    case 'invalid_union':
      return 'matches none of the allowed shapes';
    case 'invalid_key':
      return 'has an invalid key';
    case 'invalid_element':
      return 'has an invalid element';
    case 'invalid_value':
      return 'is not one of the allowed values';
    default:
      return 'is invalid';
  }
}

/** Formats the first issues of a failed parse as one line. */
export function formatIssues(prefix: string, issues: readonly z.core.$ZodIssue[]): { message: string; field: string } {
  const shown = issues.slice(0, 3).map((i) => `${describePath(prefix, i.path)} ${describeIssue(i)}`);
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : '';
  const first = issues[0];
  return { message: shown.join('; ') + more, field: first === undefined ? prefix : describePath(prefix, first.path) };
}

/** Parses `input` with `schema`; on failure throws VALIDATION naming the fields under `prefix`. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, prefix: string): z.output<S> {
  // reportInput lets a missing field read "is required"; the input is never shown (describeIssue).
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  const { message, field } = formatIssues(prefix, result.error.issues);
  throw new VaultError('VALIDATION', message, { field });
}

/**
 * Marks a check's message as safe to show (it must never include the value); use it for every
 * refinement and regex in childvault's schemas. Other messages are replaced by a generic one.
 */
export function safe(message: string): { message: string } {
  SAFE_MESSAGES.add(message);
  return { message };
}
