/**
 * RFC 4180 CSV for audit exports: a writer for one record and a streaming, strict reader.
 *
 * Why our own: an export is evidence, so the reader must reproduce every cell byte for byte
 * (quoted fields may hold commas, quotes and line breaks — CR, LF or CRLF, kept as written) and
 * must refuse anything ambiguous rather than guess: an unterminated quote, text after a closing
 * quote, a quote inside an unquoted field, a bare CR between records. `readline` cannot do this
 * (it drops the line terminators a quoted field contains), and a general CSV library guesses.
 *
 * The reader takes text in chunks of any size (file stream chunks, or lines with their
 * terminators), keeps at most one record in memory, and numbers lines by LF: a record's `line`
 * is the line it starts on. Records end with CRLF or LF; the last one may have no terminator.
 * With `minimalQuotes`, it also refuses a quoted cell that needs no quotes: then every cell has
 * one written form, the writer's (an export is held to the exact text the vault wrote).
 */
import { VaultError } from '../errors.js';

/** One CSV record: its cells, and the line (1-based, counted by LF) where it starts. */
export interface CsvRecord {
  readonly record: string[];
  readonly line: number;
}

/** Malformed CSV. `line` is where the bad record starts; the message never contains the input. */
export class CsvSyntaxError extends VaultError {
  readonly line: number;

  constructor(line: number, message: string) {
    super('VALIDATION', `line ${line}: ${message}`, { field: `line ${line}` });
    this.line = line;
  }
}

/** What makes a cell need quotes: a comma, a quote, CR or LF. */
export const NEEDS_QUOTES = /[",\r\n]/;

/** One cell in RFC 4180 form: quoted (with quotes doubled) only when it holds `,` `"` CR or LF. */
export function csvCell(cell: string | null): string {
  if (cell === null || cell === '') return '';
  return NEEDS_QUOTES.test(cell) ? `"${cell.replaceAll('"', '""')}"` : cell;
}

/**
 * One CSV record with its CRLF terminator. `null` and `''` both become an empty cell.
 *
 * @example csvLine(['a', 'b,c', null]) === 'a,"b,c",\r\n'
 */
export function csvLine(cells: readonly (string | null)[]): string {
  let out = '';
  for (let i = 0; i < cells.length; i++) out += (i === 0 ? '' : ',') + csvCell(cells[i] ?? null);
  return `${out}\r\n`;
}

const COMMA = 0x2c;
const QUOTE = 0x22;
const CR = 0x0d;
const LF = 0x0a;

/** Where the reader is within a record. */
const enum State {
  /** At the start of a field (also the start of a record). */
  FieldStart,
  /** Inside an unquoted field. */
  Unquoted,
  /** Inside a quoted field. */
  Quoted,
  /** Just read a quote inside a quoted field: a doubled quote, or the closing one. */
  QuoteInQuoted,
  /** Just read a CR between records: an LF must follow. */
  AfterCr,
}

export interface CsvParserOptions {
  /** The longest record accepted, in characters (default 1 MiB): bounds memory on hostile input. */
  readonly maxRecordChars?: number;
  /** Refuse a quoted cell that holds no comma, quote, CR or LF (as {@link csvCell} would not quote it). */
  readonly minimalQuotes?: boolean;
  /** Names of the columns, for messages (`column consent` rather than `cell 13`). */
  readonly columns?: readonly string[];
}

/**
 * A push parser: feed text with `push`, then call `end`. Both return the records completed so far
 * and throw {@link CsvSyntaxError} at the first malformed one.
 *
 * @example
 *   const p = new CsvParser();
 *   p.push('a,"b\r\nc"\r\nd,'); // [{ record: ['a', 'b\r\nc'], line: 1 }]
 *   p.end();                    // [{ record: ['d', ''], line: 3 }]
 */
export class CsvParser {
  readonly #maxRecordChars: number;
  readonly #minimalQuotes: boolean;
  readonly #columns: readonly string[];
  #state: State = State.FieldStart;
  /** The current field was quoted. */
  #quoted = false;
  #line = 1;
  #recordLine = 1;
  #cells: string[] = [];
  #field = '';
  /** Characters of the cells of the current record already ended (bounds memory). */
  #cellChars = 0;
  /** True once a record has any content (a cell, or an empty first field followed by a comma). */
  #inRecord = false;
  #ended = false;
  /** An error found after records that the same chunk completed: thrown on the next call. */
  #pendingError: CsvSyntaxError | null = null;

  constructor(options: CsvParserOptions = {}) {
    this.#maxRecordChars = options.maxRecordChars ?? 1024 * 1024;
    this.#minimalQuotes = options.minimalQuotes === true;
    this.#columns = options.columns ?? [];
  }

  /** The line the parser has reached (1-based). */
  get line(): number {
    return this.#line;
  }

  /**
   * Parses `chunk`; returns the records it completes. A syntax error after some complete records
   * is thrown by the next call, so records always arrive in order before the error.
   */
  push(chunk: string): CsvRecord[] {
    this.#throwPending();
    if (this.#ended) throw new Error('CsvParser.push after end');
    const out: CsvRecord[] = [];
    try {
      this.#parse(chunk, out);
    } catch (error) {
      if (!(error instanceof CsvSyntaxError) || out.length === 0) throw error;
      this.#pendingError = error;
    }
    return out;
  }

  #throwPending(): void {
    const error = this.#pendingError;
    if (error === null) return;
    this.#pendingError = null;
    this.#ended = true;
    throw error;
  }

  #parse(chunk: string, out: CsvRecord[]): void {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      switch (this.#state) {
        case State.FieldStart:
          if (this.#cells.length === 0 && !this.#inRecord) this.#recordLine = this.#line;
          if (chunk.charCodeAt(i) === QUOTE) {
            this.#state = State.Quoted;
            this.#quoted = true;
            this.#inRecord = true;
            i++;
          } else {
            this.#state = State.Unquoted;
          }
          continue;
        case State.Unquoted: {
          // Runs of plain characters are taken as one slice: most cells hold nothing special.
          const start = i;
          let c = 0;
          for (; i < n; i++) {
            c = chunk.charCodeAt(i);
            if (c === COMMA || c === LF || c === CR || c === QUOTE) break;
          }
          this.#field += chunk.slice(start, i);
          if (i === n) continue;
          if (c === QUOTE) throw new CsvSyntaxError(this.#recordLine, 'a quote inside an unquoted field (fields holding quotes must be quoted)');
          if (c === COMMA) this.#endField();
          else this.#finishRecordAt(c, out);
          i++;
          continue;
        }
        case State.Quoted: {
          const quote = chunk.indexOf('"', i);
          const end = quote === -1 ? n : quote;
          for (let lf = chunk.indexOf('\n', i); lf !== -1 && lf < end; lf = chunk.indexOf('\n', lf + 1)) this.#line++;
          this.#field += chunk.slice(i, end);
          if (quote !== -1) this.#state = State.QuoteInQuoted;
          i = end + 1;
          continue;
        }
        case State.QuoteInQuoted: {
          const c = chunk.charCodeAt(i);
          if (c === QUOTE) {
            // A doubled quote: one quote of content; the field goes on.
            this.#field += '"';
            this.#state = State.Quoted;
          } else if (c === COMMA) {
            this.#endField();
          } else if (c === LF || c === CR) {
            this.#finishRecordAt(c, out);
          } else {
            throw new CsvSyntaxError(this.#recordLine, 'text after a closing quote (a field must end at its closing quote)');
          }
          i++;
          continue;
        }
        case State.AfterCr:
          if (chunk.charCodeAt(i) !== LF) throw new CsvSyntaxError(this.#line, 'a carriage return not followed by a line feed outside a quoted field');
          this.#line++;
          this.#state = State.FieldStart;
          i++;
          continue;
      }
    }
    if (this.#cellChars + this.#field.length > this.#maxRecordChars) {
      throw new CsvSyntaxError(this.#recordLine, `a record longer than ${this.#maxRecordChars} characters: it is not an export record`);
    }
  }

  /** Ends the input; returns the last record if it had no terminator. */
  end(): CsvRecord[] {
    this.#throwPending();
    if (this.#ended) return [];
    this.#ended = true;
    switch (this.#state) {
      case State.Quoted:
        throw new CsvSyntaxError(this.#recordLine, 'a quoted field is not terminated (missing closing quote)');
      case State.AfterCr:
        throw new CsvSyntaxError(this.#line, 'a carriage return not followed by a line feed at the end of the input');
      case State.FieldStart:
        if (this.#cells.length === 0 && !this.#inRecord) return [];
        break;
      default:
        break;
    }
    this.#endField();
    return [this.#takeRecord()];
  }

  #endField(): void {
    if (this.#quoted) {
      this.#quoted = false;
      if (this.#minimalQuotes && !NEEDS_QUOTES.test(this.#field)) {
        const index = this.#cells.length;
        const name = this.#columns[index];
        throw new CsvSyntaxError(this.#recordLine, `${name === undefined ? `cell ${index + 1}` : `column ${name}`} is quoted but holds no comma, quote or line break (only such cells are quoted)`);
      }
    }
    this.#cells.push(this.#field);
    this.#cellChars += this.#field.length + 1;
    this.#field = '';
    this.#inRecord = true;
    this.#state = State.FieldStart;
  }

  /** Ends the record at a line terminator `c` (LF, or CR that must be followed by LF). */
  #finishRecordAt(c: number, out: CsvRecord[]): void {
    this.#endField();
    out.push(this.#takeRecord());
    if (c === LF) {
      this.#line++;
      this.#state = State.FieldStart;
    } else {
      this.#state = State.AfterCr;
    }
  }

  #takeRecord(): CsvRecord {
    if (this.#cellChars > this.#maxRecordChars + 1) throw new CsvSyntaxError(this.#recordLine, `a record longer than ${this.#maxRecordChars} characters: it is not an export record`);
    const record = { record: this.#cells, line: this.#recordLine };
    this.#cells = [];
    this.#inRecord = false;
    this.#cellChars = 0;
    return record;
  }
}

/**
 * Parses CSV text arriving in chunks of any size (a file stream, or lines *with* their
 * terminators) into records, holding one record in memory at a time.
 *
 * @example for await (const { record, line } of parseCsvRecords(createReadStream(path, 'utf8'))) …
 */
export async function* parseCsvRecords(chunks: AsyncIterable<string>, options: CsvParserOptions = {}): AsyncGenerator<CsvRecord> {
  const parser = new CsvParser(options);
  for await (const chunk of chunks) yield* parser.push(chunk);
  yield* parser.end();
}
