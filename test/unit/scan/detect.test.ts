import { describe, expect, it } from 'vitest';
import { detectFormat } from '../../../src/scan/detect.js';

const text = (s: string): Buffer => Buffer.from(s, 'utf8');

describe('detectFormat', () => {
  it('knows SQLite by its header, whatever the name', () => {
    expect(detectFormat('dump.txt', Buffer.concat([text('SQLite format 3\0'), Buffer.alloc(100)]))).toBe('sqlite');
  });

  it('calls a file binary when it has NUL bytes or media magic with control bytes', () => {
    expect(detectFormat('a.log', Buffer.from([0x61, 0x00, 0x62]))).toBe('binary');
    expect(detectFormat('face.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe('binary');
    expect(detectFormat('notes.txt', text('BMW service notes\nline two\n'))).toBe('text');
  });

  it('tells JSON Lines by name or by a first line that is a JSON object or array', () => {
    expect(detectFormat('x.ndjson', text('whatever\n'))).toBe('jsonl');
    expect(detectFormat('events.log', text('\n{"a":1}\n{"a":2}\n'))).toBe('jsonl');
    expect(detectFormat('events.log', text('[2026-01-01] started\n'))).toBe('text');
  });

  it('tells CSV by name or by a header line followed by a record with as many cells', () => {
    expect(detectFormat('x.CSV', text('1,2\n'))).toBe('csv');
    expect(detectFormat('export', text('id,name,phone number\n1,"Doe, J",+8613800138000\n'))).toBe('csv');
    expect(detectFormat('export', text('id,name\n1,"multi\nline"\n'))).toBe('csv');
    expect(detectFormat('app.log', text('INFO, started\nWARN, disk, low\n'))).toBe('text');
    expect(detectFormat('app.log', text('2026-01-01 10:00:00,123 INFO x\n'))).toBe('text');
    expect(detectFormat('empty', text(''))).toBe('text');
  });
});
