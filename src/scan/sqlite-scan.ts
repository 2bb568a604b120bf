/**
 * Scans every cell of every table of an SQLite file — a service's database that may hold copies
 * of children's data.
 *
 * The file is opened read-only with `query_only` and `trusted_schema` OFF: scanning never writes,
 * and never runs functions a hostile schema names. Tables are read with `.iterate()`, one row in
 * memory at a time. Each table is read in one statement, so it holds a read lock while it is
 * read: on a rollback-journal database (not WAL) writers wait meanwhile — scan a copy of a busy
 * one.
 *
 * Not scanned, each with a note: virtual tables (their module's storage is scanned as the shadow
 * tables it is made of, e.g. FTS5's `_content`), generated columns (computed from the others), and
 * SQLite's own tables (`sqlite_%`).
 *
 * Table and column names can be data too (a table per user named after a phone number): every
 * name is matched — a match is reported at the schema (rowid null, field `<table name>` or
 * `<column name>`) — and a name is printed only when it is a plain identifier that matched
 * nothing; otherwise by position (`table #3`, `column #2`; see ScanLocation).
 */
import Database from 'better-sqlite3';
import { VaultError } from '../errors.js';
import { isPrintableName, oneLine } from '../guard/printable.js';
import { translateStorageError } from '../store/database.js';
import type { FindingSink } from './findings.js';
import { isMatcherError } from './matcher-errors.js';
import type { ProgressTicker } from './progress.js';
import type { ValueScanner } from './values.js';

export const DEFAULT_BUSY_TIMEOUT_MS = 5000;
/** Rows between two progress checks (a clock read each). */
const PULSE_ROWS = 512;

interface TableInfo {
  readonly name: string;
  /** The table as reports show it: its name, or `table #N`. */
  readonly label: string;
  /** Scanned columns (generated ones left out). */
  readonly columns: readonly string[];
  /** The scanned columns as reports show them: names, or `column #N`. */
  readonly labels: readonly string[];
  /** The name to select the rowid by, or null (WITHOUT ROWID, or every alias shadowed). */
  readonly rowidAlias: string | null;
  readonly rows: number;
}

export interface SqliteScanResult {
  readonly rows: number;
  readonly notes: string[];
}

/** `"name"` with quotes doubled: any table or column name, however odd, as an SQL identifier. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * A one-line, actionable error naming the file (never a value) for an SQLite failure. The
 * matcher's own errors (the vault's database failing) are rethrown unchanged: not this file's.
 */
export function sqliteScanError(error: unknown, path: string, busyTimeoutMs: number): VaultError {
  if (isMatcherError(error)) throw error;
  if (error instanceof VaultError) return error;
  const code = typeof (error as { code?: unknown } | null)?.code === 'string' ? (error as { code: string }).code : '';
  const what = `scanning ${oneLine(path)}`;
  if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code === 'SQLITE_LOCKED' || code.startsWith('SQLITE_LOCKED_')) {
    return new VaultError('BUSY', `${what}: the database stayed locked by another process for ${busyTimeoutMs / 1000}s (a write in progress); retry when it ends, or scan a copy`, { cause: error });
  }
  if (code === 'SQLITE_NOTADB') {
    return new VaultError('CORRUPT', `${what}: the file has an SQLite header but is not a readable database (corrupt, or encrypted); scan an intact copy`, { cause: error });
  }
  if (code === 'SQLITE_CORRUPT' || code.startsWith('SQLITE_CORRUPT_')) {
    return new VaultError('CORRUPT', `${what}: SQLite reports the database corrupt; recover it into a copy (sqlite3 FILE .recover) and scan that`, { cause: error });
  }
  if (code === 'SQLITE_CANTOPEN' || code.startsWith('SQLITE_CANTOPEN_') || code === 'SQLITE_READONLY' || code.startsWith('SQLITE_READONLY_')) {
    return new VaultError('STORAGE', `${what}: SQLite cannot open it read-only (${code}: no permission, or a WAL database whose -shm file cannot be created here); scan a copy in a writable directory`, { cause: error });
  }
  return translateStorageError(error, what);
}

/**
 * A table or column name as reports show it: itself when printable and matched nothing, else
 * `position`. Matched (and reported at the current location, set by the caller) on the way.
 */
function label(name: string, position: string, values: ValueScanner, field: string): string {
  const matched = values.name(name, field);
  return !matched && isPrintableName(name) ? name : position;
}

/** A table as notes name it: `table "name"` or `table #N`. */
function noteName(table: string, tableLabel: string): string {
  return tableLabel === table ? `table ${quoteIdentifier(table)}` : tableLabel;
}

function listTables(db: Database.Database, notes: string[], values: ValueScanner, sink: FindingSink): TableInfo[] {
  const schema = db.prepare("SELECT name, sql FROM main.sqlite_schema WHERE type = 'table' ORDER BY name").all() as { name: string; sql: string | null }[];
  const tableList = db.prepare("SELECT wr FROM pragma_table_list(?) WHERE schema = 'main'");
  const columnList = db.prepare("SELECT name, hidden FROM pragma_table_xinfo(?, 'main')");
  const tables: TableInfo[] = [];
  for (const [i, { name, sql }] of schema.entries()) {
    if (name.toLowerCase().startsWith('sqlite_')) continue;
    const position = `table #${i + 1}`;
    sink.atCell(position, '', null);
    const tableLabel = label(name, position, values, '<table name>');
    const shown = noteName(name, tableLabel);
    if (sql !== null && /^\s*CREATE\s+VIRTUAL\s+TABLE\b/i.test(sql)) {
      notes.push(`${shown}: a virtual table, not scanned (tables its module stores data in are scanned like any other)`);
      continue;
    }
    const withoutRowid = (tableList.get(name) as { wr: number } | undefined)?.wr === 1;
    const all = columnList.all(name) as { name: string; hidden: number }[];
    const columns: string[] = [];
    const labels: string[] = [];
    for (const [c, column] of all.entries()) {
      sink.atCell(tableLabel, `column #${c + 1}`, null);
      const columnLabel = label(column.name, `column #${c + 1}`, values, '<column name>');
      if (column.hidden !== 0) continue;
      columns.push(column.name);
      labels.push(columnLabel);
    }
    const generated = all.length - columns.length;
    if (generated > 0) notes.push(`${shown}: ${generated} generated column(s) not scanned (computed from the others)`);
    const taken = new Set(all.map((c) => c.name.toLowerCase()));
    const rowidAlias = withoutRowid ? null : (['rowid', '_rowid_', 'oid'].find((alias) => !taken.has(alias)) ?? null);
    if (!withoutRowid && rowidAlias === null) notes.push(`${shown}: columns named rowid, _rowid_ and oid hide the rowid; findings there have rowid null`);
    const { n } = db.prepare(`SELECT count(*) AS n FROM main.${quoteIdentifier(name)}`).get() as { n: number };
    tables.push({ name, label: tableLabel, columns, labels, rowidAlias, rows: n });
  }
  return tables;
}

/** Scans every cell; throws a VaultError (BUSY, CORRUPT, STORAGE) naming the file. */
export async function scanSqlite(path: string, size: number, values: ValueScanner, sink: FindingSink, ticker: ProgressTicker, busyTimeoutMs: number): Promise<SqliteScanResult> {
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true, timeout: busyTimeoutMs });
  } catch (error) {
    throw sqliteScanError(error, path, busyTimeoutMs);
  }
  const notes: string[] = [];
  try {
    db.pragma('query_only = ON');
    db.pragma('trusted_schema = OFF');
    const tables = listTables(db, notes, values, sink);
    // Progress by rows: the share of all rows read, as a share of the file's bytes.
    const totalRows = tables.reduce((sum, t) => sum + t.rows, 0);
    const bytesPerRow = totalRows === 0 ? 0 : size / totalRows;
    let rows = 0;
    for (const table of tables) {
      const select = [...(table.rowidAlias === null ? [] : [table.rowidAlias]), ...table.columns.map(quoteIdentifier)].join(', ');
      const statement = db.prepare(`SELECT ${select} FROM main.${quoteIdentifier(table.name)}`).raw(true);
      const offset = table.rowidAlias === null ? 0 : 1;
      const { columns, labels } = table;
      let sincePulse = 0;
      for (const row of statement.iterate() as IterableIterator<unknown[]>) {
        const rowid = offset === 1 ? Number(row[0]) : null;
        for (let c = 0; c < columns.length; c++) {
          const value = row[c + offset];
          if (value === null || value === undefined) continue;
          sink.atCell(table.label, labels[c] ?? '', rowid);
          if (typeof value === 'string') values.text(value, undefined, '$');
          else if (typeof value === 'number' || typeof value === 'bigint') values.number(value, undefined);
          else if (value instanceof Uint8Array) values.blob(value);
        }
        rows++;
        if (++sincePulse === PULSE_ROWS) {
          sincePulse = 0;
          await ticker.pulse(rows * bytesPerRow);
        }
      }
    }
    return { rows, notes };
  } catch (error) {
    throw sqliteScanError(error, path, busyTimeoutMs);
  } finally {
    db.close();
  }
}
