/**
 * A better-sqlite3 database that refuses to store minor data. Statements that write check their
 * bound parameters on every run/get/all/iterate/bind, and their SQL literals once, when prepared;
 * `exec` checks the literals of its whole script before running it. Reads are returned unwrapped,
 * so they cost nothing. Everything else on the database passes through.
 */
import type Database from 'better-sqlite3';
import { types } from 'node:util';
import { VaultError } from '../errors.js';
import { describeMatch, findMinorData, integerAsPhoneText, type GuardMatch, type GuardWarning } from './assert-no-minor-data.js';
import { looksLikeJson } from './json-text.js';
import type { LeakMatch, LeakMatcher } from './leak-types.js';
import { textPatterns } from './patterns.js';
import { isPrintableName } from './printable.js';

export interface GuardDatabaseOptions {
  /** Also run the pattern detectors on what is written; they only warn (through `onWarning`). */
  readonly patterns?: boolean;
  readonly onWarning?: (w: GuardWarning) => void;
}

type Statement = Database.Statement;
/** Where a value is: a positional parameter (1-based), a named one, or a literal of the SQL text. */
type Place = number | string | { readonly literal: number };

const WHERE = 'guarded database';
/**
 * A DELETE (after leading comments): its parameters and literals only select rows, and erasing a
 * child's data from another store by phone number must stay possible.
 */
const DELETE = /^(?:\s|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*delete\b/i;

/** The words of a message for `place`; a named parameter's name is shown only if it is a plain name. */
function describePlace(place: Place): string {
  if (typeof place === 'number') return `in parameter ${place}`;
  if (typeof place === 'string') return `in parameter ${isPrintableName(place) ? place : '<named>'}`;
  return 'in a SQL literal';
}

function placePath(place: Place): string {
  if (typeof place === 'number') return `<parameter ${place}>`;
  if (typeof place === 'string') return isPrintableName(place) ? `<parameter ${place}>` : '<parameter named>';
  return `<sql literal ${place.literal}>`;
}

/**
 * Whether better-sqlite3 could take `value` as named parameters: it does when the prototype is
 * null or the Object.prototype of the realm that made the object — any realm, so an object from
 * `vm.runInNewContext('({})')` counts. A proxy counts too (its getPrototypeOf trap can lie).
 * Arrays and byte views are handled before this is asked.
 */
function mayBindAsNamed(value: object): boolean {
  if (types.isProxy(value)) return true;
  const proto = Object.getPrototypeOf(value) as object | null;
  return proto === null || Object.getPrototypeOf(proto) === null;
}

/** Checks values on their way into SQLite; allocation-free for clean strings and numbers. */
class WriteChecker {
  readonly #matcher: LeakMatcher;
  readonly #patterns: boolean;
  readonly #onWarning: ((w: GuardWarning) => void) | undefined;

  constructor(matcher: LeakMatcher, options: GuardDatabaseOptions) {
    this.#matcher = matcher;
    this.#patterns = options.patterns === true;
    this.#onWarning = options.onWarning;
  }

  /**
   * Checks the arguments of run/get/all/iterate/bind — values, arrays of values, named-parameter
   * objects — and returns what to bind: every array and object as a copy read once, so a getter
   * cannot hand SQLite another value than the one checked, and a property the check did not see
   * (non-enumerable) is not bound at all (SQLite then reports the parameter missing). Named
   * parameters are copied whatever realm they come from: better-sqlite3 takes another realm's
   * plain object (`vm.runInNewContext('({})')`) as named parameters and reads its own properties,
   * enumerable or not, itself. Any other object (a class instance, a Date) is refused, as
   * better-sqlite3 would refuse it.
   */
  params(args: readonly unknown[]): readonly unknown[] {
    let position = 0;
    let bound: unknown[] | null = null;
    for (let i = 0; i < args.length; i++) {
      const arg = args[i];
      if (typeof arg !== 'object' || arg === null || ArrayBuffer.isView(arg)) {
        this.value(arg, ++position);
        continue;
      }
      let copy: unknown;
      if (Array.isArray(arg)) {
        // Index by index, not Array.from: an own Symbol.iterator could yield other values.
        const source = arg as unknown[];
        const length = source.length;
        const items: unknown[] = new Array<unknown>(length);
        for (let k = 0; k < length; k++) {
          const item = source[k];
          items[k] = item;
          this.value(item, ++position);
        }
        copy = items;
      } else if (mayBindAsNamed(arg)) {
        const named = Object.create(null) as Record<string, unknown>;
        for (const key of Object.keys(arg)) {
          const v = (arg as Record<string, unknown>)[key];
          named[key] = v;
          this.value(v, key);
        }
        copy = named;
      } else {
        throw new VaultError('VALIDATION', `${WHERE}: parameter ${i + 1} is an object that is neither an array, bytes nor plain named parameters`, { field: `<parameter ${i + 1}>` });
      }
      bound ??= [...args];
      bound[i] = copy;
    }
    return bound ?? args;
  }

  value(value: unknown, place: Place): void {
    switch (typeof value) {
      case 'string':
        // JSON goes through the deep walk: fields, escapes and base64 hide from a plain text match.
        if (looksLikeJson(value)) this.#deep(value, place);
        else this.#text(value, place);
        return;
      case 'number':
      case 'bigint': {
        const text = integerAsPhoneText(value);
        if (text !== undefined) this.#text(text, place);
        return;
      }
      case 'object':
        if (value !== null) this.#deep(value, place);
        return;
      default:
        return;
    }
  }

  /** The literals of SQL text (a statement being prepared, or an `exec` script). */
  sql(source: string): void {
    sqlLiterals(source).forEach((literal, i) => {
      const place = { literal: i + 1 };
      if (typeof literal === 'string') this.value(literal, place);
      else this.#deep(literal, place);
    });
  }

  #text(text: string, place: Place): void {
    for (const match of this.#matcher.matchText(text)) this.#match(match, place, '');
    if (this.#patterns && this.#onWarning !== undefined) {
      for (const match of textPatterns(text)) this.#match(match, place, '');
    }
  }

  #deep(value: unknown, place: Place): void {
    const found = findMinorData(value, this.#matcher, { patterns: this.#patterns });
    for (const w of found.warnings) this.#match(w.match, place, w.path === '$' ? '' : w.path);
    const first = found.refusals[0];
    if (first !== undefined) this.#refuse(first.match, place, first.path === '$' ? '' : first.path);
  }

  #match(match: LeakMatch, place: Place, subpath: string): void {
    if (match.kind !== 'pattern') this.#refuse(match, place, subpath);
    else if (this.#onWarning !== undefined) this.#onWarning({ path: `${placePath(place)}${subpath}`, match, where: WHERE });
  }

  #refuse(match: GuardMatch, place: Place, subpath: string): never {
    const at = subpath === '' ? '' : ` at ${subpath}`;
    throw new VaultError('PLAINTEXT_LEAK', `${WHERE}: refusing to write minor data (${describeMatch(match)}) ${describePlace(place)}${at}`, {
      field: `${placePath(place)}${subpath}`,
    });
  }
}

/**
 * The parts of SQL text that end up stored or executed as data: string literals ('' unescaped),
 * blob literals (X'…', decoded), quoted names ("…", `…`, […]: they land in the schema), comments
 * (kept in the schema for CREATE statements), and integer literals. Strings are returned as
 * strings, blobs as bytes, integers as numbers.
 */
export function sqlLiterals(sql: string): (string | number | Uint8Array)[] {
  const out: (string | number | Uint8Array)[] = [];
  const n = sql.length;
  let i = 0;
  while (i < n) {
    const c = sql.charAt(i);
    if (c === "'" || c === '"' || c === '`') {
      const end = quotedEnd(sql, i, c);
      out.push(sql.slice(i + 1, end).replaceAll(c + c, c));
      i = end + 1;
    } else if (c === '[') {
      const end = indexOrEnd(sql, ']', i + 1);
      out.push(sql.slice(i + 1, end));
      i = end + 1;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = indexOrEnd(sql, '\n', i + 2);
      out.push(sql.slice(i + 2, end));
      i = end + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = indexOrEnd(sql, '*/', i + 2);
      out.push(sql.slice(i + 2, end));
      i = end + 2;
    } else if (isWordChar(c)) {
      let end = i + 1;
      while (end < n && isWordChar(sql.charAt(end))) end++;
      const word = sql.slice(i, end);
      if ((word === 'x' || word === 'X') && sql[end] === "'") {
        const close = quotedEnd(sql, end, "'");
        const hex = sql.slice(end + 1, close);
        if (/^(?:[0-9a-fA-F]{2})*$/.test(hex)) out.push(new Uint8Array(Buffer.from(hex, 'hex')));
        i = close + 1;
      } else {
        // Identifiers, keywords and numbers; only whole integers can be data (a phone as a number).
        if (/^\d+$/.test(word)) out.push(Number(word));
        i = end;
      }
    } else {
      i++;
    }
  }
  return out;
}

function isWordChar(c: string): boolean {
  return /[\w$]/.test(c) || c.charCodeAt(0) > 0x7f;
}

/** The index of the quote closing the one at `start` (a doubled quote is an escaped one). */
function quotedEnd(sql: string, start: number, quote: string): number {
  let from = start + 1;
  for (;;) {
    const k = sql.indexOf(quote, from);
    if (k < 0) return sql.length;
    if (sql[k + 1] !== quote) return k;
    from = k + 2;
  }
}

function indexOrEnd(sql: string, what: string, from: number): number {
  const k = sql.indexOf(what, from);
  return k < 0 ? sql.length : k;
}

/**
 * A statement that writes, checking its parameters before each run. Methods that return the
 * statement itself (pluck, raw, bind…) return the guarded one, so chaining cannot unwrap it.
 */
function guardStatement(stmt: Statement, checker: WriteChecker, database: Database.Database): Statement {
  const run = (...params: unknown[]): Database.RunResult => stmt.run(...checker.params(params));
  const get = (...params: unknown[]): unknown => stmt.get(...checker.params(params));
  const all = (...params: unknown[]): unknown[] => stmt.all(...checker.params(params));
  const iterate = (...params: unknown[]): IterableIterator<unknown> => stmt.iterate(...checker.params(params));
  const bind = (...params: unknown[]): Statement => {
    stmt.bind(...checker.params(params));
    return proxy;
  };
  const others = new Map<PropertyKey, unknown>();
  const passThrough = (prop: PropertyKey, fn: (...a: unknown[]) => unknown): unknown => {
    let wrapped = others.get(prop);
    if (wrapped === undefined) {
      wrapped = (...a: unknown[]): unknown => {
        const result = fn.apply(stmt, a);
        return result === stmt ? proxy : result;
      };
      others.set(prop, wrapped);
    }
    return wrapped;
  };
  const own = (prop: PropertyKey): PropertyDescriptor | undefined => {
    const descriptor = Reflect.getOwnPropertyDescriptor(stmt, prop);
    // Reported configurable: the shadow target does not hold it, which the proxy rules then allow.
    return descriptor === undefined ? undefined : { ...descriptor, ...(prop === 'database' ? { value: database } : {}), configurable: true };
  };
  // The target is a shadow with the statement's prototype: the real statement's `database` is a
  // frozen own property, which a proxy of it would have to report as the unguarded database.
  const shadow = Object.create(Object.getPrototypeOf(stmt) as object) as Statement;
  const proxy: Statement = new Proxy(shadow, {
    get(_shadow, prop): unknown {
      switch (prop) {
        case 'run':
          return run;
        case 'get':
          return get;
        case 'all':
          return all;
        case 'iterate':
          return iterate;
        case 'bind':
          return bind;
        case 'database':
          return database;
      }
      // Native accessors and methods need the real statement as `this`.
      const value = Reflect.get(stmt, prop, stmt) as unknown;
      return typeof value === 'function' ? passThrough(prop, value as (...a: unknown[]) => unknown) : value;
    },
    has: (_shadow, prop) => Reflect.has(stmt, prop),
    ownKeys: () => Reflect.ownKeys(stmt),
    getOwnPropertyDescriptor: (_shadow, prop) => own(prop),
    set: () => false,
    defineProperty: () => false,
    deleteProperty: () => false,
  });
  return proxy;
}

/**
 * Wraps `db` so that writes carrying minor data (a stored child's value, a canary's, a `Sensitive`)
 * are refused with PLAINTEXT_LEAK before they reach the file; the message names the parameter or
 * says "in a SQL literal", never the value. With `patterns`, pattern matches go to `onWarning`.
 * The result is still `instanceof Database`; `transaction`, `pragma`, `close` and the rest work
 * as before.
 */
export function guardDatabase(db: Database.Database, matcher: LeakMatcher, options: GuardDatabaseOptions = {}): Database.Database {
  const checker = new WriteChecker(matcher, options);
  const prepare = (source: string): Statement => {
    const stmt = db.prepare(source);
    // Reads and deletes store nothing they are given: the raw statement, no overhead.
    if (stmt.readonly || DELETE.test(source)) return stmt;
    checker.sql(source);
    return guardStatement(stmt, checker, guarded);
  };
  const exec = (source: string): Database.Database => {
    checker.sql(source);
    db.exec(source);
    return guarded;
  };
  const guarded: Database.Database = new Proxy(db, {
    get(target, prop, receiver): unknown {
      if (prop === 'prepare') return prepare;
      if (prop === 'exec') return exec;
      // The database's methods are JavaScript over an internal handle: they work with the proxy
      // as `this`, so transaction(), pragma() and friends return (and use) the guarded database.
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
  return guarded;
}
