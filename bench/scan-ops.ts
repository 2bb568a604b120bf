/**
 * The leak-scanner cases: `scanFile` over a 100,000-row SQLite "service database" (5 text
 * columns, two of them JSON) and over a 100,000-line log, in full passes beside raw baselines run
 * in the same rounds:
 *
 * - raw better-sqlite3 `.raw().iterate()` reading every column of every row (the floor of any
 *   scan), and the same plus the matcher on every text value (the floor with matching: what the
 *   scanner adds on top is JSON walking, location bookkeeping and progress);
 * - for the log: a raw read of the file split into lines, with and without the matcher per line.
 *
 * The scanner side is `vault.guard.scan` on a real vault holding the planted children and 10,000
 * others (blind index in the vault file, with its in-memory prefilter); "the matcher" in the
 * baselines is the same vault's `guard.findMinorData` on each value.
 */
import Database from 'better-sqlite3';
import { createReadStream, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyFile, keyFile, openVault, type Vault } from '../src/index.js';
import { measurePasses, rowsFromSamples, type ResultRow } from './harness.js';
import { benchCtx, benchPolicy } from './policy.js';

/** What the baselines run on each value: the vault's own check. */
type Match = (text: string) => unknown;

/** The names of the cases measured here (BENCH_ONLY matches them). */
export const SCAN_CASES = ['scan SQLite service database', 'scan log file'] as const;

const ROWS = Number(process.env['BENCH_SCAN_ROWS'] ?? 100_000);
const ROUNDS = Number(process.env['BENCH_SCAN_ROUNDS'] ?? 2);

/** Planted stored-child values: each pass must find exactly these. */
const PLANTED = { phone: '+8613800138000', email: 'kid@example.cn', address: '12 Main St., Apt 3' };

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** The service database: accounts with contact columns, a JSON profile and a JSON audit trail. */
function buildServiceDb(path: string, rows: number): void {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT, phone TEXT, email TEXT, profile TEXT, last_event TEXT)');
  const insert = db.prepare('INSERT INTO accounts (id, name, phone, email, profile, last_event) VALUES (?, ?, ?, ?, ?, ?)');
  db.transaction(() => {
    for (let i = 1; i <= rows; i++) {
      const phone = i === 1_234 ? '138 0013 8000' : `+86 139 ${String(i).padStart(8, '0')}`;
      const profile = JSON.stringify({ city: 'Hangzhou', school: `School ${i % 97}`, guardian: { email: i === 45_678 ? PLANTED.email : `parent${i}@example.com`, relation: 'mother' }, tags: ['a', 'b'] });
      const event = JSON.stringify({ type: 'login', ip: `10.0.${i % 256}.${(i * 7) % 256}`, ua: 'Mozilla/5.0', at: 1767225600000 + i });
      insert.run(i, `user ${i}`, phone, `user${i}@example.com`, profile, i === rows - 1 ? JSON.stringify({ type: 'move', to: PLANTED.address }) : event);
    }
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

function buildLog(path: string, lines: number): void {
  const out: string[] = [];
  for (let i = 1; i <= lines; i++) {
    if (i === 1_234) out.push(`2026-01-01T00:00:00.000Z INFO sms to 138-0013-8000 queued`);
    else if (i === 45_678) out.push(`2026-01-01T00:00:00.000Z INFO login ${PLANTED.email}`);
    else if (i === lines - 1) out.push(`2026-01-01T00:00:00.000Z DEBUG {"address": "${PLANTED.address}"}`);
    else out.push(`2026-01-01T00:00:00.000Z INFO request ${i} from +86 139 ${String(i).padStart(8, '0')} user${i}@example.com status=200 ms=${i % 50}`);
  }
  writeFileSync(path, `${out.join('\n')}\n`);
}

/** Raw: every column of every row read through `.raw().iterate()`; `match` also runs the matcher on text. */
function rawSqlitePass(path: string, matcher: Match | null): number {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    let rows = 0;
    let chars = 0;
    for (const row of db.prepare('SELECT rowid, * FROM accounts').raw(true).iterate() as IterableIterator<unknown[]>) {
      for (const value of row) {
        if (typeof value === 'string') {
          chars += value.length;
          if (matcher !== null) matcher(value);
        }
      }
      rows++;
    }
    if (chars === 0) throw new Error('bench: nothing read');
    return rows;
  } finally {
    db.close();
  }
}

/** Raw: the file read in 1 MiB chunks and split into lines; `match` also runs the matcher per line. */
async function rawLinesPass(path: string, matcher: Match | null): Promise<number> {
  let lines = 0;
  let rest = '';
  for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark: 1024 * 1024 }) as AsyncIterable<string>) {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop() ?? '';
    for (const line of parts) {
      if (matcher !== null) matcher(line);
      lines++;
    }
  }
  return lines + (rest === '' ? 0 : 1);
}

async function scanPass(path: string, vault: Vault): Promise<number> {
  const result = await vault.guard.scan([path], benchCtx);
  if (result.findings.length !== 3) throw new Error(`bench: expected the 3 planted values in ${path}, found ${result.findings.length}`);
  return result.files.reduce((n, f) => n + f.units, 0);
}

/** A vault holding the planted children and 10,000 others, as a small platform's pool would. */
async function storedChildren(dir: string): Promise<Vault> {
  const keyPath = join(dir, 'scan-master.key');
  await generateKeyFile(keyPath);
  const vault = await openVault({ create: true, path: join(dir, 'scan-vault.db'), masterKey: keyFile(keyPath), durability: 'normal', policy: benchPolicy });
  await vault.put('u:planted', { contact: PLANTED }, benchCtx);
  for (let start = 0; start < 10_000; start += 1000) {
    await vault.putMany(
      Array.from({ length: 1000 }, (_, k) => {
        const i = start + k;
        return { subject: `u:${i}`, values: { contact: { phone: `+8615${String(i).padStart(9, '0')}`, email: `child${i}@school.example.cn`, address: `${i} Willow Road, Unit ${i % 40}` } } };
      }),
      benchCtx,
    );
  }
  return vault;
}

export async function runScanCases(dir: string, log: (line: string) => void): Promise<{ rows: ResultRow[]; notes: string[] }> {
  if (!Number.isSafeInteger(ROWS) || ROWS < 50_000) throw new Error('BENCH_SCAN_ROWS: give a whole number ≥ 50000');
  if (!Number.isSafeInteger(ROUNDS) || ROUNDS < 1) throw new Error('BENCH_SCAN_ROUNDS: give a whole number ≥ 1');
  const vault = await storedChildren(dir);
  const matcher: Match = (text) => vault.guard.findMinorData(text);
  const dbPath = join(dir, 'scan-service.db');
  const logPath = join(dir, 'scan-app.log');
  try {
    log(`building a ${fmt(ROWS)}-row service database and a ${fmt(ROWS)}-line log for the scanner …`);
    buildServiceDb(dbPath, ROWS);
    buildLog(logPath, ROWS);
    const dbMb = statSync(dbPath).size / 1024 / 1024;
    const logMb = statSync(logPath).size / 1024 / 1024;

    log(`measuring ${SCAN_CASES[0]} …`);
    const db = await measurePasses(
      [
        { label: 'scanFile', run: () => scanPass(dbPath, vault) },
        { label: 'raw iterate', run: async () => rawSqlitePass(dbPath, null) },
        { label: 'raw iterate + matcher', run: async () => rawSqlitePass(dbPath, matcher) },
      ],
      ROUNDS,
      log,
    );
    log(`measuring ${SCAN_CASES[1]} …`);
    const text = await measurePasses(
      [
        { label: 'scanFile', run: () => scanPass(logPath, vault) },
        { label: 'raw lines', run: () => rawLinesPass(logPath, null) },
        { label: 'raw lines + matcher', run: () => rawLinesPass(logPath, matcher) },
      ],
      ROUNDS,
      log,
    );
    const iterate = 'raw better-sqlite3 .raw().iterate() reading every column';
    const lines = 'raw read of the file split into lines';
    const rows = [
      ...rowsFromSamples(`${SCAN_CASES[0]}, rows/s over ${fmt(ROWS)} rows`, db[0]!, [
        { baseline: { label: iterate }, rawSamples: db[1]! },
        { baseline: { label: `${iterate} + the matcher on every text value` }, rawSamples: db[2]! },
      ]),
      ...rowsFromSamples(`${SCAN_CASES[1]}, lines/s over ${fmt(ROWS)} lines`, text[0]!, [
        { baseline: { label: lines }, rawSamples: text[1]! },
        { baseline: { label: `${lines} + the matcher on every line` }, rawSamples: text[2]! },
      ]),
    ];
    const notes = [
      `scanner: a ${dbMb.toFixed(1)} MB SQLite database (${fmt(ROWS)} rows; name, phone, email as text, profile and last_event as JSON) and a ${logMb.toFixed(1)} MB log; every pass found exactly the 3 planted values; ${ROUNDS} full passes per side`,
      `scanner: vault.guard.scan on a vault of 10,001 children's contacts (30,003 blind-index digests); the "+ the matcher" baselines call the same vault's guard.findMinorData on each value`,
    ];
    return { rows, notes };
  } finally {
    await vault.close();
    rmSync(dbPath, { force: true });
    rmSync(logPath, { force: true });
  }
}
