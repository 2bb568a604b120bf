/**
 * A file's content as a stream of byte chunks for the text readers: as stored, gunzipped, and/or
 * decoded from UTF-16 to UTF-8 — in constant memory either way (zlib and TextDecoder stream).
 */
import { createReadStream, type ReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { pipeline } from 'node:stream';
import { promisify } from 'node:util';
import { createGunzip, gunzip } from 'node:zlib';
import type { TextEncoding } from './magic.js';

const CHUNK_BYTES = 1024 * 1024;
const gunzipBuffer = promisify(gunzip);

export interface ContentSource {
  readonly chunks: AsyncIterable<Buffer>;
  /** Bytes of the file itself read so far (compressed bytes for gzip): progress against its size. */
  bytesRead(): number;
}

export interface ContentOptions {
  readonly gzip?: boolean;
  readonly encoding?: TextEncoding | undefined;
}

function gunzipped(file: ReadStream): AsyncIterable<Buffer> {
  // pipeline destroys both streams on an error, which the iteration of the last one then throws.
  return pipeline(file, createGunzip({ chunkSize: 64 * 1024 }), () => undefined);
}

async function* utf16ToUtf8(chunks: AsyncIterable<Buffer>, encoding: TextEncoding): AsyncIterable<Buffer> {
  // Non-fatal: an unpaired surrogate becomes U+FFFD, like invalid UTF-8 in the other readers.
  const decoder = new TextDecoder(encoding);
  for await (const chunk of chunks) {
    const text = decoder.decode(chunk, { stream: true });
    if (text.length > 0) yield Buffer.from(text, 'utf8');
  }
  const rest = decoder.decode();
  if (rest.length > 0) yield Buffer.from(rest, 'utf8');
}

/** The content of `path`, decompressed and decoded as asked. */
export function openContent(path: string, options: ContentOptions = {}): ContentSource {
  const file = createReadStream(path, { highWaterMark: CHUNK_BYTES });
  let chunks: AsyncIterable<Buffer> = options.gzip === true ? gunzipped(file) : file;
  if (options.encoding !== undefined) chunks = utf16ToUtf8(chunks, options.encoding);
  return { chunks, bytesRead: () => file.bytesRead };
}

/** The first `max` bytes of a gzip file's decompressed content. */
export async function gunzippedHead(path: string, max: number): Promise<Buffer> {
  const file = createReadStream(path, { highWaterMark: 64 * 1024 });
  const parts: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of gunzipped(file)) {
      parts.push(chunk);
      length += chunk.length;
      if (length >= max) break;
    }
  } finally {
    file.destroy();
  }
  return Buffer.concat(parts).subarray(0, max);
}

/** A gzip file's whole decompressed content, or undefined when it would exceed `max` bytes. */
export async function gunzippedWhole(path: string, max: number): Promise<Buffer | undefined> {
  try {
    return await gunzipBuffer(await readFile(path), { maxOutputLength: max });
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code === 'ERR_BUFFER_TOO_LARGE') return undefined;
    throw error;
  }
}
