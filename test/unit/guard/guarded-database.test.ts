import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { types } from 'node:util';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GuardWarning } from '../../../src/guard/assert-no-minor-data.js';
import { guardDatabase, sqlLiterals } from '../../../src/guard/guarded-database.js';
import { Sensitive } from '../../../src/guard/sensitive.js';
import { testMatcher } from '../../helpers/leak-matcher.js';
import { expectVaultError } from '../../helpers/unit-errors.js';

const CHILD_PHONE = '+8613800138000';
const CHILD_EMAIL = 'xiaoming2015@qq.com';
const CANARY_PHONE = '+8613912345678';
const ADULT_PHONE = '+8613700001111';
const ADULT_EMAIL = 'parent.wang@example.com';
const FACE = jpeg(0x11);
const ADULT_PHOTO = jpeg(0x33);
const SECRETS = ['13800138000', '138 0013', '0013 8000', 'xiaoming', 'qq.com', '13912345678', Buffer.from(FACE).toString('hex').slice(0, 16).toUpperCase()];

function jpeg(fill: number): Uint8Array {
  const b = new Uint8Array(64).fill(fill);
  b.set([0xff, 0xd8, 0xff, 0xe0]);
  return b;
}

/** What the blind index holds: a child's phone, e-mail and face, and a canary's phone (`testMatcher` is the real matcher over it). */
const stored = { phones: [CHILD_PHONE], emails: [CHILD_EMAIL], faces: [FACE], canary: { phones: [CANARY_PHONE] } };

let dir: string;
let raw: Database.Database;
let db: Database.Database;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'childvault-guarded-db-'));
  raw = new Database(join(dir, 'app.db'));
  raw.pragma('journal_mode = WAL');
  raw.exec('CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, phone TEXT, note TEXT, photo BLOB, n INTEGER)');
  db = guardDatabase(raw, testMatcher(stored));
});

afterEach(() => {
  if (raw.open) raw.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The table as stored, read around the guard. */
function rows(): unknown[] {
  return raw.prepare('SELECT name, phone, note, n FROM people ORDER BY id').all();
}

/** `fn` must be refused with PLAINTEXT_LEAK, write nothing, and not echo any value. */
function expectRefused(fn: () => unknown, message?: string | RegExp): string {
  const before = rows();
  const error = expectVaultError(fn, 'PLAINTEXT_LEAK');
  for (const secret of SECRETS) expect(error.message).not.toContain(secret);
  if (message !== undefined) expect(error.message).toMatch(message);
  expect(rows()).toEqual(before);
  return error.message;
}

const INSERT = 'INSERT INTO people (name, phone, note, photo, n) VALUES (?, ?, ?, ?, ?)';
const INSERT_NAMED = 'INSERT INTO people (name, phone, note, photo, n) VALUES (@name, @phone, @note, @photo, @n)';

describe('guardDatabase: the wrapper', () => {
  it('is still a Database, and passes everything else through', () => {
    expect(db).toBeInstanceOf(Database);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.open).toBe(true);
    expect(db.name).toBe(raw.name);
    db.function('twice', (x: unknown) => Number(x) * 2);
    expect(db.prepare('SELECT twice(21) AS v').get()).toEqual({ v: 42 });
    db.close();
    expect(raw.open).toBe(false);
  });

  it('returns reads unwrapped and writes wrapped', () => {
    expect(types.isProxy(db.prepare('SELECT * FROM people'))).toBe(false);
    expect(types.isProxy(db.prepare(INSERT))).toBe(true);
    expect(types.isProxy(db.prepare('INSERT INTO people (name) VALUES (?) RETURNING id'))).toBe(true);
  });

  it('keeps a wrapped statement wrapped through chaining, and its database is the guarded one', () => {
    const stmt = db.prepare('INSERT INTO people (phone) VALUES (?) RETURNING id');
    expect(stmt.database).toBe(db);
    expect(stmt.pluck()).toBe(stmt);
    expectRefused(() => stmt.pluck().get(CHILD_PHONE), /in parameter 1/);
    expect(stmt.source).toContain('RETURNING');
    expect(stmt.reader).toBe(true);
    expect(stmt.readonly).toBe(false);
    expect(Object.keys(stmt)).toEqual(['busy', 'reader', 'readonly', 'source', 'database']);
    expect('run' in stmt && 'database' in stmt).toBe(true);
    expect(Object.getOwnPropertyDescriptor(stmt, 'database')?.value).toBe(db);
    expect((db.transaction(() => 1) as unknown as { database: unknown }).database).toBe(db);
  });
});

describe('guardDatabase: bound parameters', () => {
  it('refuses positional parameters, naming the position', () => {
    const stmt = db.prepare(INSERT);
    const message = expectRefused(() => stmt.run('Ming', '+86 138 0013 8000', null, null, 1), /in parameter 2/);
    expect(message).toBe("guarded database: refusing to write minor data (a stored child's contact.phone) in parameter 2");
  });

  it('refuses an array of parameters and named parameters', () => {
    expectRefused(() => db.prepare(INSERT).run(['Ming', null, `mail ${CHILD_EMAIL}`, null, 1]), /contact\.email\) in parameter 3$/);
    expectRefused(() => db.prepare(INSERT_NAMED).run({ name: 'Ming', phone: null, note: null, photo: null, n: 13800138000 }), /in parameter n$/);
  });

  it('binds exactly what it checked: a getter read once, a non-enumerable property not bound at all', () => {
    let reads = 0;
    const flipping = { name: 'Ming', phone: null, photo: null, n: 1 } as Record<string, unknown>;
    Object.defineProperty(flipping, 'note', { enumerable: true, get: () => (reads++ === 0 ? 'clean' : `call ${CHILD_PHONE}`) });
    db.prepare(INSERT_NAMED).run(flipping);
    expect(reads).toBe(1);
    expect(rows()).toEqual([{ name: 'Ming', phone: null, note: 'clean', n: 1 }]);

    const hidden = { name: 'Ming', phone: null, note: null, n: 1 } as Record<string, unknown>;
    Object.defineProperty(hidden, 'photo', { enumerable: false, value: FACE });
    expect(() => db.prepare(INSERT_NAMED).run(hidden)).toThrow(/missing named parameter/i);
    expect(rows()).toHaveLength(1);
  });

  it('does not write a phone in a non-enumerable property of an object from another realm (vm context)', () => {
    const foreign = runInNewContext('({ name: "Ming", phone: null, photo: null, n: 1 })') as Record<string, unknown>;
    expect(Object.getPrototypeOf(foreign)).not.toBe(Object.prototype);
    Object.defineProperty(foreign, 'note', { enumerable: false, value: `call ${CHILD_PHONE}` });
    expect(() => db.prepare(INSERT_NAMED).run(foreign)).toThrow(/missing named parameter/i);
    expect(rows()).toEqual([]);
    const nullProto = runInNewContext('Object.create(null)') as Record<string, unknown>;
    Object.assign(nullProto, { name: 'Ming', phone: null, photo: null, n: 1 });
    Object.defineProperty(nullProto, 'note', { enumerable: false, value: CHILD_PHONE });
    expect(() => db.prepare(INSERT_NAMED).run(nullProto)).toThrow(/missing named parameter/i);
    expect(rows()).toEqual([]);
  });

  it('binds what it read once from a getter that is clean on the first read, also on an object of another realm', () => {
    let reads = 0;
    const foreign = runInNewContext('({ name: "Ming", phone: null, photo: null, n: 1 })') as Record<string, unknown>;
    Object.defineProperty(foreign, 'note', { enumerable: true, get: () => (reads++ === 0 ? 'clean' : `call ${CHILD_PHONE}`) });
    db.prepare(INSERT_NAMED).run(foreign);
    expect(reads).toBe(1);
    let itemReads = 0;
    const list = runInNewContext('["Ming", null, null, null, 1]') as unknown[];
    Object.defineProperty(list, 2, { enumerable: true, get: () => (itemReads++ === 0 ? 'clean too' : CHILD_PHONE) });
    db.prepare(INSERT).run(list);
    expect(itemReads).toBe(1);
    expect(rows()).toEqual([
      { name: 'Ming', phone: null, note: 'clean', n: 1 },
      { name: 'Ming', phone: null, note: 'clean too', n: 1 },
    ]);
  });

  it('refuses an object that is neither an array, bytes nor plain named parameters, naming the parameter', () => {
    class Row {
      get note(): string {
        return CHILD_PHONE;
      }
    }
    const error = expectVaultError(() => db.prepare(INSERT_NAMED).run(new Row()), 'VALIDATION');
    expect(error.message).toContain('parameter 1');
    expect(error.message).not.toContain('13800138000');
    expectVaultError(() => db.prepare('INSERT INTO people (name) VALUES (?)').run(new Date()), 'VALIDATION');
  });

  it('refuses face bytes as a Buffer and as a Uint8Array', () => {
    const stmt = db.prepare(INSERT);
    expectRefused(() => stmt.run('Ming', null, null, Buffer.from(FACE), 1), /face\.image\) in parameter 4/);
    expectRefused(() => stmt.run('Ming', null, null, new Uint8Array(FACE), 1), /in parameter 4/);
  });

  it('refuses JSON whose fields carry minor data, naming the path inside', () => {
    const note = JSON.stringify({ guardian: { phone: ADULT_PHONE }, child: { phone: CHILD_PHONE } });
    expectRefused(() => db.prepare(INSERT).run('Ming', null, note, null, 1), /in parameter 3 at \$<json>\.child\.phone$/);
  });

  it('refuses a phone hidden behind a duplicate JSON key, which the parsed form drops', () => {
    expectRefused(() => db.prepare(INSERT).run('Ming', null, '{"p":"+8613912345678","p":null}', null, 1), /canary's contact\.phone\) in parameter 3$/);
    expectRefused(() => db.prepare(INSERT_NAMED).run({ name: 'Ming', phone: null, note: `{"p":"${CHILD_PHONE}","p":null}`, photo: null, n: 1 }), /in parameter note$/);
  });

  it('refuses a Sensitive and a canary', () => {
    const stmt = db.prepare(INSERT_NAMED);
    const row = { name: 'Ming', phone: new Sensitive(ADULT_PHONE, 'contact'), note: null, photo: null, n: 1 };
    expectRefused(() => stmt.run(row), /a Sensitive contact value\) in parameter phone/);
    expectRefused(() => stmt.run({ ...row, phone: '139-1234-5678' }), /a canary's contact\.phone/);
  });

  it('refuses UPDATE and INSERT … RETURNING through get(), all() and iterate()', () => {
    raw.prepare("INSERT INTO people (name) VALUES ('Ming')").run();
    expectRefused(() => db.prepare('UPDATE people SET note = ? WHERE id = 1').run(CHILD_EMAIL.toUpperCase()));
    const returning = db.prepare('INSERT INTO people (phone) VALUES (?) RETURNING id');
    expectRefused(() => returning.get(CHILD_PHONE));
    expectRefused(() => returning.all(CHILD_PHONE));
    expectRefused(() => returning.iterate(CHILD_PHONE));
    expect(returning.get(ADULT_PHONE)).toEqual({ id: 2 });
  });

  it("writes clean rows: adults' contacts, ordinary text, numbers and photos", () => {
    db.prepare(INSERT).run('Wang', ADULT_PHONE, 'paid ¥12.50 on 2024-05-01', Buffer.from(ADULT_PHOTO), 1717171717171);
    db.prepare(INSERT_NAMED).run({ name: 'Li', phone: null, note: JSON.stringify({ email: ADULT_EMAIL }), photo: null, n: 42 });
    db.prepare('UPDATE people SET note = ? WHERE id = ?').run('v1.2.3', 1);
    expect(rows()).toEqual([
      { name: 'Wang', phone: ADULT_PHONE, note: 'v1.2.3', n: 1717171717171 },
      { name: 'Li', phone: null, note: JSON.stringify({ email: ADULT_EMAIL }), n: 42 },
    ]);
  });

  it('checks parameters at bind() time, and a bound statement stays guarded', () => {
    expectRefused(() => db.prepare(INSERT).bind('Ming', CHILD_PHONE, null, null, 1));
    const bound = db.prepare(INSERT).bind('Wang', ADULT_PHONE, null, null, 1);
    expect(types.isProxy(bound)).toBe(true);
    bound.run();
    expect(rows()).toHaveLength(1);
  });
});

describe('guardDatabase: transactions', () => {
  it('commits clean rows and rolls the whole transaction back on a refusal', () => {
    const insert = db.prepare(INSERT);
    const insertMany = db.transaction((phones: string[]) => {
      for (const phone of phones) insert.run('x', phone, null, null, 1);
    });
    insertMany([ADULT_PHONE, '+8613700002222']);
    expect(rows()).toHaveLength(2);
    expectRefused(() => {
      insertMany(['+8613700003333', CHILD_PHONE, '+8613700004444']);
    });
    expect(rows()).toHaveLength(2);
    expect(raw.inTransaction).toBe(false);
  });

  it('keeps immediate/exclusive variants working', () => {
    const insert = db.prepare(INSERT);
    db.transaction(() => insert.run('x', ADULT_PHONE, null, null, 1)).immediate();
    expect(rows()).toHaveLength(1);
  });
});

describe('guardDatabase: SQL literals', () => {
  it('refuses a writing statement with a literal at prepare time', () => {
    expectRefused(() => db.prepare("INSERT INTO people (phone) VALUES ('+86 138 0013 8000')"), /in a SQL literal$/);
    expectRefused(() => db.prepare("UPDATE people SET note = 'it''s ' || 'xiaoming2015@QQ.com'"), /contact\.email\) in a SQL literal/);
    expectRefused(() => db.prepare('INSERT INTO people (n) VALUES (13800138000)'), /in a SQL literal/);
  });

  it("refuses an X'…' blob literal of a known photo", () => {
    const hex = Buffer.from(FACE).toString('hex').toUpperCase();
    expectRefused(() => db.prepare(`INSERT INTO people (photo) VALUES (X'${hex}')`), /face\.image\) in a SQL literal/);
    expectRefused(() => {
      db.exec(`INSERT INTO people (photo) VALUES (x'${hex}')`);
    }, /face\.image\) in a SQL literal/);
  });

  it('refuses an exec script before running any of it', () => {
    expectRefused(() => {
      db.exec(`INSERT INTO people (name) VALUES ('a'); INSERT INTO people (phone) VALUES ('${CHILD_PHONE}');`);
    }, /in a SQL literal/);
    expect(rows()).toEqual([]);
  });

  it('runs clean scripts and statements with clean literals', () => {
    expect(db.exec(`INSERT INTO people (name, phone) VALUES ('it''s Wang', '${ADULT_PHONE}') -- an adult`)).toBe(db);
    db.prepare(`INSERT INTO people (name, photo) VALUES ('Li', X'${Buffer.from(ADULT_PHOTO).toString('hex')}')`).run();
    expect(rows()).toHaveLength(2);
  });

  it('lexes strings, blobs, quoted names, comments and integers', () => {
    const literals = sqlLiterals(`SELECT 'it''s', x'00ff', "col ""a""", \`b\`, [c d], 42, 1.5, max(x) -- tail\n/* block */`);
    expect(literals).toEqual(["it's", new Uint8Array([0, 255]), 'col "a"', 'b', 'c d', 42, 1, 5, ' tail', ' block ']);
  });
});

describe('guardDatabase: reads', () => {
  it('reads rows holding minor data, and lets SELECT take minor data as a parameter', () => {
    raw.prepare('INSERT INTO people (name, phone) VALUES (?, ?)').run('Ming', CHILD_PHONE);
    expect(db.prepare('SELECT phone FROM people WHERE phone = ?').get(CHILD_PHONE)).toEqual({ phone: CHILD_PHONE });
    expect(db.prepare(`SELECT count(*) AS c FROM people WHERE phone = '${CHILD_PHONE}'`).get()).toEqual({ c: 1 });
    expect([...db.prepare('SELECT name FROM people').iterate()]).toEqual([{ name: 'Ming' }]);
  });
});

describe('guardDatabase: deletes', () => {
  it("lets a DELETE select rows by a child's phone (erasure), unwrapped", () => {
    raw.prepare('INSERT INTO people (name, phone) VALUES (?, ?)').run('Ming', CHILD_PHONE);
    const erase = db.prepare('/* erasure */ DELETE FROM people WHERE phone = ?');
    expect(types.isProxy(erase)).toBe(false);
    expect(erase.run(CHILD_PHONE).changes).toBe(1);
    db.prepare(`delete from people where phone = '${CHILD_PHONE}'`).run();
  });

  it('still checks a statement that only mentions delete', () => {
    expectRefused(() => db.prepare("INSERT INTO people (name, note) VALUES ('delete', ?)").run(CHILD_PHONE));
  });
});

describe('guardDatabase: patterns', () => {
  it("warns about adults' contacts and photos through onWarning, and writes them", () => {
    const warnings: GuardWarning[] = [];
    const patterned = guardDatabase(raw, testMatcher(stored), { patterns: true, onWarning: (w) => warnings.push(w) });
    patterned.prepare(INSERT).run('Wang', ADULT_PHONE, JSON.stringify({ mail: ADULT_EMAIL }), Buffer.from(ADULT_PHOTO), 1);
    expect(warnings).toEqual([
      { path: '<parameter 2>', match: { kind: 'pattern', pattern: 'phone' }, where: 'guarded database' },
      { path: '<parameter 3>$<json>.mail', match: { kind: 'pattern', pattern: 'email' }, where: 'guarded database' },
      { path: '<parameter 4>', match: { kind: 'pattern', pattern: 'image' }, where: 'guarded database' },
    ]);
    expect(rows()).toHaveLength(1);
  });
});
