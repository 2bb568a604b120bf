/**
 * Scans text in constant memory: JSON Lines (each record walked, a broken line matched as plain
 * text), CSV (each cell, named by its header column), and plain text or logs (each line). The
 * text comes from a `ContentSource`: a file as stored, gunzipped, or decoded from UTF-16.
 *
 * Binary files that are not SQLite are matched as a whole against the blind index — a face photo
 * or voice clip saved as a file — when at most 64 MiB (bigger ones are not single images or
 * clips), and also read as text lines, since binary formats (dumps, archives without compression)
 * often carry text fields verbatim (src/scan/content-scan.ts).
 */
import { StringDecoder } from 'node:string_decoder';
import { isPrintableName } from '../guard/printable.js';
import { LenientCsvParser } from './csv-records.js';
import { isHeaderCell } from './detect.js';
import type { FindingSink } from './findings.js';
import { readLines } from './lines.js';
import type { ProgressTicker } from './progress.js';
import type { ContentSource } from './source.js';
import type { ValueScanner } from './values.js';

/** Line numbers listed in a note before "…": enough to find the problem, short enough to read. */
const LISTED_LINES = 5;

export interface TextScanResult {
  readonly units: number;
  readonly notes: string[];
}

/** Collects line numbers for one note: "3 lines were not valid JSON (2, 9, 14)". */
class LineNote {
  readonly #lines: number[] = [];
  #count = 0;

  add(line: number): void {
    if (this.#lines.at(-1) === line) return;
    this.#count++;
    if (this.#lines.length < LISTED_LINES) this.#lines.push(line);
  }

  write(notes: string[], what: (count: number) => string): void {
    if (this.#count === 0) return;
    notes.push(`${what(this.#count)} (line${this.#count === 1 ? '' : 's'} ${this.#lines.join(', ')}${this.#count > this.#lines.length ? ', …' : ''})`);
  }
}

/** JSON Lines, plain text, or the text side of a binary file. */
export async function scanLines(source: ContentSource, format: 'jsonl' | 'text' | 'binary', values: ValueScanner, sink: FindingSink, ticker: ProgressTicker): Promise<TextScanResult> {
  const notes: string[] = [];
  const broken = new LineNote();
  const split = new LineNote();
  const lines = await readLines(
    source.chunks,
    (text, line, piece) => {
      if (text.length === 0) return;
      sink.atLine(line);
      if (piece) {
        split.add(line);
        values.line(text);
        return;
      }
      if (format === 'jsonl') {
        const parsed = parseJsonLine(text);
        if (parsed.ok) {
          values.jsonText(parsed.value, text, '$', undefined);
          return;
        }
        if (text.trim() === '') return;
        broken.add(line);
      }
      values.line(text);
    },
    { onChunk: () => ticker.pulse(source.bytesRead()) },
  );
  broken.write(notes, (n) => `${n} line(s) not valid JSON, scanned as plain text`);
  split.write(notes, (n) => `${n} line(s) longer than 16 MiB, scanned as plain text in overlapping pieces`);
  return { units: lines, notes };
}

function parseJsonLine(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

/**
 * The names reports show for the columns of a CSV header: a header cell when it is a plain
 * identifier (src/guard/printable.ts), else null (`column N`) — a header that is really a first
 * row of data (a child's name) must not be printed.
 */
function printableHeader(cells: readonly string[]): (string | null)[] {
  return cells.map((cell) => {
    const name = cell.trim();
    return isPrintableName(name) ? name : null;
  });
}

/** A CSV column as reports show it: its header name when printable, else `column N`. */
function columnName(header: readonly (string | null)[] | null, column: number): string {
  return header?.[column] ?? `column ${column + 1}`;
}

/**
 * CSV: the first record names the columns when it looks like a header (name-like cells, none of
 * which the matcher flags); its cells are scanned too, reported by position. A header name that
 * is not a plain identifier is never printed: that column is reported by position.
 */
export async function scanCsv(source: ContentSource, values: ValueScanner, sink: FindingSink, ticker: ProgressTicker): Promise<TextScanResult> {
  const notes: string[] = [];
  const split = new LineNote();
  let header: (string | null)[] | null = null;
  /** Header names not printable (so those columns are reported by position). */
  let hidden = 0;
  let first = true;
  let firstCells: string[] = [];
  /** A cell of the first record was too long to be a column name. */
  let firstOversized = false;
  const findingsBefore = sink.count;
  let records = 0;
  const parser = new LenientCsvParser({
    cell(text, column, line, piece) {
      sink.atLine(line);
      if (piece) split.add(line);
      if (first) {
        if (piece) firstOversized = true;
        else firstCells.push(text);
        values.text(text, `column ${column + 1}`, `column ${column + 1}:$`);
        return;
      }
      const name = columnName(header, column);
      values.text(text, name, `${name}:$`);
    },
    endRecord(_line, blank) {
      if (blank) return;
      records++;
      if (first) {
        first = false;
        if (sink.count === findingsBefore && !firstOversized && firstCells.length > 0 && firstCells.every(isHeaderCell)) {
          header = printableHeader(firstCells);
          hidden = header.filter((name) => name === null).length;
        }
        firstCells = [];
      }
    },
  });
  const decoder = new StringDecoder('utf8');
  let bom = true;
  for await (const data of source.chunks) {
    let text = decoder.write(data);
    if (bom && text.length > 0) {
      bom = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    parser.push(text);
    await ticker.pulse(source.bytesRead());
  }
  parser.push(decoder.end());
  parser.end();
  if (header === null && records > 0) notes.push('no header row naming the columns: columns are reported by position');
  if (hidden > 0) notes.push(`${hidden} header name(s) not shown, since they could be data: those columns are reported by position`);
  split.write(notes, (n) => `${n} record(s) with a cell longer than 16 MiB, scanned in overlapping pieces`);
  return { units: records, notes };
}
