/**
 * Leak-guard cases: an INSERT of a clean row (no minor data) through `vault.guard.database(db)`
 * against the same INSERT on the unguarded connection, in the same run. The vault behind the guard
 * holds GUARD_CHILDREN children's contacts and photos, so each lookup walks a real blind index.
 *
 * Two shapes of service write: one row per commit (the common web-request shape; the service's
 * database in WAL with synchronous=NORMAL, so the commit costs no fsync and the guard's CPU shows)
 * and 100 rows per transaction (bulk jobs), where the insert itself is a few microseconds.
 * Target (issue 6): guarded ≥ 0.7× unguarded for rows without minor data.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { generateKeyFile, keyFile, openVault } from '../src/index.js';
import { runCase, type ResultRow, type Settings } from './harness.js';
import { benchCtx, benchPolicy } from './policy.js';

/** `BENCH_ONLY=guard` runs these cases alone. */
export const GUARD_CASE_PREFIX = 'guarded INSERT';
const GUARD_CHILDREN = 10_000;
const TARGET = 0.7;
const BATCH = 100;

/** A clean row of a typical service table: ids, a status, a timestamp, a short note, a JSON blob. */
function cleanRow(i: number): [number, string, string, string, string] {
  return [i, i % 3 === 0 ? 'active' : 'pending', new Date(1_790_000_000_000 + i * 1000).toISOString(), `order ${i} shipped to locker B${i % 40}`, JSON.stringify({ items: i % 5, coupon: i % 7 === 0 ? 'WINTER' : null })];
}

export async function runGuardCases(dir: string, settings: Settings, log: (line: string) => void): Promise<{ rows: ResultRow[]; notes: string[] }> {
  const keyPath = join(dir, 'guard-master.key');
  await generateKeyFile(keyPath);
  const vault = await openVault({ create: true, path: join(dir, 'guard-vault.db'), masterKey: keyFile(keyPath), durability: 'normal', policy: benchPolicy });
  const service = new Database(join(dir, 'service.db'));
  try {
    log(`  storing ${GUARD_CHILDREN.toLocaleString('en-US')} children's contacts and photos behind the guard …`);
    for (let start = 0; start < GUARD_CHILDREN; start += 500) {
      const items = Array.from({ length: 500 }, (_, k) => {
        const n = start + k;
        const image = new Uint8Array(1024);
        image.set([0xff, 0xd8, 0xff, 0xe0, n & 0xff, (n >> 8) & 0xff]);
        return { subject: `u:${n}`, values: { contact: { phone: `+86138${String(n).padStart(8, '0')}`, email: `kid${n}@example.com`, address: `No. ${n} Bench Road, Hangzhou` }, face: { image } } };
      });
      await vault.putMany(items, benchCtx);
    }
    service.pragma('journal_mode = WAL');
    service.pragma('synchronous = NORMAL');
    service.exec('CREATE TABLE orders (id INTEGER, status TEXT, created_at TEXT, note TEXT, extra TEXT)');
    const guarded = vault.guard.database(service);
    const rawInsert = service.prepare('INSERT INTO orders VALUES (?, ?, ?, ?, ?)');
    const guardedInsert = guarded.prepare('INSERT INTO orders VALUES (?, ?, ?, ?, ?)');
    let i = 0;
    const rawMany = service.transaction(() => {
      for (let k = 0; k < BATCH; k++) rawInsert.run(...cleanRow(i++));
    });
    const guardedMany = guarded.transaction(() => {
      for (let k = 0; k < BATCH; k++) guardedInsert.run(...cleanRow(i++));
    });
    const rows: ResultRow[] = [];
    const cases = [
      {
        name: 'guarded INSERT of a clean 5-column row, one per commit (service db WAL, synchronous=NORMAL)',
        itemsPerCall: 1,
        vault: () => {
          guardedInsert.run(...cleanRow(i++));
        },
        baselines: [
          {
            label: 'the same INSERT on the unguarded connection',
            op: () => {
              rawInsert.run(...cleanRow(i++));
            },
            target: TARGET,
          },
        ],
      },
      {
        name: `guarded INSERT of clean 5-column rows, ${BATCH} per transaction, rows/s`,
        itemsPerCall: BATCH,
        vault: () => { guardedMany(); },
        baselines: [{ label: `the same ${BATCH} INSERTs in one transaction, unguarded`, op: () => { rawMany(); }, target: TARGET }],
      },
    ];
    for (const c of cases) {
      log(`measuring ${c.name} …`);
      rows.push(...(await runCase(c, settings, log)));
    }
    const notes = [
      `guarded inserts: the guard checks each of the 5 parameters (${GUARD_CHILDREN.toLocaleString('en-US')} children's contacts and photos in the vault's blind index): strings are normalised and looked up as phone/e-mail/address candidates where they could be one; the one-per-commit case has no fsync (synchronous=NORMAL), so it shows the guard's CPU against a cheap commit`,
    ];
    return { rows, notes };
  } finally {
    service.close();
    await vault.close();
  }
}
