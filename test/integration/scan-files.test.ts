/**
 * `scanFile` / `scanPaths` over real files: SQLite databases of several shapes, JSON Lines, CSV,
 * logs, binary files, directories, and the failures (corrupt, locked, missing) a scan must name.
 */
import Database from 'better-sqlite3';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VaultError } from '../../src/errors.js';
import type { LeakMatcher } from '../../src/guard/leak-types.js';
import { scanFile, scanPaths, type ScanFinding } from '../../src/scan/scan.js';
import { expectVaultRejection } from '../helpers/unit-errors.js';
import { testMatcher } from '../helpers/leak-matcher.js';

const PHONE = '+8613800138000';
const PHONE_WRITTEN = '138-0013-8000';
const EMAIL = 'kid@example.cn';
const EMAIL_WRITTEN = 'Kid@Example.CN';
const ADDRESS = '12 Main St., Apt 3';
const CANARY = 'canary.7f3a@example.org';
/** A "face photo": PNG magic, then bytes no text scan would match. */
const FACE = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from(Array.from({ length: 600 }, (_, i) => (i * 37) % 256))]);
/** Every form in which a planted value is written in the files: none may appear in a report. */
const PLANTED = [PHONE, PHONE_WRITTEN, '13800138000', EMAIL, EMAIL_WRITTEN, ADDRESS, '12 main st apt 3', CANARY, FACE.toString('base64')];

const matcher = testMatcher({ phones: [PHONE], emails: [EMAIL], addresses: [ADDRESS], faces: [FACE], canary: { emails: [CANARY] } });

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cv-scan-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function scan(path: string, options: Parameters<typeof scanFile>[2] = {}) {
  const findings: ScanFinding[] = [];
  const summary = await scanFile(path, matcher, options, (f) => findings.push(f));
  expect(JSON.stringify(findings)).not.toMatch(new RegExp(PLANTED.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'i'));
  expect(JSON.stringify(summary)).not.toContain(PHONE);
  return { summary, findings };
}

/** Findings as compact tuples, in the order found. */
const brief = (findings: readonly ScanFinding[]): unknown[] => findings.map((f) => [f.location, f.match]);

function serviceDb(path: string): void {
  const db = new Database(path);
  db.exec(`
    CREATE TABLE messages (id INTEGER PRIMARY KEY, body TEXT, sent_at INTEGER);
    CREATE TABLE profiles (id INTEGER PRIMARY KEY, data TEXT);
    CREATE TABLE photos (id INTEGER PRIMARY KEY, img BLOB);
    CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID;
    CREATE TABLE "my table" ("we""ird col" TEXT, n INTEGER);
    CREATE TABLE calls (id INTEGER PRIMARY KEY, number INTEGER, twice INTEGER GENERATED ALWAYS AS (number * 2) VIRTUAL);
    CREATE VIRTUAL TABLE docs USING fts5(body);
  `);
  const msg = db.prepare('INSERT INTO messages (id, body, sent_at) VALUES (?, ?, ?)');
  msg.run(1, 'hello, see you at 10', 1767225600000);
  msg.run(2, `please call me at ${PHONE_WRITTEN} tomorrow`, 1767225600001);
  msg.run(3, null, null);
  const prof = db.prepare('INSERT INTO profiles (id, data) VALUES (?, ?)');
  prof.run(10, JSON.stringify({ user: { name: 'n', contacts: [{ email: 'parent@example.com' }, { email: EMAIL_WRITTEN }] } }));
  prof.run(11, JSON.stringify({ user: { name: 'm' } }));
  prof.run(12, '{not json but braces}');
  const photo = db.prepare('INSERT INTO photos (id, img) VALUES (?, ?)');
  photo.run(1, Buffer.from('not a face'));
  photo.run(2, FACE);
  db.prepare('INSERT INTO kv (k, v) VALUES (?, ?)').run('home', ADDRESS);
  db.prepare('INSERT INTO kv (k, v) VALUES (?, ?)').run('theme', 'dark');
  db.prepare('INSERT INTO "my table" VALUES (?, ?)').run(`ping ${CANARY}`, 5);
  db.prepare('INSERT INTO calls (id, number) VALUES (?, ?)').run(7, 13800138000);
  db.prepare('INSERT INTO docs (body) VALUES (?)').run(`mail ${EMAIL} later`);
  db.close();
}

describe('scanFile: SQLite', () => {
  it('finds values in text, JSON, BLOB, integer, WITHOUT ROWID and oddly named tables; clean rows report nothing', async () => {
    const path = join(dir, 'service.db');
    serviceDb(path);
    const { summary, findings } = await scan(path);
    expect(summary).toMatchObject({ file: path, format: 'sqlite', truncated: false, complete: true });
    expect(brief(findings)).toEqual([
      [{ type: 'sqlite', table: 'calls', column: 'number', rowid: 7 }, { kind: 'subject-data', field: 'contact.phone' }],
      [{ type: 'sqlite', table: 'docs_content', column: 'c0', rowid: 1 }, { kind: 'subject-data', field: 'contact.email' }],
      [{ type: 'sqlite', table: 'kv', column: 'v', rowid: null }, { kind: 'subject-data', field: 'contact.address' }],
      [{ type: 'sqlite', table: 'messages', column: 'body', rowid: 2 }, { kind: 'subject-data', field: 'contact.phone' }],
      // Names that are not plain identifiers are shown by position, never as they are.
      [{ type: 'sqlite', table: 'table #10', column: 'column #1', rowid: 1 }, { kind: 'canary', field: 'contact.email' }],
      [{ type: 'sqlite', table: 'photos', column: 'img', rowid: 2 }, { kind: 'subject-data', field: 'face.image' }],
      [{ type: 'sqlite', table: 'profiles', column: 'data', rowid: 10, field: '$.user.contacts[1].email' }, { kind: 'subject-data', field: 'contact.email' }],
    ]);
    expect(summary.findings).toBe(7);
    expect(summary.notes).toEqual(expect.arrayContaining([expect.stringMatching(/"docs": a virtual table/), expect.stringMatching(/"calls": 1 generated column/)]));
    expect(summary.units).toBeGreaterThanOrEqual(14);
  });

  it('adds pattern matches only with patterns: true', async () => {
    const path = join(dir, 'service.db');
    const { findings } = await scan(path, { patterns: true });
    const patterns = findings.filter((f) => f.match.kind === 'pattern');
    expect(brief(patterns)).toEqual(
      expect.arrayContaining([
        [{ type: 'sqlite', table: 'photos', column: 'img', rowid: 2 }, { kind: 'pattern', pattern: 'image' }],
        [{ type: 'sqlite', table: 'messages', column: 'body', rowid: 2 }, { kind: 'pattern', pattern: 'phone' }],
        [{ type: 'sqlite', table: 'profiles', column: 'data', rowid: 10, field: '$.user.contacts[0].email' }, { kind: 'pattern', pattern: 'email' }],
      ]),
    );
  });

  it('fails with CORRUPT on a file with an SQLite header and garbage after it', async () => {
    const path = join(dir, 'garbage.db');
    writeFileSync(path, Buffer.concat([Buffer.from('SQLite format 3\0', 'latin1'), Buffer.alloc(4080, 0x41)]));
    const error = await expectVaultRejection(scanFile(path, matcher), 'CORRUPT');
    expect(error.message).toContain(path);
    expect(error.message).not.toContain('\n');
  });

  it('fails with CORRUPT when a table page is damaged', async () => {
    const path = join(dir, 'damaged.db');
    const db = new Database(path);
    db.pragma('page_size = 4096');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    db.transaction(() => {
      for (let i = 0; i < 500; i++) insert.run(`row ${i} `.repeat(20));
    })();
    db.close();
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.alloc(4096, 0xee), 0, 4096, 4096 * 2); // page 3: part of t's b-tree
    closeSync(fd);
    const error = await expectVaultRejection(scanFile(path, matcher), 'CORRUPT');
    expect(error.message).toMatch(/^scanning .*damaged\.db: SQLite reports the database corrupt/);
  });

  it('fails with BUSY, naming the file, while another connection holds an exclusive lock', async () => {
    const path = join(dir, 'locked.db');
    const holder = new Database(path);
    holder.exec("CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('x')");
    expect(holder.pragma('journal_mode', { simple: true })).toBe('delete');
    holder.exec('BEGIN EXCLUSIVE');
    holder.exec("INSERT INTO t VALUES ('y')");
    try {
      const started = performance.now();
      const error = await expectVaultRejection(scanFile(path, matcher, { busyTimeoutMs: 200 }), 'BUSY');
      expect(performance.now() - started).toBeGreaterThanOrEqual(150);
      expect(error.message).toBe(`scanning ${path}: the database stayed locked by another process for 0.2s (a write in progress); retry when it ends, or scan a copy`);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    // Once the lock is gone the same file scans.
    expect((await scan(path)).summary.units).toBe(1);
  });
});

describe('scanFile: text formats', () => {
  it('walks JSON Lines records and scans a broken line as plain text', async () => {
    const path = join(dir, 'events.jsonl');
    writeFileSync(
      path,
      [
        JSON.stringify({ event: 'signup', user: { phone: '+86 138 0013 8000', name: 'x' } }),
        JSON.stringify({ clean: true, n: 3 }),
        `{"broken": "${EMAIL_WRITTEN}", `,
        '',
        JSON.stringify({ list: [{ e: 'nobody@example.com' }, { e: EMAIL }], meta: JSON.stringify({ home: ADDRESS }) }),
      ].join('\n'),
    );
    const { summary, findings } = await scan(path);
    expect(summary).toMatchObject({ format: 'jsonl', units: 5, findings: 4 });
    expect(brief(findings)).toEqual([
      [{ type: 'text', line: 1, field: '$.user.phone' }, { kind: 'subject-data', field: 'contact.phone' }],
      [{ type: 'text', line: 3 }, { kind: 'subject-data', field: 'contact.email' }],
      [{ type: 'text', line: 5, field: '$.list[1].e' }, { kind: 'subject-data', field: 'contact.email' }],
      [{ type: 'text', line: 5, field: '$.meta.home' }, { kind: 'subject-data', field: 'contact.address' }],
    ]);
    expect(summary.notes).toEqual(['1 line(s) not valid JSON, scanned as plain text (line 3)']);
  });

  it('reads CSV with quoted commas and line breaks, naming the header columns and the line a record starts on', async () => {
    const path = join(dir, 'export.data'); // detected by content, not by name
    writeFileSync(
      path,
      [
        'id,note,contact,payload',
        `1,"met at the park, said ""hi""\nand: call ${PHONE_WRITTEN}",someone@example.com,`,
        `2,"clean, quiet",${EMAIL},"{""home"": ""${ADDRESS}""}"`,
        '3,,,',
      ].join('\r\n'),
    );
    const { summary, findings } = await scan(path);
    expect(summary).toMatchObject({ format: 'csv', units: 4, findings: 3, notes: [] });
    expect(brief(findings)).toEqual([
      [{ type: 'text', line: 2, field: 'note' }, { kind: 'subject-data', field: 'contact.phone' }],
      [{ type: 'text', line: 4, field: 'contact' }, { kind: 'subject-data', field: 'contact.email' }],
      [{ type: 'text', line: 4, field: 'payload:$.home' }, { kind: 'subject-data', field: 'contact.address' }],
    ]);
  });

  it('names columns by position when a .csv file has no header', async () => {
    const path = join(dir, 'no-header.csv');
    writeFileSync(path, `${EMAIL},x\nclean,${PHONE}\n`);
    const { summary, findings } = await scan(path);
    expect(brief(findings)).toEqual([
      [{ type: 'text', line: 1, field: 'column 1' }, { kind: 'subject-data', field: 'contact.email' }],
      [{ type: 'text', line: 2, field: 'column 2' }, { kind: 'subject-data', field: 'contact.phone' }],
    ]);
    expect(summary.notes).toEqual(['no header row naming the columns: columns are reported by position']);
  });

  it('scans a plain log line by line, including quoted values inside lines', async () => {
    const path = join(dir, 'app.log');
    writeFileSync(
      path,
      [
        '2026-01-01T10:00:00Z INFO started',
        `2026-01-01T10:00:01Z INFO sms sent to ${PHONE_WRITTEN}`,
        `2026-01-01T10:00:02Z DEBUG payload={"address": "${ADDRESS}", "ok": true}`,
        `2026-01-01T10:00:03Z WARN canary touched: ${CANARY}`,
        `2026-01-01T10:00:04Z DEBUG avatar='data:image/png;base64,${FACE.toString('base64')}'`,
        '',
      ].join('\n'),
    );
    const { summary, findings } = await scan(path);
    expect(summary).toMatchObject({ format: 'text', units: 5, findings: 4, truncated: false });
    expect(brief(findings)).toEqual([
      [{ type: 'text', line: 2 }, { kind: 'subject-data', field: 'contact.phone' }],
      [{ type: 'text', line: 3 }, { kind: 'subject-data', field: 'contact.address' }],
      [{ type: 'text', line: 4 }, { kind: 'canary', field: 'contact.email' }],
      [{ type: 'text', line: 5 }, { kind: 'subject-data', field: 'face.image' }],
    ]);
  });

  it('scans a line longer than 16 MiB in pieces, finding values at both ends', async () => {
    const path = join(dir, 'minified.js');
    // Realistic minified code: letters, digits and spaces in every 16 MiB piece.
    const filler = 'var a=1; '.repeat(Math.ceil((17 * 1024 * 1024) / 9));
    writeFileSync(path, `a\n${EMAIL} ${filler} ${PHONE_WRITTEN}\nb\n`);
    const { summary, findings } = await scan(path);
    expect(summary).toMatchObject({ format: 'text', units: 3 });
    expect(brief(findings)).toEqual([
      [{ type: 'text', line: 2 }, { kind: 'subject-data', field: 'contact.email' }],
      [{ type: 'text', line: 2 }, { kind: 'subject-data', field: 'contact.phone' }],
    ]);
    expect(summary.notes).toEqual(['1 line(s) longer than 16 MiB, scanned as plain text in overlapping pieces (line 2)']);
  });

  it('reports an empty file as scanned with nothing found', async () => {
    const path = join(dir, 'empty.log');
    writeFileSync(path, '');
    const { summary, findings } = await scan(path);
    expect(summary).toEqual({ file: path, format: 'text', units: 0, bytes: 0, findings: 0, truncated: false, complete: true, notes: [] });
    expect(findings).toEqual([]);
  });

  it('matches a binary file as a whole (a face photo saved as a file)', async () => {
    const path = join(dir, 'IMG_0001.bin');
    writeFileSync(path, FACE);
    const { summary, findings } = await scan(path, { patterns: true });
    expect(summary).toMatchObject({ format: 'binary', findings: 2 });
    expect(brief(findings)).toEqual([
      [{ type: 'file' }, { kind: 'subject-data', field: 'face.image' }],
      [{ type: 'file' }, { kind: 'pattern', pattern: 'image' }],
    ]);
  });

  it('reports at most maxFindingsPerFile findings and says the rest were cut', async () => {
    const path = join(dir, 'many.log');
    writeFileSync(path, `${PHONE}\n`.repeat(30));
    const { summary, findings } = await scan(path, { maxFindingsPerFile: 10 });
    expect(findings).toHaveLength(10);
    expect(summary).toMatchObject({ findings: 30, truncated: true, notes: ['30 findings: only the first 10 are reported'] });
  });

  it('reports progress up to the file size', async () => {
    const path = join(dir, 'app.log');
    const calls: [number, number][] = [];
    await scanFile(path, matcher, { onProgress: (_file, done, total) => calls.push([done, total]) });
    expect(calls[0]![0]).toBe(0);
    expect(calls.at(-1)![0]).toBe(calls.at(-1)![1]);
    for (let i = 1; i < calls.length; i++) expect(calls[i]![0]).toBeGreaterThanOrEqual(calls[i - 1]![0]);
  });

  it.skipIf(process.getuid?.() === 0)('fails with STORAGE, naming the file, when it cannot be read', async () => {
    const path = join(dir, 'secret.log');
    writeFileSync(path, 'x\n', { mode: 0o000 });
    const error = await expectVaultRejection(scanFile(path, matcher), 'STORAGE');
    expect(error.message).toBe(`cannot read ${path}: permission denied`);
  });

  it('names missing files and directories passed to scanFile', async () => {
    const missing = await expectVaultRejection(scanFile(join(dir, 'nope.db'), matcher), 'NOT_FOUND');
    expect(missing.message).toContain('nope.db');
    await expectVaultRejection(scanFile(dir, matcher), 'VALIDATION');
  });
});

describe('scanFile: names that can be data', () => {
  it('matches table and column names, reporting a match at the schema, and prints a name only when it is a plain identifier', async () => {
    const path = join(dir, 'per-user.db');
    const db = new Database(path);
    db.exec(`
      CREATE TABLE plain (id INTEGER PRIMARY KEY, v TEXT);
      CREATE TABLE "u_13800138000" (id INTEGER PRIMARY KEY, "${EMAIL_WRITTEN}" TEXT, "home address" TEXT);
      CREATE VIRTUAL TABLE "孩子13912345678" USING fts5(body);
    `);
    db.prepare('INSERT INTO plain VALUES (1, ?)').run(`call ${PHONE_WRITTEN}`);
    db.prepare('INSERT INTO "u_13800138000" VALUES (1, ?, ?)').run('x', ADDRESS);
    db.close();
    const { summary, findings } = await scan(path);
    expect(brief(findings)).toEqual([
      [{ type: 'sqlite', table: 'table #2', column: '', rowid: null, field: '<table name>' }, { kind: 'subject-data', field: 'contact.phone' }],
      [{ type: 'sqlite', table: 'table #2', column: 'column #2', rowid: null, field: '<column name>' }, { kind: 'subject-data', field: 'contact.email' }],
      // A plain identifier that matched nothing is shown as it is.
      [{ type: 'sqlite', table: 'plain', column: 'v', rowid: 1 }, { kind: 'subject-data', field: 'contact.phone' }],
      [{ type: 'sqlite', table: 'table #2', column: 'column #3', rowid: 1 }, { kind: 'subject-data', field: 'contact.address' }],
    ]);
    expect(summary.notes).toContain('table #3: a virtual table, not scanned (tables its module stores data in are scanned like any other)');
    const report = JSON.stringify({ summary, findings });
    for (const name of ['13800138000', '13912345678', '孩子', 'home address', EMAIL_WRITTEN]) expect(report).not.toContain(name);
  });

  it('prints a CSV header name only when it is a plain identifier (a headerless first row can be a child\'s name)', async () => {
    const path = join(dir, 'names.csv');
    writeFileSync(path, `张伟,phone number,id\nx,${PHONE_WRITTEN},1\n`);
    const { summary, findings } = await scan(path);
    expect(brief(findings)).toEqual([[{ type: 'text', line: 2, field: 'column 2' }, { kind: 'subject-data', field: 'contact.phone' }]]);
    expect(summary.notes).toEqual(['2 header name(s) not shown, since they could be data: those columns are reported by position']);
    expect(JSON.stringify(summary)).not.toMatch(/张伟|phone number/);
  });

  it('matches the cells of a header-like first row', async () => {
    const path = join(dir, 'first-row.csv');
    writeFileSync(path, `name,${EMAIL}\nx,y\n`);
    const { findings } = await scan(path);
    expect(brief(findings)).toEqual([[{ type: 'text', line: 1, field: 'column 2' }, { kind: 'subject-data', field: 'contact.email' }]]);
  });

  it('replaces control characters of file paths in findings, summaries, skips and error messages', async () => {
    const root = join(dir, 'hostile');
    mkdirSync(root);
    const evil = join(root, 'a\nnote: forged\u001b[2J.log');
    writeFileSync(evil, `${PHONE}\n`);
    symlinkSync(evil, join(root, 'link\r\n.log'));
    const result = await scanPaths([root], matcher);
    const shown = join(root, 'a?note: forged?[2J.log');
    expect(result.files.map((f) => f.file)).toEqual([shown]);
    expect(result.findings.map((f) => f.file)).toEqual([shown]);
    expect(result.skipped.map((k) => k.path)).toEqual([join(root, 'link??.log')]);
    const missing = await expectVaultRejection(scanFile(join(root, 'gone\n\u001b]0;x\u0007'), matcher), 'NOT_FOUND');
    expect(missing.message).toBe(`${join(root, 'gone??]0;x?')} does not exist`);
    const corrupt = join(root, 'bad\n.db');
    writeFileSync(corrupt, Buffer.concat([Buffer.from('SQLite format 3\0', 'latin1'), Buffer.alloc(4080, 0x41)]));
    const error = await expectVaultRejection(scanFile(corrupt, matcher), 'CORRUPT');
    expect(error.message).toContain('bad?.db');
    for (const c of ['\n', '\r', '\u001b']) expect(error.message).not.toContain(c);
  });
});

describe('scanFile: content not readable as it is stored', () => {
  it('decodes UTF-16 text with a byte-order mark, either byte order, and scans it', async () => {
    const log = join(dir, 'utf16le.log');
    writeFileSync(log, Buffer.from(`\ufeffstarted\nsms to ${PHONE_WRITTEN} 已发送\n`, 'utf16le'));
    const le = await scan(log);
    expect(le.summary).toMatchObject({ format: 'text', units: 2, complete: true, notes: ['UTF-16LE text: decoded, then scanned'] });
    expect(brief(le.findings)).toEqual([[{ type: 'text', line: 2 }, { kind: 'subject-data', field: 'contact.phone' }]]);

    const csv = join(dir, 'utf16be.txt');
    writeFileSync(csv, Buffer.from(`\ufeffid,contact\r\n1,${EMAIL}\r\n`, 'utf16le').swap16());
    const be = await scan(csv);
    expect(be.summary).toMatchObject({ format: 'csv', units: 2, complete: true, notes: ['UTF-16BE text: decoded, then scanned'] });
    expect(brief(be.findings)).toEqual([[{ type: 'text', line: 2, field: 'contact' }, { kind: 'subject-data', field: 'contact.email' }]]);
  });

  it('scans gzip content decompressed, telling its format from the decompressed content', async () => {
    const jsonl = join(dir, 'events.jsonl.gz');
    writeFileSync(jsonl, gzipSync([JSON.stringify({ ok: 1 }), JSON.stringify({ user: { email: EMAIL_WRITTEN } })].join('\n')));
    const a = await scan(jsonl);
    expect(a.summary).toMatchObject({ format: 'jsonl', units: 2, complete: true, notes: ['gzip-compressed: scanned decompressed'] });
    expect(brief(a.findings)).toEqual([[{ type: 'text', line: 2, field: '$.user.email' }, { kind: 'subject-data', field: 'contact.email' }]]);

    const csv = join(dir, 'export.gz'); // no hint in the name: told from the decompressed head
    writeFileSync(csv, gzipSync(`id,note\n1,"call ${PHONE_WRITTEN}"\n`));
    const b = await scan(csv);
    expect(b.summary).toMatchObject({ format: 'csv', units: 2, complete: true });
    expect(brief(b.findings)).toEqual([[{ type: 'text', line: 2, field: 'note' }, { kind: 'subject-data', field: 'contact.phone' }]]);

    const utf16 = join(dir, 'app.log.gz');
    writeFileSync(utf16, gzipSync(Buffer.from(`\ufeffline\nmail ${EMAIL}\n`, 'utf16le')));
    const c = await scan(utf16);
    expect(c.summary).toMatchObject({ format: 'text', units: 2, complete: true, notes: ['gzip-compressed: scanned decompressed', 'UTF-16LE text: decoded, then scanned'] });
    expect(brief(c.findings)).toEqual([[{ type: 'text', line: 2 }, { kind: 'subject-data', field: 'contact.email' }]]);
  });

  it('matches a gzip-compressed face photo whole, and reads the text of a gzip-compressed archive', async () => {
    const photo = join(dir, 'face.png.gz');
    writeFileSync(photo, gzipSync(FACE));
    const a = await scan(photo);
    expect(a.summary).toMatchObject({ format: 'binary', complete: true });
    expect(brief(a.findings)).toEqual([[{ type: 'file' }, { kind: 'subject-data', field: 'face.image' }]]);

    const tar = join(dir, 'backup.tgz');
    writeFileSync(tar, gzipSync(Buffer.concat([Buffer.alloc(512), Buffer.from(`contacts: ${EMAIL}\n`), Buffer.alloc(512)])));
    const b = await scan(tar);
    expect(brief(b.findings)).toEqual([[{ type: 'text', line: 1 }, { kind: 'subject-data', field: 'contact.email' }]]);
  });

  it('reads only the text of an SQLite database inside gzip, and says the scan is not complete', async () => {
    const path = join(dir, 'service.db.gz');
    writeFileSync(path, gzipSync(readFileSync(join(dir, 'service.db'))));
    const { summary, findings } = await scan(path);
    expect(summary).toMatchObject({ format: 'binary', complete: false });
    expect(summary.notes).toContain('not scanned as a database: an SQLite database inside gzip, only its text read line by line; decompress it and scan again');
    expect(findings.length).toBeGreaterThan(0);
  });

  it('fails with CORRUPT, naming the file, on gzip data that is cut short', async () => {
    const path = join(dir, 'cut.log.gz');
    const whole = gzipSync(`${'x'.repeat(100_000)}\n`);
    writeFileSync(path, whole.subarray(0, whole.length - 20));
    const error = await expectVaultRejection(scanFile(path, matcher), 'CORRUPT');
    expect(error.message).toMatch(/^cannot read .*cut\.log\.gz: its gzip data is corrupt or cut short/);
  });

  it('marks zip, zstd, bzip2 and xz files as not scanned, with a note, complete: false', async () => {
    const kinds: [string, Buffer][] = [
      ['zip', Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x08, 0x00])],
      ['zstd', Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x24, 0x00])],
      ['bzip2', Buffer.concat([Buffer.from('BZh9'), Buffer.from([0x31, 0x41, 0x59, 0x26, 0x53, 0x59, 0x00])])],
      ['xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00, 0x04])],
    ];
    for (const [kind, magic] of kinds) {
      const path = join(dir, `archive.${kind}`);
      writeFileSync(path, Buffer.concat([magic, Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 151) % 256))]));
      const { summary } = await scan(path);
      expect(summary).toMatchObject({ format: 'binary', complete: false });
      expect(summary.notes[0]).toBe(`not scanned: ${kind}-compressed; decompress it and scan again`);
    }
  });

  it('marks a file named like a database but without SQLite\'s header (encrypted) as not scanned', async () => {
    const path = join(dir, 'sqlcipher.db');
    writeFileSync(path, Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 7919 + 13) % 256)));
    const { summary } = await scan(path);
    expect(summary).toMatchObject({ format: 'binary', complete: false });
    expect(summary.notes[0]).toMatch(/^not scanned as a database: named like one but without an SQLite header \(encrypted, e\.g\. SQLCipher/);
  });

  it('notes that binary content other than a whole-file image or clip is not read', async () => {
    const path = join(dir, 'blob.bin');
    writeFileSync(path, Buffer.from([0x00, 0x01, 0x02, 0x61, 0x0a]));
    const { summary } = await scan(path);
    expect(summary).toMatchObject({ format: 'binary', complete: true, notes: ['binary content: matched whole as an image or audio clip and its text read line by line; nothing else in it is read'] });
  });
});

describe('scanFile: SQLite BLOBs and the matcher\'s own failures', () => {
  it('reads BLOBs holding UTF-8 text or JSON as text as well as bytes', async () => {
    const path = join(dir, 'blobs.db');
    const db = new Database(path);
    db.exec('CREATE TABLE docs (id INTEGER PRIMARY KEY, body BLOB)');
    const insert = db.prepare('INSERT INTO docs VALUES (?, ?)');
    insert.run(1, Buffer.from(JSON.stringify({ guardian: { phone: PHONE_WRITTEN } })));
    insert.run(2, Buffer.from(`reach me at ${EMAIL}`));
    insert.run(3, Buffer.concat([Buffer.from(EMAIL), Buffer.from([0, 0xff])]));
    db.close();
    const { findings } = await scan(path);
    expect(brief(findings)).toEqual([
      [{ type: 'sqlite', table: 'docs', column: 'body', rowid: 1, field: '$.guardian.phone' }, { kind: 'subject-data', field: 'contact.phone' }],
      [{ type: 'sqlite', table: 'docs', column: 'body', rowid: 2 }, { kind: 'subject-data', field: 'contact.email' }],
    ]);
  });

  it('lets errors of the matcher itself (the vault\'s own database) propagate unchanged, not as the file\'s failure', async () => {
    const failures: unknown[] = [new Database.SqliteError('disk I/O error', 'SQLITE_IOERR_READ'), new Database.SqliteError('database is locked', 'SQLITE_BUSY'), new VaultError('CLOSED', 'the vault is closed')];
    const db = join(dir, 'matcher-fails.db');
    const handle = new Database(db);
    handle.exec("CREATE TABLE t (v TEXT, b BLOB); INSERT INTO t VALUES ('a value', x'00ff')");
    handle.close();
    const log = join(dir, 'matcher-fails.log');
    writeFileSync(log, 'a line\n');
    const gz = join(dir, 'matcher-fails.log.gz');
    writeFileSync(gz, gzipSync('a line\n'));
    const bin = join(dir, 'matcher-fails.bin');
    writeFileSync(bin, FACE);
    for (const failure of failures) {
      const failing: LeakMatcher = {
        matchText: () => {
          throw failure;
        },
        matchBytes: () => {
          throw failure;
        },
      };
      for (const path of [db, log, gz, bin]) {
        await expect(scanFile(path, failing)).rejects.toBe(failure);
      }
    }
  });
});

describe('scanPaths', () => {
  it('scans a directory recursively, skipping symlinks and SQLite sidecars, each file once', async () => {
    const root = join(dir, 'tree');
    mkdirSync(join(root, 'sub', 'deeper'), { recursive: true });
    serviceDb(join(root, 'sub', 'app.db'));
    writeFileSync(join(root, 'sub', 'app.db-wal'), 'stale');
    writeFileSync(join(root, 'sub', 'deeper', 'b.log'), `call ${PHONE_WRITTEN}\n`);
    writeFileSync(join(root, 'a.log'), 'clean\n');
    symlinkSync(join(root, 'a.log'), join(root, 'link.log'));
    symlinkSync(root, join(root, 'sub', 'loop'));
    const seen: ScanFinding[] = [];
    const result = await scanPaths([root, join(root, 'a.log')], matcher, {}, (f) => seen.push(f));
    expect(result.files.map((f) => [f.file.slice(root.length), f.format])).toEqual([
      ['/a.log', 'text'],
      ['/sub/app.db', 'sqlite'],
      ['/sub/deeper/b.log', 'text'],
    ]);
    expect(result.skipped.map((s) => s.path.slice(root.length))).toEqual(['/link.log', '/sub/app.db-wal', '/sub/loop']);
    expect(result.findings).toEqual(seen);
    expect(result.findings).toHaveLength(8);
    expect(result.findings.at(-1)).toEqual({ file: join(root, 'sub', 'deeper', 'b.log'), location: { type: 'text', line: 1 }, match: { kind: 'subject-data', field: 'contact.phone' } });
    expect(JSON.stringify(result)).not.toContain(EMAIL);
  });

  it('scans -journal, -wal and -shm files beside a file that is not an SQLite database', async () => {
    const root = join(dir, 'not-sidecars');
    mkdirSync(root);
    writeFileSync(join(root, 'report'), 'quarterly report\n');
    writeFileSync(join(root, 'report-journal'), `2026-01-02 called ${PHONE_WRITTEN}\n`);
    writeFileSync(join(root, 'report-wal'), 'clean\n');
    const result = await scanPaths([root], matcher);
    expect(result.files.map((f) => f.file.slice(root.length))).toEqual(['/report', '/report-journal', '/report-wal']);
    expect(result.skipped).toEqual([]);
    expect(result.findings.map((f) => f.file.slice(root.length))).toEqual(['/report-journal']);
  });
});

describe('scanFile at scale', () => {
  it('finds exactly the 3 values planted in a 100k-row database and a 100k-line log', async () => {
    const rows = 100_000;
    const dbPath = join(dir, 'big.db');
    const db = new Database(dbPath);
    db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, phone TEXT, email TEXT, profile TEXT, note TEXT)');
    const insert = db.prepare('INSERT INTO users (id, name, phone, email, profile, note) VALUES (?, ?, ?, ?, ?, ?)');
    db.transaction(() => {
      for (let i = 1; i <= rows; i++) {
        const phone = i === 12_345 ? PHONE_WRITTEN : `+86139${String(i).padStart(8, '0')}`;
        const profile = JSON.stringify({ city: 'Hangzhou', email: i === 54_321 ? EMAIL : `user${i}@example.com`, tags: ['a', 'b'] });
        insert.run(i, `user ${i}`, phone, `user${i}@example.com`, profile, i === 99_999 ? ADDRESS : `note ${i}`);
      }
    })();
    db.close();

    let started = performance.now();
    const { summary, findings } = await scan(dbPath);
    const dbSeconds = (performance.now() - started) / 1000;
    expect(summary.units).toBe(rows);
    expect(brief(findings)).toEqual([
      [{ type: 'sqlite', table: 'users', column: 'phone', rowid: 12_345 }, { kind: 'subject-data', field: 'contact.phone' }],
      [{ type: 'sqlite', table: 'users', column: 'profile', rowid: 54_321, field: '$.email' }, { kind: 'subject-data', field: 'contact.email' }],
      [{ type: 'sqlite', table: 'users', column: 'note', rowid: 99_999 }, { kind: 'subject-data', field: 'contact.address' }],
    ]);

    const logPath = join(dir, 'big.log');
    const lines: string[] = [];
    for (let i = 1; i <= rows; i++) {
      if (i === 1) lines.push(`2026-01-01T00:00:00Z INFO user ${EMAIL_WRITTEN} logged in`);
      else if (i === 50_000) lines.push(`2026-01-01T00:00:00Z INFO sms to ${PHONE_WRITTEN} queued`);
      else if (i === rows) lines.push(`2026-01-01T00:00:00Z DEBUG {"address": "${ADDRESS}"}`);
      else lines.push(`2026-01-01T00:00:00Z INFO request ${i} from +86139${String(i).padStart(8, '0')} user${i}@example.com ok`);
    }
    writeFileSync(logPath, `${lines.join('\n')}\n`);
    started = performance.now();
    const log = await scan(logPath);
    const logSeconds = (performance.now() - started) / 1000;
    expect(log.summary).toMatchObject({ format: 'text', units: rows, findings: 3 });
    expect(log.findings.map((f) => f.location)).toEqual([
      { type: 'text', line: 1 },
      { type: 'text', line: 50_000 },
      { type: 'text', line: rows },
    ]);
    console.log(
      `scan rates with the blind-index matcher (in-memory index): SQLite ${Math.round(rows / dbSeconds).toLocaleString('en-US')} rows/s (5 text columns, one JSON; ${dbSeconds.toFixed(2)} s), log ${Math.round(rows / logSeconds).toLocaleString('en-US')} lines/s (${logSeconds.toFixed(2)} s)`,
    );
  });
});
