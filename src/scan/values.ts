/**
 * Matches the values the format readers find — strings, numbers, bytes, parsed JSON, log lines,
 * table and column names — and reports what the matcher (and, opt-in, the pattern detectors) say
 * about them. Integers are matched as the text the leak guard matches them as
 * (`integerAsPhoneText`): the scanner and the guard agree on which numbers are phone numbers.
 */
import { integerAsPhoneText } from '../guard/assert-no-minor-data.js';
import type { LeakMatch, LeakMatcher } from '../guard/leak-types.js';
import { bytePatterns, textPatterns } from '../guard/patterns.js';
import type { FindingSink } from './findings.js';
import { looksLikeJson, tryParseJson } from '../guard/json-text.js';
import { walkJson, type JsonVisitor } from './json-walk.js';
import { callMatcher } from './matcher-errors.js';

/** JSON inside a JSON string inside a JSON string…: parsed this many levels deep, then matched as text. */
const MAX_EMBEDDED_JSON = 4;
/** Quoted strings in a text line (JSON written by a logger, a Python repr): matched as whole values. */
const QUOTED = /"((?:[^"\\]|\\.){4,})"|'([^'\n]{4,})'/g;

export class ValueScanner {
  readonly #matcher: LeakMatcher;
  readonly #patterns: boolean;
  readonly #sink: FindingSink;
  /** JSON nesting of the string being walked: strings holding JSON are parsed only so deep. */
  #embedded = 0;
  readonly #visitor: JsonVisitor;
  /** Matcher and pattern matches of text reported so far (to tell whether a walk found anything). */
  #confirmed = 0;
  #patternsReported = 0;

  constructor(matcher: LeakMatcher, patterns: boolean, sink: FindingSink) {
    this.#matcher = matcher;
    this.#patterns = patterns;
    this.#sink = sink;
    this.#visitor = {
      string: (text, path, isKey) => {
        if (isKey) this.#plain(text, path);
        else this.text(text, path, path);
      },
      number: (n, path) => {
        this.number(n, path);
      },
    };
  }

  /**
   * A string value at `field` (undefined: the location itself). A JSON object or array is parsed
   * and walked, its strings reported at `jsonRoot` + their path; anything else is matched whole.
   */
  text(text: string, field: string | undefined, jsonRoot: string): void {
    if (text.length === 0) return;
    if (this.#embedded < MAX_EMBEDDED_JSON && looksLikeJson(text)) {
      const parsed = tryParseJson(text);
      if (parsed !== undefined) {
        this.jsonText(parsed, text, jsonRoot, field);
        return;
      }
    }
    this.#plain(text, field);
  }

  /**
   * JSON parsed from `text`: walked under `root`, then `text` itself is matched at `field`, since
   * of duplicate keys JSON.parse keeps only the last (`{"p":"<phone>","p":null}` parses clean,
   * while a reader that keeps the first gets the phone). The raw text is matched by the matcher
   * only when the walk reported no stored value, and by the patterns only when it reported no
   * pattern: the same value is not reported twice.
   */
  jsonText(parsed: unknown, text: string, root: string, field: string | undefined): void {
    const confirmed = this.#confirmed;
    const patterns = this.#patternsReported;
    this.json(parsed, root);
    this.#plain(text, field, this.#confirmed === confirmed, this.#patternsReported === patterns);
  }

  /** Parsed JSON: every string, unsafe key and phone-like integer, at its path under `root`. */
  json(value: unknown, root: string): void {
    this.#embedded++;
    try {
      walkJson(value, root, this.#visitor);
    } finally {
      this.#embedded--;
    }
  }

  /** A number (a database cell, a JSON value): matched as the guard's text when it reads as a phone number. */
  number(n: number | bigint, field: string | undefined): void {
    const text = integerAsPhoneText(n);
    if (text !== undefined) this.#plain(text, field);
  }

  /** Raw bytes: a BLOB, or a whole binary file. */
  bytes(bytes: Uint8Array, field: string | undefined): void {
    if (bytes.length === 0) return;
    const found = callMatcher(() => this.#matcher.matchBytes(bytes));
    if (found.length > 0) this.#sink.report(field, found);
    if (this.#patterns) {
      const patterns = bytePatterns(bytes);
      if (patterns.length > 0) this.#sink.report(field, patterns);
    }
  }

  /**
   * An SQLite BLOB: matched as bytes (a face photo, a voice clip) and, when it is UTF-8 text
   * without NUL (JSON or text stored as a BLOB), also as text — JSON walked like a TEXT cell's.
   */
  blob(bytes: Uint8Array): void {
    this.bytes(bytes, undefined);
    const text = utf8Text(bytes);
    if (text !== undefined) this.text(text, undefined, '$');
  }

  /**
   * A table or column name (which can itself be data), reported at `field`; true when anything
   * matched — the name must then not be printed.
   */
  name(text: string, field: string): boolean {
    return this.#plain(text, field) > 0;
  }

  /**
   * A line of free text: matched whole (the matcher finds phone numbers and e-mail addresses
   * inside it), then each quoted string in it on its own, so an address or a base64 image quoted
   * in a log line matches as the whole value it is.
   */
  line(text: string): void {
    if (text.length === 0) return;
    this.#plain(text, undefined);
    if (!text.includes('"') && !text.includes("'")) return;
    for (const m of text.matchAll(QUOTED)) {
      const literal = m[1] === undefined ? m[2] : unescapeJsonString(m[1]);
      if (literal !== undefined && literal !== text) this.#plain(literal, undefined);
    }
  }

  /**
   * Matches `text` whole (by the matcher and, if asked, the patterns — each only if `matcher` /
   * `patterns`); returns how many matches (before de-duplication) were reported.
   */
  #plain(text: string, field: string | undefined, matcher = true, patterns = true): number {
    const found: LeakMatch[] = matcher ? callMatcher(() => this.#matcher.matchText(text)) : [];
    if (found.length > 0) {
      this.#confirmed += found.length;
      this.#sink.report(field, found);
    }
    if (!this.#patterns || !patterns) return found.length;
    const warnings = textPatterns(text);
    if (warnings.length > 0) {
      this.#patternsReported += warnings.length;
      this.#sink.report(field, warnings);
    }
    return found.length + warnings.length;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The text of `bytes` when they are valid UTF-8 without NUL (text, not binary data); else undefined. */
function utf8Text(bytes: Uint8Array): string | undefined {
  if (bytes.length === 0 || bytes.includes(0)) return undefined;
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** The content of a JSON string literal (without its quotes); the raw text if its escapes are invalid. */
function unescapeJsonString(body: string): string {
  if (!body.includes('\\')) return body;
  const parsed = tryParseJson(`"${body}"`);
  return typeof parsed === 'string' ? parsed : body;
}
