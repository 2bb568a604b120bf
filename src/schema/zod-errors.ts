/**
 * Turns zod issues into VaultErrors that name the field and the rule, never the value. zod's
 * own messages are not used verbatim: custom refinements may echo input.
 */
import type { z } from 'zod';
import { VaultError } from '../errors.js';

function describePath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const step of path) {
    if (typeof step === 'number') out += `[${step}]`;
    else out += out === '' ? String(step) : `.${String(step)}`;
  }
  return out === '' ? '(input)' : out;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}`;
    case 'too_big':
      return `must be ${issue.inclusive === false ? '<' : 'at most'} ${String(issue.maximum)}${issue.origin === 'string' ? ' characters' : issue.origin === 'array' ? ' items' : ''}`;
    case 'too_small':
      return `must be ${issue.inclusive === false ? '>' : 'at least'} ${String(issue.minimum)}${issue.origin === 'string' ? ' characters' : issue.origin === 'array' ? ' items' : ''}`;
    case 'invalid_format':
      return `is not a valid ${issue.format}`;
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}`;
    case 'unrecognized_keys':
      return `has unknown field(s) ${issue.keys.map((k) => JSON.stringify(k.slice(0, 64))).join(', ')}`;
    case 'invalid_union':
      return 'matches none of the allowed shapes';
    case 'invalid_key':
      return 'has an invalid key';
    case 'invalid_element':
      return 'has an invalid element';
    case 'invalid_value':
      return 'is not one of the allowed values';
    case 'custom':
      // Messages of our own refinements are written to be safe; others are not shown.
      return typeof issue.params?.['safeMessage'] === 'string' ? issue.params['safeMessage'] : 'is invalid';
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
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const { message, field } = formatIssues(prefix, result.error.issues);
  throw new VaultError('VALIDATION', message, { field });
}

/** A refinement message that is safe to show (never includes the value). */
export function safe(message: string): { message: string; params: { safeMessage: string } } {
  return { message, params: { safeMessage: message } };
}
