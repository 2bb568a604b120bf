import { describe, expect, it } from 'vitest';
import { LenientCsvParser } from '../../../src/scan/csv-records.js';

interface Parsed {
  records: { line: number; cells: string[] }[];
  pieces: { line: number; column: number; text: string }[];
}

function parse(chunks: readonly string[], options: { maxCellChars?: number; overlapChars?: number } = {}): Parsed {
  const out: Parsed = { records: [], pieces: [] };
  let cells: string[] = [];
  const parser = new LenientCsvParser(
    {
      cell(text, column, line, piece) {
        if (piece) out.pieces.push({ line, column, text });
        else cells.push(text);
      },
      endRecord(line, blank) {
        if (!blank) out.records.push({ line, cells });
        cells = [];
      },
    },
    options,
  );
  for (const c of chunks) parser.push(c);
  parser.end();
  return out;
}

const CSV = 'name,note,phone\r\n"Doe, Jane","said ""hi""\nthen left",+86 138 0013 8000\r\nplain,,x\n\n"last","multi\r\nline"';

describe('LenientCsvParser', () => {
  it('reads quoted commas, doubled quotes and line breaks, numbering records by their first line', () => {
    const { records } = parse([CSV]);
    expect(records).toEqual([
      { line: 1, cells: ['name', 'note', 'phone'] },
      { line: 2, cells: ['Doe, Jane', 'said "hi"\nthen left', '+86 138 0013 8000'] },
      { line: 4, cells: ['plain', '', 'x'] },
      { line: 6, cells: ['last', 'multi\r\nline'] },
    ]);
  });

  it('gives the same records however the input is chunked', () => {
    const whole = parse([CSV]);
    expect(parse(Array.from({ length: CSV.length }, (_, i) => CSV.charAt(i)))).toEqual(whole);
    for (let cut = 1; cut < CSV.length; cut += 7) expect(parse([CSV.slice(0, cut), CSV.slice(cut)])).toEqual(whole);
  });

  it('is lenient where the audit reader is strict', () => {
    expect(parse(['a"b,c\n']).records).toEqual([{ line: 1, cells: ['a"b', 'c'] }]);
    expect(parse(['"ab"cd,e\n']).records).toEqual([{ line: 1, cells: ['abcd', 'e'] }]);
    expect(parse(['a,b\rc,d\r\ne']).records).toEqual([
      { line: 1, cells: ['a', 'b'] },
      { line: 1, cells: ['c', 'd'] },
      { line: 2, cells: ['e'] },
    ]);
    expect(parse(['x,"never\nclosed,y']).records).toEqual([{ line: 1, cells: ['x', 'never\nclosed,y'] }]);
    expect(parse(['a,\n""\n']).records).toEqual([
      { line: 1, cells: ['a', ''] },
      { line: 2, cells: [''] },
    ]);
  });

  it('hands over an oversized cell in overlapping pieces and keeps its record line', () => {
    const big = 'abcdefghij'.repeat(10);
    const { records, pieces } = parse([`h\n"${big}",z\n`], { maxCellChars: 30, overlapChars: 5 });
    expect(records).toEqual([{ line: 1, cells: ['h'] }, { line: 2, cells: ['z'] }]);
    expect(pieces.every((p) => p.line === 2 && p.column === 0 && p.text.length <= 30)).toBe(true);
    // Stitched back without the overlaps, the pieces are the cell.
    const stitched = pieces.map((p, i) => (i === 0 ? p.text : p.text.slice(5))).join('');
    expect(stitched).toBe(big);
  });

  it('reads nothing from empty input and only blank records from blank lines', () => {
    expect(parse(['']).records).toEqual([]);
    expect(parse(['\n\r\n\n']).records).toEqual([]);
  });
});
