/**
 * Tells a file's format from its first bytes (the extension only breaks ties between text
 * formats): a file copied out of a service keeps its content, not always its name.
 *
 * - SQLite: the 16-byte header "SQLite format 3\0".
 * - binary: a NUL byte in the first 64 KiB, or an image/audio magic number followed by control
 *   bytes (so a text file that happens to start with "BM" stays text).
 * - jsonl: named .jsonl/.ndjson, or the first non-empty line is a JSON object or array.
 * - csv: named .csv, or the first line is a header (two or more name-like cells) and the second
 *   line, if any, has as many cells.
 * - text: everything else (logs, prose, pretty-printed JSON, which is matched line by line).
 *
 * Compressed and UTF-16 content is recognised before this (src/scan/magic.ts), and the format told
 * from the decompressed or decoded head.
 */
import { open } from 'node:fs/promises';
import { extname } from 'node:path';
import { mediaKind } from '../guard/patterns.js';
import { LenientCsvParser } from './csv-records.js';
import type { ScanFormat } from './types.js';

export const HEAD_BYTES = 64 * 1024;
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');
/** A CSV header cell: a column name, not a value (no digits-only cell, no punctuation of prose). */
const HEADER_CELL = /^[\p{L}_][\p{L}\p{N} _.\-/()#]{0,63}$/u;

/** The first bytes of the file (at most 64 KiB). */
export async function readHead(path: string): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await handle.read(buf, 0, HEAD_BYTES, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * The format of content whose first bytes are `head` (UTF-8 text, or bytes). `cut`: the head
 * ends inside the content, so its last line is incomplete (by default: it filled HEAD_BYTES).
 */
export function detectFormat(path: string, head: Buffer, cut = head.length >= HEAD_BYTES): ScanFormat {
  if (hasSqliteHeader(head)) return 'sqlite';
  if (looksBinary(head)) return 'binary';
  const ext = extname(path).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.csv') return 'csv';
  const lines = firstLines(head, cut);
  const first = lines.find((l) => l.trim() !== '');
  if (first === undefined) return 'text';
  const trimmed = first.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      const value: unknown = JSON.parse(trimmed);
      if (typeof value === 'object' && value !== null) return 'jsonl';
    } catch {
      // Not JSON: a log line that starts with a bracket.
    }
  }
  const [header, second] = csvRecords(lines.join('\n'), 2);
  if (header !== undefined && isCsvHeader(header) && (second === undefined || second.length === header.length)) return 'csv';
  return 'text';
}

/** True when `head` starts with the 16-byte header of an SQLite database. */
export function hasSqliteHeader(head: Buffer): boolean {
  return head.length >= SQLITE_HEADER.length && head.subarray(0, SQLITE_HEADER.length).equals(SQLITE_HEADER);
}

/** True when a cell of a first record names a column rather than holds a value. */
export function isHeaderCell(cell: string): boolean {
  return HEADER_CELL.test(cell.trim()) && !/\d{5}/.test(cell);
}

/** True when a first record is a CSV header: two or more cells naming columns. */
export function isCsvHeader(cells: readonly string[]): boolean {
  return cells.length >= 2 && cells.every(isHeaderCell);
}

function looksBinary(head: Buffer): boolean {
  if (head.includes(0)) return true;
  if (mediaKind(head) === undefined) return false;
  for (const b of head.subarray(0, 512)) if (b < 0x09 || (b > 0x0d && b < 0x20 && b !== 0x1b)) return true;
  return false;
}

/** The complete lines of `head` (a line cut by the end of the head is dropped), without CRs. */
function firstLines(head: Buffer, cut: boolean): string[] {
  let text = head.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split('\n');
  if (cut) lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

/** The first `n` non-blank CSV records of `text`. */
function csvRecords(text: string, n: number): string[][] {
  const records: string[][] = [];
  let cells: string[] = [];
  const parser = new LenientCsvParser({
    cell: (cell) => cells.push(cell),
    endRecord: (_line, blank) => {
      if (!blank && records.length < n) records.push(cells);
      cells = [];
    },
  });
  parser.push(text);
  parser.end();
  return records;
}
