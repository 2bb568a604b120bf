/**
 * What a file's first bytes say about how its content is stored, before its format is told:
 * compressed (gzip is decompressed and scanned; the other formats cannot be read), UTF-16 text
 * with a byte-order mark (decoded, then scanned as text), or — for a binary file named like a
 * database but without SQLite's header — probably an encrypted database (SQLCipher).
 */
import { extname } from 'node:path';

export type Compression = 'gzip' | 'zip' | 'zstd' | 'bzip2' | 'xz';
export type TextEncoding = 'utf-16le' | 'utf-16be';

const GZIP = [0x1f, 0x8b, 0x08]; // magic, then method 8 (deflate): the only one in use
const ZIP = [0x50, 0x4b, 0x03, 0x04]; // PK\3\4: a local file header
const ZSTD = [0x28, 0xb5, 0x2f, 0xfd];
const XZ = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
/** "BZh", a block size '1'–'9', then the magic of a block (π) or of the end of the stream (√π). */
const BZH = [0x42, 0x5a, 0x68];
const BZIP2_BLOCK = [0x31, 0x41, 0x59, 0x26, 0x53, 0x59];
const BZIP2_END = [0x17, 0x72, 0x45, 0x38, 0x50, 0x90];
const DATABASE_NAME = /^\.(?:db|db3|sqlite|sqlite3|sqlitedb)$/i;

function startsWith(head: Uint8Array, magic: readonly number[], at = 0): boolean {
  return head.length >= at + magic.length && magic.every((b, i) => head[at + i] === b);
}

function isBzip2(head: Uint8Array): boolean {
  const size = head[3] ?? 0;
  return startsWith(head, BZH) && size >= 0x31 && size <= 0x39 && (startsWith(head, BZIP2_BLOCK, 4) || startsWith(head, BZIP2_END, 4));
}

/** The compression format `head` starts with, if any. */
export function compressionOf(head: Uint8Array): Compression | undefined {
  if (startsWith(head, GZIP)) return 'gzip';
  if (startsWith(head, ZIP)) return 'zip';
  if (startsWith(head, ZSTD)) return 'zstd';
  if (startsWith(head, XZ)) return 'xz';
  if (isBzip2(head)) return 'bzip2';
  return undefined;
}

/** UTF-16 text by its byte-order mark (FF FE: little-endian; FE FF: big-endian; FF FE 00 00 is UTF-32). */
export function textEncodingOf(head: Uint8Array): TextEncoding | undefined {
  if (head[0] === 0xff && head[1] === 0xfe && !(head[2] === 0 && head[3] === 0)) return 'utf-16le';
  if (head[0] === 0xfe && head[1] === 0xff) return 'utf-16be';
  return undefined;
}

/** UTF-16 bytes as UTF-8, without the byte-order mark (a character cut at the end becomes U+FFFD). */
export function utf16HeadAsUtf8(head: Uint8Array, encoding: TextEncoding): Buffer {
  return Buffer.from(new TextDecoder(encoding).decode(head), 'utf8');
}

/** True when the file is named like an SQLite database (`.db`, `.sqlite`, …). */
export function hasDatabaseName(path: string): boolean {
  return DATABASE_NAME.test(extname(path));
}

/** The name whose extension tells the format of a gzip file's content: `x.jsonl.gz` → `x.jsonl`. */
export function nameInsideGzip(path: string): string {
  return path.replace(/\.gz$/i, '').replace(/\.tgz$/i, '.tar');
}
