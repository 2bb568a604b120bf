/**
 * Scans a file that is not an SQLite database, however its content is stored:
 *
 * - gzip: decompressed as a stream, and the decompressed content scanned like any file (its
 *   format told from its own first bytes, and from the name without `.gz`).
 * - zip, zstd, bzip2, xz (and any compression inside gzip): not readable here. Scanned as binary
 *   (the bytes as stored), with a note and `complete: false`: decompress it and scan again.
 * - UTF-16 with a byte-order mark: decoded to text as a stream, then scanned as text.
 * - binary: matched whole (a face photo or voice clip saved as a file, at most 64 MiB) and read
 *   for text line by line; nothing else in it is read, which a note says. A binary file named like
 *   a database (`.db`, `.sqlite`) has no SQLite header, so it is probably encrypted (SQLCipher):
 *   `complete: false`.
 */
import { readFile } from 'node:fs/promises';
import { HEAD_BYTES, detectFormat } from './detect.js';
import type { FindingSink } from './findings.js';
import { compressionOf, hasDatabaseName, nameInsideGzip, textEncodingOf, utf16HeadAsUtf8, type Compression } from './magic.js';
import type { ProgressTicker } from './progress.js';
import { gunzippedHead, gunzippedWhole, openContent, type ContentSource } from './source.js';
import { scanCsv, scanLines } from './text-scan.js';
import type { ScanFormat } from './types.js';
import type { ValueScanner } from './values.js';

/** Binary files up to this size (decompressed) are matched as one byte string. */
export const MAX_WHOLE_FILE_BYTES = 64 * 1024 * 1024;

export interface ContentScanResult {
  readonly format: ScanFormat;
  readonly units: number;
  readonly notes: string[];
  readonly complete: boolean;
}

interface Context {
  readonly path: string;
  readonly size: number;
  readonly gzip: boolean;
  readonly values: ValueScanner;
  readonly sink: FindingSink;
  readonly ticker: ProgressTicker;
}

const BINARY_NOTE = 'binary content: matched whole as an image or audio clip and its text read line by line; nothing else in it is read';

/** Scans a non-SQLite file whose first bytes are `head`. */
export async function scanContent(path: string, size: number, head: Buffer, values: ValueScanner, sink: FindingSink, ticker: ProgressTicker): Promise<ContentScanResult> {
  if (compressionOf(head) === 'gzip') {
    const inner = await gunzippedHead(path, HEAD_BYTES);
    const result = await scanDecoded(inner, { path, size, gzip: true, values, sink, ticker });
    return { ...result, notes: ['gzip-compressed: scanned decompressed', ...result.notes] };
  }
  return scanDecoded(head, { path, size, gzip: false, values, sink, ticker });
}

/** Scans the content (decompressed when gzip) whose first bytes are `head`. */
async function scanDecoded(head: Buffer, ctx: Context): Promise<ContentScanResult> {
  const compression = compressionOf(head);
  if (compression !== undefined) return scanCompressed(compression, ctx);
  const encoding = textEncodingOf(head);
  const name = ctx.gzip ? nameInsideGzip(ctx.path) : ctx.path;
  const format = encoding === undefined ? detectFormat(name, head) : detectFormat(name, utf16HeadAsUtf8(head, encoding), head.length >= HEAD_BYTES);
  const notes = encoding === undefined ? [] : [`${encoding.toUpperCase()} text: decoded, then scanned`];
  // Opened only when read: an unread stream would hold its file open.
  const source = (): ContentSource => openContent(ctx.path, { gzip: ctx.gzip, encoding });
  if (format === 'csv') {
    const r = await scanCsv(source(), ctx.values, ctx.sink, ctx.ticker);
    return { format, units: r.units, notes: [...notes, ...r.notes], complete: true };
  }
  if (format === 'jsonl' || format === 'text') {
    const r = await scanLines(source(), format, ctx.values, ctx.sink, ctx.ticker);
    return { format, units: r.units, notes: [...notes, ...r.notes], complete: true };
  }
  if (format === 'sqlite') {
    // Only inside gzip (an SQLite file as stored is scanned by its tables): SQLite cannot open it.
    const r = await scanLines(source(), 'binary', ctx.values, ctx.sink, ctx.ticker);
    return { format: 'binary', units: r.units, notes: ['not scanned as a database: an SQLite database inside gzip, only its text read line by line; decompress it and scan again', ...r.notes], complete: false };
  }
  const r = await scanBinary(source, ctx);
  if (!ctx.gzip && hasDatabaseName(ctx.path)) {
    const note = 'not scanned as a database: named like one but without an SQLite header (encrypted, e.g. SQLCipher, or another format); decrypt or export it and scan again';
    return { ...r, notes: [note, ...notes, ...r.notes], complete: false };
  }
  return { ...r, notes: [...notes, BINARY_NOTE, ...r.notes] };
}

/** A compression the scanner cannot read: the bytes as stored are scanned as binary. */
async function scanCompressed(compression: Compression, ctx: Context): Promise<ContentScanResult> {
  const r = await scanBinary(() => openContent(ctx.path, { gzip: ctx.gzip }), ctx);
  const note = `not scanned: ${compression}-compressed${ctx.gzip ? ' (inside gzip)' : ''}; decompress it and scan again`;
  return { ...r, notes: [note, ...r.notes], complete: false };
}

/** Binary content: matched as one byte string when small enough, and read as text lines. */
async function scanBinary(source: () => ContentSource, ctx: Context): Promise<ContentScanResult> {
  const notes: string[] = [];
  const whole = ctx.size > MAX_WHOLE_FILE_BYTES ? undefined : ctx.gzip ? await gunzippedWhole(ctx.path, MAX_WHOLE_FILE_BYTES) : await readFile(ctx.path);
  if (whole === undefined) {
    notes.push(`larger than 64 MiB${ctx.gzip ? ' decompressed' : ''}: not matched as one image or audio clip, only read as text`);
  } else {
    ctx.sink.atFile();
    ctx.values.bytes(whole, undefined);
  }
  const r = await scanLines(source(), 'binary', ctx.values, ctx.sink, ctx.ticker);
  return { format: 'binary', units: r.units, notes: [...notes, ...r.notes], complete: true };
}
