/**
 * The deep leak check: walks a value about to leave the service (a log line, a queue message, an
 * API response, a row for another store) and reports where it carries minor data — a `Sensitive`,
 * a stored child's contact value or face/voice bytes (blind index), or a canary's. Findings name a
 * path ("$.user.contacts[2].phone") and a kind, never the value: object keys appear in paths only
 * when they look like identifiers and matched nothing, since a key can itself be a phone number.
 */
import { isUtf8 } from 'node:buffer';
import { types } from 'node:util';
import { VaultError } from '../errors.js';
import type { LeakMatch, LeakMatcher } from './leak-types.js';
import { bytePatterns, textPatterns } from './patterns.js';
import { isSensitive } from './sensitive.js';
import { isPrintableName } from './printable.js';
import { looksLikeJson } from './json-text.js';

/** Containers nested deeper than this are not walked; the check refuses them (fail closed). */
export const MAX_GUARD_DEPTH = 64;

/** A leak match, or a part of the value the walk could not check because it is nested too deep. */
export type GuardMatch = LeakMatch | { readonly kind: 'too-deep'; readonly limit: number };

export interface GuardFinding<M extends GuardMatch = GuardMatch> {
  /** Where: "$", "$.user.phone", "$.list[3]", "$.m<key 0>", "$.payload<json>.phone". */
  readonly path: string;
  readonly match: M;
}

export interface GuardWarning {
  readonly path: string;
  /** A pattern match (kind `pattern`): looks like minor data, but could be an adult's. */
  readonly match: LeakMatch;
  readonly where?: string;
}

export interface GuardOptions {
  /** Names the channel in the error message ("audit webhook", "log line"). */
  readonly where?: string;
  /** Also run the pattern detectors (phone, e-mail, coordinates, image/audio bytes); they only warn. */
  readonly patterns?: boolean;
  readonly onWarning?: (w: GuardWarning) => void;
}

export interface MinorDataFindings {
  /** Blind-index, canary and `Sensitive` matches, and parts too deep to check: refused. */
  readonly refusals: GuardFinding[];
  /** Pattern matches: reported, never refused. */
  readonly warnings: GuardFinding<LeakMatch>[];
}

/** A short, value-free description of a match, for messages. */
export function describeMatch(m: GuardMatch): string {
  switch (m.kind) {
    case 'sensitive':
      return `a Sensitive ${m.category} value`;
    case 'subject-data':
      return `a stored child's ${m.field}`;
    case 'canary':
      return `a canary's ${m.field}`;
    case 'pattern':
      return `pattern: ${m.pattern}`;
    case 'too-deep':
      return `too deep to check (nested over ${m.limit} levels)`;
  }
}

/**
 * The text to match for an integer that reads as a phone number: a mainland mobile number (11
 * digits, 13…–19…) or one with its country code 86 — a phone stored as a number is still a phone.
 * Other numbers (ids, timestamps, amounts) are not matched.
 * @internal Shared with the guarded database.
 */
export function integerAsPhoneText(n: number | bigint): string | undefined {
  if (typeof n === 'number') {
    if (n >= 13_000_000_000 && n < 20_000_000_000 && Number.isInteger(n)) return String(n);
    if (n >= 8_613_000_000_000 && n < 8_620_000_000_000 && Number.isInteger(n)) return `+${n}`;
    return undefined;
  }
  if (n >= 13_000_000_000n && n < 20_000_000_000n) return String(n);
  if (n >= 8_613_000_000_000n && n < 8_620_000_000_000n) return `+${n}`;
  return undefined;
}


const CATEGORY = /^[\w.-]{1,64}$/;
const UNREADABLE: unique symbol = Symbol('unreadable');

/** A property read; a throwing getter (or proxy trap) makes the property unreadable, not the walk fail. */
function read(target: object, key: PropertyKey): unknown {
  try {
    return (target as Record<PropertyKey, unknown>)[key];
  } catch {
    return UNREADABLE;
  }
}

/** The category of a Sensitive, if it is a plain name (a forged brand could carry anything). */
function sensitiveCategory(value: object): string {
  const category = read(value, 'category');
  return typeof category === 'string' && CATEGORY.test(category) ? category : 'unknown';
}

function bytesOf(value: ArrayBufferView): Uint8Array {
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/** Raised inside the walk when a container cannot be read; caught by the walk, never escapes. */
class ReadError extends Error {}

/** Runs a read of a container; a throw (proxy trap, getter) becomes a ReadError. */
function guarded<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw new ReadError('unreadable', { cause: error });
  }
}

class Walker {
  readonly refusals: GuardFinding[] = [];
  readonly warnings: GuardFinding<LeakMatch>[] = [];
  readonly #seen = new WeakSet<object>();
  readonly #matcher: LeakMatcher;
  readonly #patterns: boolean;

  constructor(matcher: LeakMatcher, patterns: boolean) {
    this.#matcher = matcher;
    this.#patterns = patterns;
  }

  walk(value: unknown, path: string, depth: number): void {
    switch (typeof value) {
      case 'string':
        this.#string(value, path, depth);
        return;
      case 'number':
      case 'bigint': {
        const text = integerAsPhoneText(value);
        if (text !== undefined) this.#text(text, path);
        return;
      }
      case 'object':
        if (value !== null) this.#object(value, path, depth);
        return;
      default:
        return; // booleans, undefined, symbols, functions
    }
  }

  /** Matches of the matcher (refused unless a pattern) and, if asked, of the pattern detectors. */
  #record(matches: readonly LeakMatch[], path: string): void {
    for (const match of matches) (match.kind === 'pattern' ? this.warnings : this.refusals).push({ path, match });
  }

  #string(value: string, path: string, depth: number): void {
    if (looksLikeJson(value)) {
      let parsed: unknown = UNREADABLE;
      try {
        parsed = JSON.parse(value) as unknown;
      } catch {
        // not JSON after all: match it as text
      }
      // Walking the parsed value finds what the raw text hides (escapes, addresses, base64 fields).
      if (parsed !== UNREADABLE) {
        const refusals = this.refusals.length;
        const warnings = this.warnings.length;
        this.walk(parsed, `${path}<json>`, depth);
        // And the raw text finds what parsing drops: of duplicate keys JSON.parse keeps the last, so
        // `{"p":"<phone>","p":null}` parses clean while a reader keeping the first gets the phone.
        // Matched only where the parsed form found nothing (the string is refused either way), so
        // a value is neither reported nor audited twice.
        this.#text(value, path, this.refusals.length === refusals, this.warnings.length === warnings);
        return;
      }
    }
    this.#text(value, path);
  }

  #text(value: string, path: string, matcher = true, patterns = true): void {
    if (matcher) this.#record(this.#matcher.matchText(value), path);
    if (patterns && this.#patterns) this.#record(textPatterns(value), path);
  }

  #bytes(bytes: Uint8Array, path: string, depth: number): void {
    this.#record(this.#matcher.matchBytes(bytes), path);
    if (this.#patterns) this.#record(bytePatterns(bytes), path);
    // Text carried as bytes (Buffer.from(JSON.stringify(...))) is still text.
    if (bytes.length > 0 && isUtf8(bytes)) this.#string(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'), `${path}<utf8>`, depth);
  }

  #object(value: object, path: string, depth: number): void {
    let sensitive: boolean;
    try {
      sensitive = isSensitive(value);
    } catch {
      return; // a revoked proxy or a throwing trap: nothing readable
    }
    if (sensitive) {
      this.refusals.push({ path, match: { kind: 'sensitive', category: sensitiveCategory(value) } });
      return; // never look inside: its value is behind reveal()
    }
    if (this.#seen.has(value)) return;
    this.#seen.add(value);
    if (depth >= MAX_GUARD_DEPTH) {
      this.refusals.push({ path, match: { kind: 'too-deep', limit: MAX_GUARD_DEPTH } });
      return;
    }
    try {
      this.#container(value, path, depth + 1);
    } catch (error) {
      if (error instanceof ReadError) return; // unreadable container (e.g. a throwing ownKeys trap)
      throw error; // the matcher's failures must surface: fail closed
    }
  }

  #container(value: object, path: string, depth: number): void {
    if (ArrayBuffer.isView(value)) this.#bytes(bytesOf(value), path, depth);
    else if (types.isAnyArrayBuffer(value)) this.#bytes(new Uint8Array(value), path, depth);
    else if (types.isMap(value)) this.#map(value, path, depth);
    else if (types.isSet(value)) this.#set(value, path, depth);
    else if (types.isStringObject(value)) this.#string(String.prototype.toString.call(value), path, depth);
    else if (types.isNumberObject(value)) this.walk(Number.prototype.valueOf.call(value), path, depth);
    else if (guarded(() => Array.isArray(value))) this.#array(value as unknown[], path, depth);
    else if (!types.isDate(value) && !types.isRegExp(value)) this.#plain(value, path, depth);
  }

  /** An object: its properties, an Error's message and cause, and what its toJSON would write. */
  #plain(value: object, path: string, depth: number): void {
    if (guarded(() => value instanceof Error)) {
      // message and cause are not enumerable, but they are where a value tends to end up
      this.walk(read(value, 'message'), `${path}.message`, depth);
      this.walk(read(value, 'cause'), `${path}.cause`, depth);
    }
    this.#properties(value, path, depth);
    const toJSON = read(value, 'toJSON');
    if (typeof toJSON === 'function') this.#toJSON(value, toJSON as (this: object, key: string) => unknown, path, depth);
  }

  #array(value: readonly unknown[], path: string, depth: number): void {
    const length = guarded(() => value.length);
    for (let i = 0; i < length; i++) {
      const item = read(value, i);
      if (item !== UNREADABLE) this.walk(item, `${path}[${i}]`, depth);
    }
  }

  #map(value: Map<unknown, unknown>, path: string, depth: number): void {
    // The built-in iterator, not the object's own: a subclass cannot hide entries.
    const entries = [...Map.prototype.entries.call(value)] as [unknown, unknown][];
    entries.forEach(([key, item], i) => {
      this.walk(key, `${path}<key ${i}>`, depth);
      this.walk(item, `${path}<value ${i}>`, depth);
    });
  }

  #set(value: Set<unknown>, path: string, depth: number): void {
    const items = [...Set.prototype.values.call(value)] as unknown[];
    items.forEach((item, i) => {
      this.walk(item, `${path}<item ${i}>`, depth);
    });
  }

  /** Own enumerable string keys; each key is matched too, and named in the path only if harmless. */
  #properties(value: object, path: string, depth: number): void {
    const keys = guarded(() => Object.keys(value));
    keys.forEach((key, i) => {
      const before = this.refusals.length + this.warnings.length;
      this.#string(key, `${path}<key ${i}>`, depth);
      const clean = this.refusals.length + this.warnings.length === before;
      const item = read(value, key);
      if (item !== UNREADABLE) this.walk(item, clean && isPrintableName(key) ? `${path}.${key}` : `${path}["<key ${i}>"]`, depth);
    });
  }

  /** What JSON.stringify would write for objects that hide their data (private fields + toJSON). */
  #toJSON(value: object, toJSON: (this: object, key: string) => unknown, path: string, depth: number): void {
    let json: unknown;
    try {
      json = toJSON.call(value, '');
    } catch {
      return;
    }
    if (json !== value) this.walk(json, `${path}<toJSON>`, depth);
  }
}

/**
 * Every place in `value` that carries minor data: `refusals` (Sensitive values, blind-index and
 * canary matches, parts nested too deep to check) and, with `patterns`, `warnings` (pattern
 * matches, which may be adults' data). Walks objects (own enumerable string keys, keys included),
 * arrays, Maps (keys and values), Sets, typed arrays, Buffers, ArrayBuffers, DataViews (as bytes,
 * and as text when they are UTF-8), strings (and JSON written in them), and integers that read as
 * phone numbers. Cycles are visited once; a throwing getter makes its property unreadable.
 */
export function findMinorData(value: unknown, matcher: LeakMatcher, options: { readonly patterns?: boolean } = {}): MinorDataFindings {
  const walker = new Walker(matcher, options.patterns === true);
  walker.walk(value, '$', 0);
  return { refusals: walker.refusals, warnings: walker.warnings };
}

/**
 * Throws PLAINTEXT_LEAK if `value` carries minor data, naming the first place found and how many
 * others there are (never a value). Pattern matches, when `patterns` is on, go to `onWarning`.
 */
export function assertNoMinorData(value: unknown, matcher: LeakMatcher, options: GuardOptions = {}): void {
  const found = findMinorData(value, matcher, { patterns: options.patterns === true });
  const { where, onWarning } = options;
  if (onWarning !== undefined) {
    for (const w of found.warnings) onWarning(where === undefined ? { path: w.path, match: w.match } : { path: w.path, match: w.match, where });
  }
  const first = found.refusals[0];
  if (first === undefined) return;
  const others = found.refusals.length - 1;
  const more = others === 0 ? '' : `; ${others} more finding${others === 1 ? '' : 's'}`;
  throw new VaultError('PLAINTEXT_LEAK', `${where ?? 'leak guard'}: minor data at ${first.path} (${describeMatch(first.match)})${more}`, { field: first.path });
}
