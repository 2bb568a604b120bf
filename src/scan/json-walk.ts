/**
 * Walks parsed JSON for the scanner: every string (and integer that reads as a phone number, as
 * the leak guard reads them: `integerAsPhoneText`) with its JSON path.
 *
 * Paths name keys only when a key cannot be a value worth hiding: an ASCII identifier of at most
 * 64 characters without a run of 5 digits (`$.user.phone`; src/guard/printable.ts). Any other key is written
 * `[key]` and is itself handed to the visitor — a map keyed by phone number or e-mail is a leak
 * like any other.
 */

import { integerAsPhoneText } from '../guard/assert-no-minor-data.js';
import { isPrintableName } from '../guard/printable.js';

/** Paths stop growing at this depth (`…` stands for the rest): bounds report size on hostile input. */
const MAX_PATH_DEPTH = 64;

export interface JsonVisitor {
  /** A string value, or a key that is not safe to name (`isKey`), at `path`. */
  string(text: string, path: string, isKey: boolean): void;
  /** An integer value at `path` that reads as a phone number (`integerAsPhoneText`). */
  number(n: number, path: string): void;
}

/** Calls `visit` for every string, unprintable key and phone-number integer in `root` (values in document order). */
export function walkJson(root: unknown, rootPath: string, visit: JsonVisitor): void {
  // An explicit stack: no recursion limit to hit on deeply nested input (JSON.parse has none either).
  const stack: { value: unknown; path: string; depth: number }[] = [{ value: root, path: rootPath, depth: 0 }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { value, path, depth } = item;
    if (typeof value === 'string') {
      visit.string(value, path, false);
    } else if (typeof value === 'number') {
      if (integerAsPhoneText(value) !== undefined) visit.number(value, path);
    } else if (typeof value === 'object' && value !== null) {
      const deep = depth >= MAX_PATH_DEPTH;
      const base = depth === MAX_PATH_DEPTH ? `${path}…` : path;
      if (Array.isArray(value)) {
        for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i] as unknown, path: deep ? base : `${path}[${i}]`, depth: depth + 1 });
      } else {
        const keys = Object.keys(value);
        const children: { value: unknown; path: string; depth: number }[] = [];
        for (const key of keys) {
          let childPath: string;
          if (deep) {
            childPath = base;
            if (!isPrintableName(key)) visit.string(key, childPath, true);
          } else if (isPrintableName(key)) {
            childPath = `${path}.${key}`;
          } else {
            childPath = `${path}[key]`;
            visit.string(key, childPath, true);
          }
          children.push({ value: (value as Record<string, unknown>)[key], path: childPath, depth: depth + 1 });
        }
        for (const child of children.reverse()) stack.push(child);
      }
    }
  }
}
