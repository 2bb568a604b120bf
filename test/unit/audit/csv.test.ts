import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csvCell, csvLine, CsvParser, CsvSyntaxError, parseCsvRecords } from '../../../src/audit/csv.js';
import { VaultError } from '../../../src/errors.js';

/** Parses `text` pushed in the given chunk sizes (cycled). */
function parse(text: string, sizes: readonly number[] = [text.length || 1]): { record: string[]; line: number }[] {
  const parser = new CsvParser();
  const out: { record: string[]; line: number }[] = [];
  let at = 0;
  for (let i = 0; at < text.length; i++) {
    const size = Math.max(1, sizes[i % sizes.length] ?? 1);
    out.push(...parser.push(text.slice(at, at + size)));
    at += size;
  }
  out.push(...parser.end());
  return out;
}

function syntaxError(text: string): CsvSyntaxError {
  try {
    parse(text);
  } catch (error) {
    expect(error).toBeInstanceOf(CsvSyntaxError);
    expect(error).toBeInstanceOf(VaultError);
    return error as CsvSyntaxError;
  }
  return expect.fail('expected a CsvSyntaxError');
}

async function* chunksOf(text: string, size: number): AsyncGenerator<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

describe('csvLine', () => {
  it('quotes only cells holding a comma, quote, CR or LF, doubles quotes, and ends with CRLF', () => {
    expect(csvLine(['a', 'b c', 'x,y', 'say "hi"', 'l1\nl2', 'cr\r', null, ''])).toBe('a,b c,"x,y","say ""hi""","l1\nl2","cr\r",,\r\n');
    expect(csvCell(null)).toBe('');
    expect(csvCell('"')).toBe('""""');
  });
});

describe('CsvParser', () => {
  it('reads records ended by CRLF or LF, with the line each starts on', () => {
    expect(parse('a,b\r\nc,d\ne,f')).toEqual([
      { record: ['a', 'b'], line: 1 },
      { record: ['c', 'd'], line: 2 },
      { record: ['e', 'f'], line: 3 },
    ]);
  });

  it('keeps line breaks of every kind inside quoted fields, and counts the lines they span', () => {
    expect(parse('"a\r\nb","c\rd"\r\n"e\nf",g\r\nh,i\r\n')).toEqual([
      { record: ['a\r\nb', 'c\rd'], line: 1 },
      { record: ['e\nf', 'g'], line: 3 },
      { record: ['h', 'i'], line: 5 },
    ]);
  });

  it('reads empty cells, a trailing empty cell, an empty line and doubled quotes', () => {
    expect(parse(',a,\r\n\r\n"""",""\r\n')).toEqual([
      { record: ['', 'a', ''], line: 1 },
      { record: [''], line: 2 },
      { record: ['"', ''], line: 3 },
    ]);
  });

  it('returns nothing for empty input', () => {
    expect(parse('')).toEqual([]);
  });

  it('gives the same records however the input is split into chunks', () => {
    const text = 'a,"b\r\n""c""",d\r\n"x",,"y,z"\r\nlast';
    const whole = parse(text);
    for (const sizes of [[1], [2], [3, 1], [5, 7], [13]]) expect(parse(text, sizes)).toEqual(whole);
  });

  it('refuses an unterminated quoted field, naming the line where its record starts', () => {
    const error = syntaxError('a,b\r\nc,"never\r\nclosed');
    expect(error.line).toBe(2);
    expect(error.code).toBe('VALIDATION');
    expect(error.message).toMatch(/^line 2: .*not terminated/);
  });

  it('refuses text after a closing quote', () => {
    const error = syntaxError('a\r\n"b"x,c\r\n');
    expect(error.line).toBe(2);
    expect(error.message).toContain('after a closing quote');
    expect(error.message).not.toContain('x,c');
  });

  it('refuses a quote inside an unquoted field', () => {
    expect(syntaxError('ab"c,d\r\n').message).toContain('quote inside an unquoted field');
  });

  it('refuses a bare CR between records, also at the end of the input', () => {
    expect(syntaxError('a,b\rc\r\n').line).toBe(1);
    expect(syntaxError('a,b\r').message).toContain('carriage return');
  });

  it('refuses a record longer than the limit (bounded memory on hostile input)', () => {
    const parser = new CsvParser({ maxRecordChars: 100 });
    expect(() => parser.push('x'.repeat(60))).not.toThrow();
    expect(() => parser.push('y'.repeat(60))).toThrow(/longer than 100 characters/);
    const whole = new CsvParser({ maxRecordChars: 100 });
    expect(() => whole.push(`${'z'.repeat(150)}\n`)).toThrow(CsvSyntaxError);
  });

  it('delivers the good records of a chunk before the error that follows them', () => {
    const parser = new CsvParser();
    expect(parser.push('a\r\nb\r\n"c"x\r\n')).toEqual([
      { record: ['a'], line: 1 },
      { record: ['b'], line: 2 },
    ]);
    expect(() => parser.end()).toThrow(/^line 3: /);
  });
});

describe('parseCsvRecords', () => {
  it('parses an async stream of chunks', async () => {
    const records: string[][] = [];
    for await (const { record } of parseCsvRecords(chunksOf('a,"b\nc"\r\nd,e\r\n', 3))) records.push(record);
    expect(records).toEqual([
      ['a', 'b\nc'],
      ['d', 'e'],
    ]);
  });
});

describe('csvLine → CsvParser round trip (property)', () => {
  const cell = fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.string({ unit: fc.constantFrom('a', ',', '"', '\r', '\n', ' ', 'é', '😀'), maxLength: 12 }),
  );
  const records = fc.array(fc.array(cell, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 5 });

  it('reproduces every cell byte for byte, whatever the chunking', () => {
    fc.assert(
      fc.property(records, fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 4 }), (rows, sizes) => {
        const text = rows.map((r) => csvLine(r)).join('');
        expect(parse(text, sizes).map((r) => r.record)).toEqual(rows);
      }),
      { numRuns: 500 },
    );
  });

  it('numbers records by the lines they start on', () => {
    fc.assert(
      fc.property(records, (rows) => {
        let line = 1;
        const expected = rows.map((r) => {
          const start = line;
          line += csvLine(r).split('\n').length - 1;
          return start;
        });
        expect(parse(rows.map((r) => csvLine(r)).join('')).map((r) => r.line)).toEqual(expected);
      }),
    );
  });
});

describe('CsvParser with minimalQuotes (the export reader: one written form per cell)', () => {
  const strict = (text: string, columns?: readonly string[]) => {
    const parser = new CsvParser({ minimalQuotes: true, ...(columns === undefined ? {} : { columns }) });
    return [...parser.push(text), ...parser.end()].map((r) => r.record);
  };

  it('accepts cells quoted because they hold a comma, a quote, CR or LF', () => {
    expect(strict('"x,y","say ""hi""","l1\nl2","cr\r",plain,\r\n')).toEqual([['x,y', 'say "hi"', 'l1\nl2', 'cr\r', 'plain', '']]);
  });

  it.each([
    ['a plain cell', 'a,"b",c\r\n', /^line 1: column second is quoted but holds no comma, quote or line break/],
    ['an empty cell', 'a,"",c\r\n', /^line 1: column second is quoted/],
    ['the first cell', '"a",b\r\n', /^line 1: column first is quoted/],
    ['the last cell, at the end of the input', 'a,b\r\nc,"d"', /^line 2: column second is quoted/],
  ])('refuses %s quoted without need, naming its column', (_name, text, message) => {
    expect(() => strict(text, ['first', 'second', 'third'])).toThrow(message);
  });

  it('names the cell by number without column names, and accepts the same input without the option', () => {
    expect(() => strict('a,b,"c"\r\n')).toThrow(/^line 1: cell 3 is quoted/);
    expect(parse('a,b,"c"\r\n')).toEqual([{ record: ['a', 'b', 'c'], line: 1 }]);
  });

  it('agrees with csvCell: every written line reads back, with any cells (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.string({ unit: 'binary' }), { nil: null }), { minLength: 1, maxLength: 6 }), (cells) => {
        const expected = cells.map((c) => c ?? '');
        expect(strict(csvLine(cells))).toEqual([expected]);
      }),
    );
  });
});
