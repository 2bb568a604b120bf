/**
 * What `childvault scan` reports: where in a file (never what) a stored child's value, a canary or
 * (opt-in) a pattern of minor data was found, and a summary per file.
 */
import type { LeakMatch } from '../guard/leak-types.js';

export type ScanLocation =
  /**
   * A cell of an SQLite table. `rowid` is null for WITHOUT ROWID tables (and for the rare table
   * whose columns shadow every rowid alias). `field` is the JSON path inside the cell when it
   * holds JSON (`$.user.phone`).
   *
   * Table and column names are shown as they are only when they are plain identifiers that matched
   * nothing (src/guard/printable.ts); otherwise by position: `table #3` is the 3rd row of
   * `SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`, `column #2` the 2nd
   * column of `PRAGMA table_xinfo`. A match in a name itself has rowid null and field
   * `<table name>` (column '') or `<column name>`.
   */
  | { readonly type: 'sqlite'; readonly table: string; readonly column: string; readonly rowid: number | null; readonly field?: string }
  /**
   * A line of a text file (1-based; a CSV record spanning lines is reported where it starts).
   * `field`: the JSON path in a JSON Lines record (`$.user.phone`), the CSV column name (or
   * `column 3` when the header does not name it safely), and `column:$.a.b` for JSON inside a
   * CSV cell.
   */
  | { readonly type: 'text'; readonly line: number; readonly field?: string }
  /** The whole file, matched as raw bytes (a face photo or voice clip saved as a file). */
  | { readonly type: 'file' };

export interface ScanFinding {
  /** The file's path, control characters replaced by `?` (src/guard/printable.ts `oneLine`). */
  readonly file: string;
  readonly location: ScanLocation;
  readonly match: LeakMatch;
}

/**
 * The format of the content scanned — of the decompressed content for a gzip file, of the decoded
 * text for UTF-16. `binary`: a non-SQLite file with NUL bytes or media magic numbers near its
 * start, or compressed in a format the scanner does not read.
 */
export type ScanFormat = 'sqlite' | 'jsonl' | 'csv' | 'text' | 'binary';

export interface ScanFileSummary {
  /** The file's path, control characters replaced by `?` (as in its findings). */
  readonly file: string;
  readonly format: ScanFormat;
  /** Rows (SQLite), records (CSV) or lines (other text) scanned. */
  readonly units: number;
  /** File size in bytes. */
  readonly bytes: number;
  /** Findings in the file (after de-duplication), including any beyond `maxFindingsPerFile`. */
  readonly findings: number;
  /** True when more than `maxFindingsPerFile` were found: only the first ones were reported. */
  readonly truncated: boolean;
  /**
   * False when part of the content could not be read at all, so "no findings" does not mean
   * clean: a zip, zstd, bzip2 or xz archive, an SQLite database inside gzip, a file named like a
   * database without SQLite's header (encrypted). `notes` says what and why.
   */
  readonly complete: boolean;
  /** What was not scanned, or scanned differently, and why (no values): skipped tables, split lines. */
  readonly notes: readonly string[];
}

export interface ScanOptions {
  /** Also report opt-in pattern matches (phone, e-mail, coordinates, image, audio): default false. */
  readonly patterns?: boolean;
  /** Called with bytes done and the file size, at most every ~100 ms, and once at the end of each file. */
  readonly onProgress?: (file: string, bytesDone: number, bytesTotal: number) => void;
  /** Findings reported per file (default 1000); the rest are only counted. */
  readonly maxFindingsPerFile?: number;
  /** How long to wait for an SQLite file locked by a writer before failing with BUSY (default 5000 ms). */
  readonly busyTimeoutMs?: number;
}
