import { describe, expect, it } from 'vitest';
import { isPrintableName } from '../../../src/guard/printable.js';
import { looksLikeJson } from '../../../src/guard/json-text.js';
import { walkJson } from '../../../src/scan/json-walk.js';

function walk(value: unknown): [string, string][] {
  const out: [string, string][] = [];
  walkJson(value, '$', {
    string: (text, path, isKey) => out.push([path, isKey ? `key:${text}` : text]),
    number: (n, path) => out.push([path, `n:${n}`]),
  });
  return out;
}

describe('walkJson', () => {
  it('visits strings and phone-like integers with their JSON paths, in document order', () => {
    expect(walk({ user: { phone: '+8613800138000', tags: ['a', { email: 'x@y.cn' }] }, age: 7, id: 13800138000, ok: true, none: null })).toEqual([
      ['$.user.phone', '+8613800138000'],
      ['$.user.tags[0]', 'a'],
      ['$.user.tags[1].email', 'x@y.cn'],
      ['$.id', 'n:13800138000'],
    ]);
    expect(walk('just text')).toEqual([['$', 'just text']]);
  });

  it('never names a key that could be a value, and hands such keys to the visitor', () => {
    expect(walk({ '+8613800138000': 'mobile', 'kid@example.cn': 1, 'x-request-id': 'r1', order12345: 'o', request_id: 'r2' })).toEqual([
      ['$[key]', 'key:+8613800138000'],
      ['$[key]', 'key:kid@example.cn'],
      ['$[key]', 'key:x-request-id'],
      ['$[key]', 'key:order12345'],
      ['$[key]', 'mobile'],
      ['$[key]', 'r1'],
      ['$[key]', 'o'],
      ['$.request_id', 'r2'],
    ]);
    // Keys are named only when src/guard/printable.ts allows it: ASCII identifiers, no 5-digit run.
    expect(isPrintableName('phone')).toBe(true);
    // Han keys are not printed (by design: a key can be an address or a name).
    expect(isPrintableName('电话')).toBe(false);
    expect(isPrintableName('12 main st')).toBe(false);
  });

  it('visits exactly the integers the leak guard reads as phone numbers', () => {
    expect(walk({ age: 7, ts: 1767225600000, id: 1234567, cn: 13800138000, cc: 8613800138000, float: 13800138000.5 })).toEqual([
      ['$.cn', 'n:13800138000'],
      ['$.cc', 'n:8613800138000'],
    ]);
  });

  it('walks very deep nesting without recursion, its path cut short', () => {
    let deep: unknown = { phone: 'bottom' };
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(walk(deep)).toEqual([[`$${'[0]'.repeat(64)}…`, 'bottom']]);
  });
});

describe('looksLikeJson', () => {
  it('accepts objects and arrays around whitespace, nothing else', () => {
    expect(looksLikeJson(' {"a":1}\n')).toBe(true);
    expect(looksLikeJson('[1]')).toBe(true);
    expect(looksLikeJson('"a"')).toBe(false);
    expect(looksLikeJson('{ not closed')).toBe(false);
    expect(looksLikeJson('plain')).toBe(false);
  });
});
