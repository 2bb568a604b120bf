import { describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { compressionOf, hasDatabaseName, nameInsideGzip, textEncodingOf, utf16HeadAsUtf8 } from '../../../src/scan/magic.js';

const bytes = (...b: number[]): Buffer => Buffer.from(b);

describe('compressionOf', () => {
  it('knows gzip, zip, zstd, bzip2 and xz by their magic numbers', () => {
    expect(compressionOf(gzipSync('hello'))).toBe('gzip');
    expect(compressionOf(bytes(0x50, 0x4b, 0x03, 0x04, 0x14, 0x00))).toBe('zip');
    expect(compressionOf(bytes(0x28, 0xb5, 0x2f, 0xfd, 0x04))).toBe('zstd');
    expect(compressionOf(Buffer.concat([Buffer.from('BZh9'), bytes(0x31, 0x41, 0x59, 0x26, 0x53, 0x59)]))).toBe('bzip2');
    expect(compressionOf(bytes(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00))).toBe('xz');
  });

  it('leaves text that merely starts like a magic number alone', () => {
    expect(compressionOf(Buffer.from('BZh9 is not a bzip2 stream\n'))).toBeUndefined();
    expect(compressionOf(Buffer.from('PK and more\n'))).toBeUndefined();
    expect(compressionOf(bytes(0x1f))).toBeUndefined();
    expect(compressionOf(Buffer.alloc(0))).toBeUndefined();
  });
});

describe('textEncodingOf', () => {
  it('knows UTF-16 by its byte-order mark, and not UTF-32', () => {
    expect(textEncodingOf(Buffer.from('\ufeffhi', 'utf16le'))).toBe('utf-16le');
    expect(textEncodingOf(bytes(0xfe, 0xff, 0x00, 0x68))).toBe('utf-16be');
    expect(textEncodingOf(bytes(0xff, 0xfe, 0x00, 0x00))).toBeUndefined();
    expect(textEncodingOf(Buffer.from('\ufeffhi', 'utf8'))).toBeUndefined();
  });

  it('decodes a UTF-16 head to UTF-8 without its byte-order mark', () => {
    expect(utf16HeadAsUtf8(Buffer.from('\ufeffid,电话\n', 'utf16le'), 'utf-16le').toString('utf8')).toBe('id,电话\n');
    expect(utf16HeadAsUtf8(bytes(0xfe, 0xff, 0x00, 0x61, 0x6c, 0x34), 'utf-16be').toString('utf8')).toBe('a水');
  });
});

describe('file names', () => {
  it('tells names of SQLite databases, and the name inside a gzip file', () => {
    expect(hasDatabaseName('/x/app.db')).toBe(true);
    expect(hasDatabaseName('/x/app.SQLite3')).toBe(true);
    expect(hasDatabaseName('/x/app.dbx')).toBe(false);
    expect(nameInsideGzip('/x/events.jsonl.gz')).toBe('/x/events.jsonl');
    expect(nameInsideGzip('/x/logs.tgz')).toBe('/x/logs.tar');
  });
});
