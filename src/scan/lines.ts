/**
 * Reads a file line by line in constant memory. Not `readline`: it holds a whole line in memory
 * however long, so one 2 GB line (a minified dump, a binary file without newlines) would exhaust
 * the heap. Here a line longer than `maxLineBytes` is handed over in pieces of at most that size,
 * each overlapping the previous one by `overlapBytes`, so a value cut by a piece boundary is still
 * seen whole in one of the two pieces.
 *
 * Lines end at LF; a CR before it is dropped; a UTF-8 byte-order mark at the start is skipped.
 * Lines are numbered from 1. The input is a file path or a stream of chunks (a decompressed or
 * decoded file, src/scan/source.ts).
 */
import { createReadStream } from 'node:fs';

export const MAX_LINE_BYTES = 16 * 1024 * 1024;
const OVERLAP_BYTES = 4096;
const CHUNK_BYTES = 1024 * 1024;

export interface LineReaderOptions {
  readonly maxLineBytes?: number;
  readonly overlapBytes?: number;
  /** Awaited after each chunk read, with the bytes of the input read so far. */
  readonly onChunk?: (bytesDone: number) => Promise<void>;
}

/**
 * Calls `onLine` for each line: `piece` is true for the pieces of a line longer than the limit.
 * Resolves with the number of lines.
 */
export async function readLines(input: string | AsyncIterable<Buffer>, onLine: (text: string, line: number, piece: boolean) => void, options: LineReaderOptions = {}): Promise<number> {
  const maxLineBytes = options.maxLineBytes ?? MAX_LINE_BYTES;
  const overlap = Math.min(options.overlapBytes ?? OVERLAP_BYTES, maxLineBytes >> 1);
  let line = 1;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  /** The current line was already handed over in part. */
  let split = false;
  let done = 0;
  let first = true;

  /** Hands over the pieces of `buf` beyond the limit; returns what remains of it. */
  const flushPieces = (buf: Buffer): Buffer => {
    let rest = buf;
    while (rest.length > maxLineBytes) {
      const end = utf8Boundary(rest, maxLineBytes);
      onLine(rest.toString('utf8', 0, end), line, true);
      split = true;
      rest = rest.subarray(utf8Boundary(rest, end - overlap));
    }
    return rest;
  };
  const endLine = (bytes: Buffer): void => {
    let buf = bytes;
    if (buf.length > 0 && buf[buf.length - 1] === 0x0d) buf = buf.subarray(0, buf.length - 1);
    buf = flushPieces(buf);
    onLine(buf.toString('utf8'), line, split);
    split = false;
    line++;
  };

  const stream: AsyncIterable<Buffer> = typeof input === 'string' ? createReadStream(input, { highWaterMark: CHUNK_BYTES }) : input;
  for await (const data of stream) {
    let chunk = data;
    if (first) {
      first = false;
      if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) chunk = chunk.subarray(3);
    }
    let start = 0;
    for (let nl = chunk.indexOf(0x0a, start); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
      const tail = chunk.subarray(start, nl);
      endLine(pendingBytes === 0 ? tail : Buffer.concat([...pending, tail]));
      pending = [];
      pendingBytes = 0;
      start = nl + 1;
    }
    if (start < chunk.length) {
      pending.push(chunk.subarray(start));
      pendingBytes += chunk.length - start;
      if (pendingBytes > maxLineBytes) {
        const rest = flushPieces(Buffer.concat(pending));
        pending = [rest];
        pendingBytes = rest.length;
      }
    }
    done += data.length;
    if (options.onChunk !== undefined) await options.onChunk(done);
  }
  if (pendingBytes > 0 || split) endLine(Buffer.concat(pending));
  return line - 1;
}

/** The largest offset ≤ `at` that does not cut a UTF-8 sequence of `buf` (at least 1 when `at` ≥ 1). */
function utf8Boundary(buf: Buffer, at: number): number {
  let i = Math.max(0, Math.min(at, buf.length));
  // Step back over continuation bytes (10xxxxxx) to the start of the cut character: at most 3.
  for (let back = 0; back < 3 && i > 0 && i < buf.length && ((buf[i] ?? 0) & 0xc0) === 0x80; back++) i--;
  return i === 0 && at > 0 ? Math.min(at, buf.length) : i;
}
