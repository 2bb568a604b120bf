/** Values read from the vault as plain JSON, for the commands that print or write them on request. */
import type { Sensitive } from '../index.js';

/** A revealed value as JSON: binary fields as {"$base64": …}, the import format. */
function toJson(value: unknown): unknown {
  if (value instanceof Uint8Array) return { $base64: Buffer.from(value).toString('base64') };
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, x]) => [k, toJson(x)]));
  return value;
}

/** Each category's view and plaintext in that view; a `presence` view says only that it exists. */
export function revealAll(values: Readonly<Record<string, Sensitive<unknown>>>): Record<string, { view: string; value?: unknown; present?: true }> {
  return Object.fromEntries(
    Object.entries(values).map(([category, s]) => [category, s.view === 'presence' ? { view: s.view, present: true as const } : { view: s.view, value: toJson(s.reveal()) }]),
  );
}
