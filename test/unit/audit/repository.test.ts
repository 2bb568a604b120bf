/**
 * AuditRepository's SQL is derived from the entry's declaration (ENTRY_FIELDS) and its internal
 * columns: these hold the derivation to the real table, and show the rows it reads.
 */
import Database from 'better-sqlite3';
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ENTRY_FIELDS, entryToRow, ROW } from '../../../src/audit/entry.js';
import { loadSodium } from '../../../src/crypto/sodium.js';
import { AuditRepository, INTERNAL_COLUMNS, STORED_ROW } from '../../../src/store/audit-repository.js';
import { buildChain } from '../../helpers/audit-chain.js';
import { hex } from '../../helpers/unit-bytes.js';

/** An entry with its bytes as hex (SQLite hands back Buffers, the chain holds Uint8Arrays). */
const plain = (e: object | undefined): unknown => (e === undefined ? e : Object.fromEntries(Object.entries(e).map(([k, v]) => [k, v instanceof Uint8Array ? hex(v) : (v as unknown)])));

const MIGRATIONS = new URL('../../../migrations/', import.meta.url);

let db: Database.Database;

beforeAll(async () => {
  await loadSodium();
});

beforeEach(() => {
  db = new Database(':memory:');
  // Every migration, in order: the table as a vault has it (a later one may add columns).
  for (const name of readdirSync(MIGRATIONS).filter((n) => n.endsWith('.sql')).sort()) db.exec(readFileSync(new URL(name, MIGRATIONS), 'utf8'));
});

afterEach(() => {
  db.close();
});

describe('AuditRepository derived from the declaration', () => {
  it('declares every column of audit_log, entry fields first, then the internal ones, in table order', () => {
    const columns = (db.prepare('PRAGMA table_info(audit_log)').all() as { name: string }[]).map((c) => c.name);
    expect(columns).toEqual([...ENTRY_FIELDS.map((f) => f.column), ...INTERNAL_COLUMNS.map((c: { column: string }) => c.column)]);
    expect(Object.keys(STORED_ROW)).toHaveLength(INTERNAL_COLUMNS.length);
  });

  it('stores entries and reads them back as objects and as raw rows in declaration order', () => {
    const repo = new AuditRepository(db);
    const chain = buildChain(30);
    const macOf = (seq: number) => new Uint8Array(32).fill(seq);
    for (const e of chain.entries) repo.insert(e, macOf(e.seq));
    expect(plain(repo.entry(7))).toEqual(plain(chain.entries[6]));
    expect(repo.page(10, 20, 5).map(plain)).toEqual(chain.entries.slice(10, 15).map(plain));
    const rows = repo.pageRows(0, 30, 100);
    expect(rows).toHaveLength(30);
    rows.forEach((r, i) => {
      // The export's rows: the entry's fields only.
      expect([...r]).toEqual([...entryToRow(chain.entries[i]!)]);
      expect(r[ROW.seq]).toBe(i + 1);
    });
    // An entry without a subject reads as null, not as the hex of nothing.
    const anonymous = chain.entries.find((e) => e.subject === null)!;
    expect(rows[anonymous.seq - 1]![ROW.subject]).toBeNull();
    expect(plain(repo.head())).toEqual({ seq: 30, ts: chain.entries[29]!.ts, hash: hex(chain.entries[29]!.hash), mac: hex(macOf(30)) });
  });

  it('reads the internal columns after the entry in the verifiers\' rows, at STORED_ROW', () => {
    const repo = new AuditRepository(db);
    const chain = buildChain(5);
    for (const e of chain.entries) repo.insert(e, e.seq === 3 ? null : new Uint8Array(32).fill(e.seq));
    const rows = repo.verifyRows(0, 5, 10);
    expect(STORED_ROW.mac).toBe(ENTRY_FIELDS.length);
    expect(rows.map((r) => r[STORED_ROW.mac])).toEqual(['01'.repeat(32), '02'.repeat(32), null, '04'.repeat(32), '05'.repeat(32)]);
    rows.forEach((r, i) => {
      expect(r.slice(0, ENTRY_FIELDS.length)).toEqual([...entryToRow(chain.entries[i]!)]);
    });
    expect(repo.mac(2)).toEqual(Buffer.from(new Uint8Array(32).fill(2)));
  });
});
