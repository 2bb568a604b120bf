/**
 * A lenient, streaming RFC 4180 reader for the scanner: quoted fields with `""` escapes, commas
 * and line breaks inside; records numbered by the line (LF) they start on.
 *
 * Not the audit reader (src/audit/csv.ts): that one must refuse anything ambiguous, because an
 * export is evidence. A scan must read whatever a service wrote and never stop early, so here
 * a quote inside an unquoted field is text, text after a closing quote joins the field, a bare CR
 * ends a record, and an unterminated quote runs to the end of the file. Memory stays bounded: a
 * cell longer than `maxCellChars` is handed over in overlapping pieces (like long lines).
 */

export const MAX_CELL_CHARS = 16 * 1024 * 1024;
const OVERLAP_CHARS = 4096;

export interface CsvHandler {
  /** A cell (0-based `column`) of the record starting at `line`; `piece`: part of an oversized cell. */
  cell(text: string, column: number, line: number, piece: boolean): void;
  /** The end of a record; `blank` when it was an empty line. */
  endRecord(line: number, blank: boolean): void;
}

const COMMA = 0x2c;
const QUOTE = 0x22;
const CR = 0x0d;
const LF = 0x0a;

const enum State {
  FieldStart,
  Unquoted,
  Quoted,
  QuoteInQuoted,
}

export class LenientCsvParser {
  readonly #handler: CsvHandler;
  readonly #maxCellChars: number;
  readonly #overlap: number;
  #state: State = State.FieldStart;
  #line = 1;
  #recordLine = 1;
  #column = 0;
  #field = '';
  /** The current cell was already handed over in part. */
  #split = false;
  /** The record so far has content (a quote, a comma, a character). */
  #inRecord = false;
  /** The last record ended with a CR: an LF right after belongs to it. */
  #afterCr = false;

  constructor(handler: CsvHandler, options: { maxCellChars?: number; overlapChars?: number } = {}) {
    this.#handler = handler;
    this.#maxCellChars = options.maxCellChars ?? MAX_CELL_CHARS;
    this.#overlap = Math.min(options.overlapChars ?? OVERLAP_CHARS, this.#maxCellChars >> 1);
  }

  push(chunk: string): void {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.#afterCr) {
        this.#afterCr = false;
        if (chunk.charCodeAt(i) === LF) {
          this.#line++;
          i++;
          continue;
        }
      }
      switch (this.#state) {
        case State.FieldStart:
          if (!this.#inRecord) this.#recordLine = this.#line;
          if (chunk.charCodeAt(i) === QUOTE) {
            this.#state = State.Quoted;
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
            if (c === COMMA || c === LF || c === CR) break;
          }
          this.#append(chunk.slice(start, i));
          if (i === n) continue;
          this.#inRecord ||= i > start;
          if (c === COMMA) this.#endField();
          else this.#endRecordAt(c);
          i++;
          continue;
        }
        case State.Quoted: {
          const quote = chunk.indexOf('"', i);
          const end = quote === -1 ? n : quote;
          for (let lf = chunk.indexOf('\n', i); lf !== -1 && lf < end; lf = chunk.indexOf('\n', lf + 1)) this.#line++;
          this.#append(chunk.slice(i, end));
          if (quote !== -1) this.#state = State.QuoteInQuoted;
          i = end + 1;
          continue;
        }
        case State.QuoteInQuoted: {
          const c = chunk.charCodeAt(i);
          if (c === QUOTE) {
            this.#append('"');
            this.#state = State.Quoted;
            i++;
          } else if (c === COMMA) {
            this.#endField();
            i++;
          } else if (c === LF || c === CR) {
            this.#endRecordAt(c);
            i++;
          } else {
            // Text after a closing quote: keep it as part of the field.
            this.#state = State.Unquoted;
          }
          continue;
        }
      }
    }
  }

  /** The end of the input: the last record, if it had no line break. */
  end(): void {
    if (this.#inRecord || this.#field.length > 0 || this.#split || this.#column > 0) {
      this.#endField();
      this.#handler.endRecord(this.#recordLine, false);
    }
    this.#reset();
  }

  #append(text: string): void {
    if (text.length === 0) return;
    this.#field += text;
    if (this.#field.length > this.#maxCellChars) this.#flushPieces();
  }

  #flushPieces(): void {
    while (this.#field.length > this.#maxCellChars) {
      let end = this.#maxCellChars;
      // Never cut a surrogate pair.
      if (isHighSurrogate(this.#field.charCodeAt(end - 1))) end--;
      this.#handler.cell(this.#field.slice(0, end), this.#column, this.#recordLine, true);
      this.#split = true;
      let from = end - this.#overlap;
      if (isLowSurrogate(this.#field.charCodeAt(from))) from--;
      this.#field = this.#field.slice(from);
    }
  }

  #endField(): void {
    this.#handler.cell(this.#field, this.#column, this.#recordLine, this.#split);
    this.#field = '';
    this.#split = false;
    this.#column++;
    this.#inRecord = true;
    this.#state = State.FieldStart;
  }

  #endRecordAt(c: number): void {
    const blank = !this.#inRecord && this.#column === 0 && this.#field.length === 0;
    if (!blank) this.#endField();
    this.#handler.endRecord(this.#recordLine, blank);
    this.#reset();
    if (c === LF) this.#line++;
    else this.#afterCr = true;
  }

  #reset(): void {
    this.#column = 0;
    this.#field = '';
    this.#split = false;
    this.#inRecord = false;
    this.#state = State.FieldStart;
  }
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}
