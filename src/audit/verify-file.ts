/**
 * Verifies an audit export file offline, with only the vault's public key: the regulator's side
 * of docs/audit.md, "Verification".
 *
 * Why it is built this way: the file is untrusted input of any size. It is read in chunks with
 * one line (or CSV record) in memory at a time, every record is validated by its schema and must
 * be exactly the text the vault writes for it (see export-format.ts), and the chain goes through
 * `ChainVerifier` — the same checks as the live log (export-checker.ts holds the checks that do
 * not depend on the format; this module reads the two formats). Whatever the file holds, the
 * result is a report: the first problem, its seq when it has one and its line; never a crash,
 * and never the file's contents in a message.
 */
import { isAscii, isUtf8 } from 'node:buffer';
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { loadSodium } from '../crypto/sodium.js';
import { isVaultError, needs, VaultError } from '../errors.js';
import { CsvParser, CsvSyntaxError } from './csv.js';
import type { EntryRow } from './entry.js';
import { ExportChecker, typeOf, validate, type FileVerifyReport, type WrittenForm } from './export-checker.js';
import {
  chainCsvCells,
  chainJsonLine,
  checkpointCsvCells,
  checkpointJsonLine,
  CSV_COLUMNS,
  CSV_COLUMNS_V1,
  CSV_HEADER,
  CSV_HEADER_V1,
  csvCellsToRecord,
  elidedCsvCells,
  elidedJsonLine,
  entryCsvCells,
  entryJsonFieldAt,
  entryJsonLine,
  EXPORT_FORMAT,
  EXPORT_FORMAT_V1,
  headerCsvCells,
  headerJsonLine,
  type ChainLine,
  type CheckpointLine,
  type ElidedLine,
  type HeaderLine,
} from './export-format.js';
import { scanEntryCells, scanEntryLine } from './export-scan.js';

export type { FileVerifyReport } from './export-checker.js';

/** The longest line (or CSV record) read: 1 MiB (bytes, or CSV characters). An export's longest is ~70 KB. */
export const MAX_LINE_BYTES = 1024 * 1024;
const READ_CHUNK_BYTES = 1024 * 1024;
const CSV_SLICE_BYTES = 64 * 1024;

/** The index of the first character where `a` and `b` differ (the shorter's length if one is a prefix of the other). */
function firstDifference(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

/** The written form of JSON Lines: the line itself. */
class JsonForm implements WrittenForm {
  text = '';
  #where(expected: string): string | null {
    return expected === this.text ? null : `character ${firstDifference(expected, this.text) + 1}`;
  }
  header(h: HeaderLine): string | null {
    return this.#where(headerJsonLine(h));
  }
  chain(c: ChainLine): string | null {
    return this.#where(chainJsonLine(c.seq, c.hash));
  }
  entry(r: EntryRow): string | null {
    const expected = entryJsonLine(r);
    return expected === this.text ? null : `field ${entryJsonFieldAt(r, firstDifference(expected, this.text))}`;
  }
  elided(e: ElidedLine): string | null {
    return this.#where(elidedJsonLine(e.from, e.digests));
  }
  checkpoint(c: CheckpointLine): string | null {
    return this.#where(checkpointJsonLine(c));
  }
}

/** Null when the cells are the expected ones, else the column of the first that differs. */
function differingColumn(expected: readonly (string | null)[], actual: readonly string[]): string | null {
  for (let i = 0; i < expected.length; i++) if ((expected[i] ?? '') !== actual[i]) return `column ${CSV_COLUMNS[i] ?? i + 1}`;
  return expected.length === actual.length ? null : `column ${expected.length + 1}`;
}

function sameCells(expected: readonly (string | null)[], actual: readonly string[]): boolean {
  return differingColumn(expected, actual) === null;
}

/**
 * The written form of CSV: the cells. Quoting is held to the writer's too, but by the parser
 * (a cell is quoted exactly when it holds a comma, a quote or a line break).
 */
class CsvForm implements WrittenForm {
  cells: readonly string[] = [];
  header(h: HeaderLine): string | null {
    return differingColumn(headerCsvCells(h), this.cells);
  }
  chain(c: ChainLine): string | null {
    return differingColumn(chainCsvCells(c.seq, c.hash), this.cells);
  }
  entry(r: EntryRow): string | null {
    return differingColumn(entryCsvCells(r), this.cells);
  }
  elided(e: ElidedLine): string | null {
    return differingColumn(elidedCsvCells(e.from, e.digests), this.cells);
  }
  checkpoint(c: CheckpointLine): string | null {
    return differingColumn(checkpointCsvCells(c), this.cells);
  }
}

const ENTRY_LINE_START = '{"type":"entry",';

/** One JSON Lines line. */
function checkJsonLine(checker: ExportChecker, form: JsonForm, text: string, line: number): void {
  checker.lastLine = line;
  if (text.startsWith(ENTRY_LINE_START)) {
    // Nearly every line: an entry exactly as written. Anything else takes the general path below.
    const row = scanEntryLine(text);
    if (row !== null) {
      if (checker.expectType('entry', line)) checker.record({ type: 'entry', data: { row, written: true } }, line, form);
      return;
    }
  }
  if (text === '') {
    checker.fail(line, `line ${line} is empty`);
    return;
  }
  // Compact JSON starts and ends with a brace: no whitespace to hide an edit in.
  if (text.charCodeAt(0) !== 0x7b || text.charCodeAt(text.length - 1) !== 0x7d) {
    checker.fail(line, `line ${line} is not a JSON object on one line`);
    return;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    checker.fail(line, `line ${line} is not valid JSON`);
    return;
  }
  const type = typeOf(value);
  if (!checker.expectType(type, line)) return;
  const record = validate(checker, type, value, line, false);
  if (record === null) return;
  form.text = text;
  checker.record(record, line, form);
}

/**
 * The CSV columns of each version, by header row. Version 1's are version 2's but for the last,
 * `format`: a version 1 record is read as the version 2 record with that cell implied — the
 * version 1 name in the header record, empty in the others.
 */
const CSV_VERSIONS = [
  { columns: CSV_COLUMNS, format: EXPORT_FORMAT },
  { columns: CSV_COLUMNS_V1, format: EXPORT_FORMAT_V1 },
] as const;

type CsvVersion = (typeof CSV_VERSIONS)[number];

const FORMAT_COLUMN = CSV_COLUMNS.indexOf('format');

/** One CSV record (after the header row), with the columns its header row named. */
function checkCsvRecord(checker: ExportChecker, form: CsvForm, cells: string[], line: number, version: CsvVersion): void {
  checker.lastLine = line;
  if (cells.length === 1 && cells[0] === '') {
    checker.fail(line, `line ${line} is empty`);
    return;
  }
  if (cells.length !== version.columns.length) {
    checker.fail(line, `line ${line} has ${cells.length} cells; an export record has ${version.columns.length}`);
    return;
  }
  const type = cells[0] ?? '';
  if (!checker.expectType(type, line)) return;
  if (version.format === EXPORT_FORMAT_V1) cells.push(type === 'header' ? EXPORT_FORMAT_V1 : '');
  else if (type === 'header' && cells[FORMAT_COLUMN] !== version.format) {
    // These columns are version 2's: its header record cannot claim another version's rules.
    checker.fail(line, `line ${line}: column format must be ${version.format} under this CSV header row`);
    return;
  }
  if (type === 'entry') {
    // Nearly every record: an entry exactly as written. Anything else takes the general path below.
    const row = scanEntryCells(cells);
    if (row !== null) {
      checker.record({ type: 'entry', data: { row, written: true } }, line, form);
      return;
    }
  }
  let value: Record<string, unknown>;
  try {
    value = csvCellsToRecord(type, cells);
  } catch (error) {
    if (!isVaultError(error, 'VALIDATION')) throw error;
    checker.fail(line, `line ${line}: ${error.message}`);
    return;
  }
  const record = validate(checker, type, value, line, true);
  if (record === null) return;
  form.cells = cells;
  checker.record(record, line, form);
}

/**
 * The file's bytes in chunks, with progress. One buffer is read into again and again (no memory
 * churn however large the file): a chunk is valid until the next one is asked for, so consumers
 * copy what they keep. Errors opening the file become NOT_FOUND.
 */
async function* readChunks(path: string, total: number, onProgress?: (done: number, total: number) => void): AsyncGenerator<Buffer> {
  let handle: FileHandle;
  try {
    handle = await fs.open(path, 'r');
  } catch {
    throw new VaultError('NOT_FOUND', `export file ${path} cannot be read`, { field: 'file' });
  }
  const buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES);
  let done = 0;
  try {
    for (;;) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(buffer, 0, buffer.length, null));
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        throw new VaultError('STORAGE', `reading export file ${path} failed${typeof code === 'string' ? ` (${code})` : ''}`, { field: 'file' });
      }
      if (bytesRead === 0) return;
      done += bytesRead;
      yield buffer.subarray(0, bytesRead);
      onProgress?.(done, total);
    }
  } finally {
    await handle.close();
  }
}

/**
 * Feeds JSON Lines to the checker, line by line (a CR before the LF is dropped; a last line
 * without its LF is taken as it is). Lines are cut from the bytes — an LF byte is never part of a
 * multi-byte UTF-8 character — and each is decoded on its own: all-ASCII chunks (an export
 * normally is) as Latin-1, which is much faster and gives flat strings that scan fast.
 */
async function checkJsonLines(checker: ExportChecker, chunks: AsyncIterable<Buffer>): Promise<void> {
  const form = new JsonForm();
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let line = 0;
  /** The line's text without a CR before its LF; null when it is not UTF-8 (decoding would replace bytes, so two files could read alike). */
  const decode = (bytes: Buffer, start: number, end: number, ascii: boolean): string | null => {
    const stop = end > start && bytes[end - 1] === 0x0d ? end - 1 : end;
    if (!ascii && !isUtf8(bytes.subarray(start, stop))) return null;
    return bytes.toString(ascii ? 'latin1' : 'utf8', start, stop);
  };
  const tooLong = (n: number): void => {
    checker.fail(n, `line ${n} is longer than 1 MiB: it is not an export record`);
  };
  const check = (text: string | null): void => {
    line++;
    if (text === null) checker.fail(line, `line ${line} is not valid UTF-8`);
    else checkJsonLine(checker, form, text, line);
  };
  for await (const chunk of chunks) {
    const ascii = isAscii(chunk);
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
      // Every line, whole or not: a line that ends inside this chunk can be over the limit too.
      if (pendingBytes + nl - start > MAX_LINE_BYTES) {
        tooLong(line + 1);
        return;
      }
      let text: string | null;
      if (pending.length > 0) {
        const whole = Buffer.concat([...pending, chunk.subarray(0, nl)]);
        text = decode(whole, 0, whole.length, isAscii(whole));
        pending = [];
        pendingBytes = 0;
      } else {
        text = decode(chunk, start, nl, ascii);
      }
      check(text);
      if (checker.failed) return;
      start = nl + 1;
    }
    if (start < chunk.length) {
      pending.push(Buffer.from(chunk.subarray(start))); // a copy: the chunk's buffer is read into again
      pendingBytes += chunk.length - start;
      if (pendingBytes > MAX_LINE_BYTES) {
        tooLong(line + 1);
        return;
      }
    }
  }
  if (pending.length > 0) {
    // The last line, without its LF: a CR there is not a line ending, and stays part of the line.
    const whole = Buffer.concat(pending);
    const ascii = isAscii(whole);
    check(ascii || isUtf8(whole) ? whole.toString(ascii ? 'latin1' : 'utf8') : null);
  }
}

/**
 * Text of UTF-8 byte chunks (a character split between chunks is kept whole), in pieces of at most
 * {@link CSV_SLICE_BYTES}: small strings live on V8's heap and die young, while big ones are
 * kept outside it until a full collection — the CSV cells, slices of them, would hold them.
 */
async function* decodeChunks(chunks: AsyncIterable<Buffer>): AsyncGenerator<string> {
  // Fatal: invalid UTF-8 would be replaced by U+FFFD, so two different files would read alike.
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for await (const chunk of chunks) {
    for (let at = 0; at < chunk.length; at += CSV_SLICE_BYTES) {
      const text = decoder.decode(chunk.subarray(at, at + CSV_SLICE_BYTES), { stream: true });
      if (text !== '') yield text;
    }
  }
  const rest = decoder.decode();
  if (rest !== '') yield rest;
}

async function* prepend(first: Buffer, rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield first;
  for (let r = await rest.next(); r.done !== true; r = await rest.next()) yield r.value;
}

/** The format, from the first bytes of the file. */
function detectFormat(start: Buffer): 'jsonl' | 'csv' | null {
  if (start[0] === 0x7b) return 'jsonl';
  if (start.subarray(0, 5).toString('latin1') === 'type,') return 'csv';
  return null;
}

/**
 * Verifies the export at `path` against the vault's public key (32 bytes), reading it once in
 * constant memory. Never throws for bad content — the report says what is wrong and on which
 * line; throws NOT_FOUND when the file cannot be read.
 *
 * @example
 *   const report = await verifyAuditExportFile('audit.jsonl', publicKey);
 *   if (!report.ok) console.log(`line ${report.line}: ${report.problem?.message}`);
 */
export async function verifyAuditExportFile(path: string, publicKey: Uint8Array, onProgress?: (done: number, total: number) => void): Promise<FileVerifyReport> {
  /* Precondition: an Ed25519 public key (32 bytes). */
  needs(publicKey instanceof Uint8Array && publicKey.length === 32, 'VALIDATION', 'the public key must be 32 bytes (64 hex characters)', 'publicKey');
  let size: number;
  try {
    const stat = await fs.stat(path);
    if (!stat.isFile()) throw new VaultError('NOT_FOUND', `export file ${path} is not a regular file`, { field: 'file' });
    size = stat.size;
  } catch (error) {
    if (isVaultError(error)) throw error;
    throw new VaultError('NOT_FOUND', `export file ${path} cannot be read`, { field: 'file' });
  }

  // Callable before any vault is opened (a regulator's machine never opens one).
  await loadSodium();
  const checker = new ExportChecker(publicKey);
  const chunks = readChunks(path, size, onProgress);
  try {
    const first = await chunks.next();
    if (first.done === true) return checker.finish(null);
    const format = detectFormat(first.value);
    if (format === null) {
      checker.fail(1, 'line 1 is neither a JSON Lines export header nor the CSV header row: the file is not an audit export');
      return checker.finish(null);
    }
    const all = prepend(first.value, chunks);
    if (format === 'jsonl') await checkJsonLines(checker, all);
    else await checkCsv(checker, decodeChunks(all));
    return checker.finish(format);
  } finally {
    await chunks.return(undefined);
  }
}

async function checkCsv(checker: ExportChecker, chunks: AsyncIterable<string>): Promise<void> {
  const parser = new CsvParser({ maxRecordChars: MAX_LINE_BYTES, minimalQuotes: true, columns: CSV_COLUMNS });
  const form = new CsvForm();
  let version: CsvVersion | null = null;
  const onRecord = (cells: string[], line: number): void => {
    if (version === null) {
      checker.lastLine = line;
      version = CSV_VERSIONS.find((v) => sameCells(v.columns, cells)) ?? CSV_VERSIONS[0];
      if (!sameCells(version.columns, cells)) checker.fail(line, `line ${line}: the CSV header row is not the export's columns (${CSV_HEADER}, or in format 1 ${CSV_HEADER_V1})`);
      return;
    }
    checkCsvRecord(checker, form, cells, line, version);
  };
  try {
    for await (const text of chunks) {
      for (const r of parser.push(text)) {
        onRecord(r.record, r.line);
        if (checker.failed) return;
      }
    }
    for (const r of parser.end()) onRecord(r.record, r.line);
  } catch (error) {
    if (error instanceof CsvSyntaxError) checker.fail(error.line, error.message);
    else if (error instanceof TypeError && (error as { code?: unknown }).code === 'ERR_ENCODING_INVALID_ENCODED_DATA') checker.fail(parser.line, `line ${parser.line} is not valid UTF-8`);
    else throw error;
  }
}
