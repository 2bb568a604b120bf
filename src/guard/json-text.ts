/** Telling JSON text from other text cheaply, for the leak guard and the scanner alike. */

/** Strings longer than this are matched as text, not parsed (bounds the memory of JSON.parse). */
export const MAX_JSON_CHARS = 16 * 1024 * 1024;
/** True when `text` may be a JSON object or array: `{…}` or `[…]` around optional whitespace. */
export function looksLikeJson(text: string): boolean {
  if (text.length < 2 || text.length > MAX_JSON_CHARS) return false;
  let start = 0;
  while (start < text.length && isSpace(text.charCodeAt(start))) start++;
  let end = text.length - 1;
  while (end > start && isSpace(text.charCodeAt(end))) end--;
  const first = text.charCodeAt(start);
  const last = text.charCodeAt(end);
  return (first === 0x7b && last === 0x7d) || (first === 0x5b && last === 0x5d);
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** The parsed value, or undefined when `text` is not valid JSON. */
export function tryParseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
