import { describe, expect, it } from 'vitest';
import { findMinorData } from '../../../src/guard/assert-no-minor-data.js';
import type { LeakMatch, LeakMatcher } from '../../../src/guard/leak-types.js';
import { FindingSink } from '../../../src/scan/findings.js';
import type { ScanFinding } from '../../../src/scan/types.js';
import { ValueScanner } from '../../../src/scan/values.js';
import { testMatcher } from '../../helpers/leak-matcher.js';

const PHONE = '+8613800138000';
const EMAIL = 'kid@example.cn';

function setup(matcher: LeakMatcher, max = 1000, patterns = false): { sink: FindingSink; values: ValueScanner; found: ScanFinding[] } {
  const found: ScanFinding[] = [];
  const sink = new FindingSink('f', max, (f) => found.push(f));
  return { sink, values: new ValueScanner(matcher, patterns, sink), found };
}

describe('ValueScanner and FindingSink', () => {
  it('walks JSON in a string, and JSON inside a JSON string, reporting paths', () => {
    const { sink, values, found } = setup(testMatcher({ phones: [PHONE], emails: [EMAIL] }));
    sink.atLine(3);
    values.text(JSON.stringify({ a: { payload: JSON.stringify({ contact: { email: EMAIL.toUpperCase() } }) }, n: 13800138000 }), undefined, '$');
    expect(found).toEqual([
      { file: 'f', location: { type: 'text', line: 3, field: '$.a.payload.contact.email' }, match: { kind: 'subject-data', field: 'contact.email' } },
      { file: 'f', location: { type: 'text', line: 3, field: '$.n' }, match: { kind: 'subject-data', field: 'contact.phone' } },
    ]);
  });

  it('matches quoted strings in a line as whole values, and de-duplicates identical matches at one location', () => {
    const { sink, values, found } = setup(testMatcher({ addresses: ['12 Main St, Apt 3'], phones: [PHONE] }));
    sink.atLine(1);
    values.line(`saved {"address": "12 main st apt 3", "p": "${PHONE}"} and 'x' again ${PHONE}`);
    expect(found.map((f) => f.match)).toEqual([
      { kind: 'subject-data', field: 'contact.phone' },
      { kind: 'subject-data', field: 'contact.address' },
    ]);
    sink.atLine(1); // the same line (another piece of it): still de-duplicated
    values.line(PHONE);
    expect(found).toHaveLength(2);
    sink.atLine(2);
    values.line(PHONE);
    expect(found).toHaveLength(3);
  });

  it('counts findings beyond the limit without reporting them', () => {
    const { sink, values, found } = setup(testMatcher({ phones: [PHONE] }), 2);
    for (let line = 1; line <= 5; line++) {
      sink.atLine(line);
      values.line(PHONE);
    }
    expect(found).toHaveLength(2);
    expect(sink.count).toBe(5);
    expect(sink.truncated).toBe(true);
  });

  it('reports only the fields a match type defines, whatever else the matcher attached', () => {
    const leaky: LeakMatcher = {
      matchText: () => [{ kind: 'subject-data', field: 'contact.phone', value: PHONE } as LeakMatch],
      matchBytes: () => [],
    };
    const { sink, values, found } = setup(leaky);
    sink.atCell('t', 'c', 1);
    values.text('anything', undefined, '$');
    expect(JSON.stringify(found)).not.toContain(PHONE);
    expect(found[0]!.match).toEqual({ kind: 'subject-data', field: 'contact.phone' });
  });

  it('adds pattern matches only when asked', () => {
    const matcher = testMatcher({});
    const off = setup(matcher);
    off.sink.atLine(1);
    off.values.line('call 13912345678 at 30.274085, 120.15507');
    expect(off.found).toEqual([]);
    const on = setup(matcher, 1000, true);
    on.sink.atLine(1);
    on.values.line('call 13912345678 at 30.274085, 120.15507');
    expect(on.found.map((f) => f.match)).toEqual([
      { kind: 'pattern', pattern: 'phone' },
      { kind: 'pattern', pattern: 'coordinates' },
    ]);
  });

  it('matches an integer as the very text the leak guard matches it as', () => {
    const numbers: (number | bigint)[] = [7, 1234567, 1767225600000, 13800138000, 8613800138000, 19999999999, 20000000000, 13800138000n, 8613800138000n, 999999999999999n];
    const recorder = (): LeakMatcher & { texts: string[] } => {
      const texts: string[] = [];
      return { texts, matchText: (text) => (texts.push(text), []), matchBytes: () => [] };
    };
    const guard = recorder();
    for (const n of numbers) findMinorData(n, guard);
    const scanner = recorder();
    const { sink, values } = setup(scanner);
    sink.atCell('t', 'c', 1);
    for (const n of numbers) values.number(n, undefined);
    // In JSON too (bigints aside: JSON has none).
    values.json(numbers.filter((n) => typeof n === 'number'), '$');
    expect(guard.texts).toEqual(['13800138000', '+8613800138000', '19999999999', '13800138000', '+8613800138000']);
    expect(scanner.texts).toEqual([...guard.texts, '13800138000', '+8613800138000', '19999999999']);
  });

  it('matches a BLOB holding UTF-8 text or JSON as text too, and a binary BLOB only as bytes', () => {
    const { sink, values, found } = setup(testMatcher({ phones: [PHONE], emails: [EMAIL] }));
    sink.atCell('t', 'json', 1);
    values.blob(Buffer.from(JSON.stringify({ contact: { email: EMAIL } })));
    sink.atCell('t', 'text', 2);
    values.blob(Buffer.from(`call me at ${PHONE} 😀`));
    sink.atCell('t', 'nul', 3);
    values.blob(Buffer.from(`${EMAIL}\0`));
    sink.atCell('t', 'latin1', 4);
    values.blob(Buffer.from(`${EMAIL} caf\xe9`, 'latin1'));
    expect(found.map((f) => [f.location, f.match])).toEqual([
      [{ type: 'sqlite', table: 't', column: 'json', rowid: 1, field: '$.contact.email' }, { kind: 'subject-data', field: 'contact.email' }],
      [{ type: 'sqlite', table: 't', column: 'text', rowid: 2 }, { kind: 'subject-data', field: 'contact.phone' }],
    ]);
  });

  it('matches a table or column name, telling whether anything matched', () => {
    const { sink, values, found } = setup(testMatcher({ phones: [PHONE] }));
    sink.atCell('table #2', '', null);
    expect(values.name('u_13800138000', '<table name>')).toBe(true);
    expect(values.name('users', '<table name>')).toBe(false);
    expect(found).toEqual([{ file: 'f', location: { type: 'sqlite', table: 'table #2', column: '', rowid: null, field: '<table name>' }, match: { kind: 'subject-data', field: 'contact.phone' } }]);
  });
});
