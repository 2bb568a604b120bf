/**
 * The library half of `childvault scan PATH...`: finds stored children's values (and canaries,
 * and opt-in patterns) in files outside the vault — service databases, exports, logs — and
 * reports where, never what.
 *
 * Directories are scanned recursively in name order. Inside them, symbolic links are skipped (they
 * can loop, or lead out of the tree the user named; a link named on the command line is
 * followed), as are non-regular files (a FIFO would block the scan) and the -wal, -shm and
 * -journal files beside an SQLite database (what they hold of the database is read through it) —
 * only when that file really is one (starts with SQLite's header); otherwise they are scanned.
 * Each skip is listed in the result.
 *
 * A file that cannot be scanned fails the whole call with a VaultError naming it: a scan that
 * silently skipped a locked database would report it clean. Errors of the matcher itself (the
 * vault's own database) are not the file's: they propagate unchanged. Paths in messages, skips,
 * findings and summaries have their control characters replaced (`oneLine`): a hostile file name
 * cannot forge report lines or send terminal escapes.
 */
import { open, readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { VaultError } from '../errors.js';
import type { LeakMatcher } from '../guard/leak-types.js';
import { oneLine } from '../guard/printable.js';
import { scanContent, type ContentScanResult } from './content-scan.js';
import { hasSqliteHeader, readHead } from './detect.js';
import { FindingSink } from './findings.js';
import { isMatcherError } from './matcher-errors.js';
import { ProgressTicker } from './progress.js';
import { DEFAULT_BUSY_TIMEOUT_MS, scanSqlite } from './sqlite-scan.js';
import type { ScanFileSummary, ScanFinding, ScanOptions } from './types.js';
import { ValueScanner } from './values.js';

export type { ScanFileSummary, ScanFinding, ScanFormat, ScanLocation, ScanOptions } from './types.js';

export const DEFAULT_MAX_FINDINGS_PER_FILE = 1000;

export interface ScanSkip {
  readonly path: string;
  readonly reason: string;
}

export interface ScanResult {
  readonly files: ScanFileSummary[];
  /** At most `maxFindingsPerFile` per file. */
  readonly findings: ScanFinding[];
  /** Entries of the directories scanned that were not scanned, and why. */
  readonly skipped: ScanSkip[];
}

const SIDECAR = /^(.*)-(?:wal|shm|journal)$/;

/** A file-system (or gzip) error as a one-line VaultError naming the path; the matcher's errors unchanged. */
function fileError(error: unknown, path: string): VaultError {
  if (isMatcherError(error)) throw error; // the vault's own lookup failed, not this file
  if (error instanceof VaultError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const shown = oneLine(path);
  if (code === 'ENOENT') return new VaultError('NOT_FOUND', `${shown} does not exist`, { cause: error });
  if (code === 'EACCES' || code === 'EPERM') return new VaultError('STORAGE', `cannot read ${shown}: permission denied`, { cause: error });
  if (typeof code === 'string' && code.startsWith('Z_')) return new VaultError('CORRUPT', `cannot read ${shown}: its gzip data is corrupt or cut short (${code}); scan an intact copy`, { cause: error });
  if (typeof code === 'string') return new VaultError('STORAGE', `cannot read ${shown} (${code})`, { cause: error });
  throw error; // a programming error: let it surface unchanged
}

/** True when `path` starts with SQLite's header; false when it does not, or cannot be read. */
async function isSqliteFile(path: string): Promise<boolean> {
  try {
    const handle = await open(path, 'r');
    try {
      const buf = Buffer.alloc(16);
      const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
      return hasSqliteHeader(buf.subarray(0, bytesRead));
    } finally {
      await handle.close();
    }
  } catch {
    return false;
  }
}

/** Scans one file (not a directory); findings go to `onFinding`, at most `maxFindingsPerFile`. */
export async function scanFile(path: string, matcher: LeakMatcher, options: ScanOptions = {}, onFinding?: (finding: ScanFinding) => void): Promise<ScanFileSummary> {
  const max = options.maxFindingsPerFile ?? DEFAULT_MAX_FINDINGS_PER_FILE;
  if (!Number.isSafeInteger(max) || max < 0) throw new VaultError('VALIDATION', 'maxFindingsPerFile must be a whole number ≥ 0', { field: 'maxFindingsPerFile' });
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) throw new VaultError('VALIDATION', 'busyTimeoutMs must be a whole number ≥ 0', { field: 'busyTimeoutMs' });

  const shown = oneLine(path);
  let size: number;
  let head: Buffer;
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw new VaultError('VALIDATION', `${shown} is a directory: scan it with scanPaths`, { field: 'path' });
    if (!info.isFile()) throw new VaultError('VALIDATION', `${shown} is not a regular file`, { field: 'path' });
    size = info.size;
    head = await readHead(path);
  } catch (error) {
    throw fileError(error, path);
  }

  const sink = new FindingSink(shown, max, onFinding);
  const values = new ValueScanner(matcher, options.patterns === true, sink);
  const ticker = new ProgressTicker(shown, size, options.onProgress);
  await ticker.pulse(0);
  let result: ContentScanResult;
  if (hasSqliteHeader(head)) {
    const r = await scanSqlite(path, size, values, sink, ticker, busyTimeoutMs);
    result = { format: 'sqlite', units: r.rows, notes: r.notes, complete: true };
  } else {
    try {
      result = await scanContent(path, size, head, values, sink, ticker);
    } catch (error) {
      throw fileError(error, path);
    }
  }
  ticker.finish();
  const notes = [...result.notes];
  if (sink.truncated) notes.push(`${sink.count} findings: only the first ${max} are reported`);
  return { file: shown, format: result.format, units: result.units, bytes: size, findings: sink.count, truncated: sink.truncated, complete: result.complete, notes };
}

/** The files under `dir`, recursively, in name order; what is not scanned goes to `skipped`. */
async function filesUnder(dir: string, skipped: ScanSkip[]): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw fileError(error, dir);
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const regular = new Set(entries.filter((e) => e.isFile()).map((e) => e.name));
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isSymbolicLink()) {
      skipped.push({ path: oneLine(path), reason: 'symbolic link (not followed inside directories)' });
    } else if (entry.isDirectory()) {
      files.push(...(await filesUnder(path, skipped)));
    } else if (!entry.isFile()) {
      skipped.push({ path: oneLine(path), reason: 'not a regular file' });
    } else {
      const base = SIDECAR.exec(entry.name)?.[1];
      // A sidecar only of an SQLite file: "report" beside "report-journal" is no database.
      if (base !== undefined && regular.has(base) && (await isSqliteFile(join(dir, base)))) {
        skipped.push({ path: oneLine(path), reason: `SQLite sidecar of ${oneLine(base)} (its content is read through the database)` });
      } else {
        files.push(path);
      }
    }
  }
  return files;
}

/**
 * Scans files and directories (recursively). Each file is scanned once, however many of `paths`
 * reach it. Findings go to `onFinding` as they are found and into the result.
 */
export async function scanPaths(paths: readonly string[], matcher: LeakMatcher, options: ScanOptions = {}, onFinding?: (finding: ScanFinding) => void): Promise<ScanResult> {
  const skipped: ScanSkip[] = [];
  const targets: string[] = [];
  for (const path of paths) {
    let isDirectory: boolean;
    try {
      isDirectory = (await stat(path)).isDirectory();
    } catch (error) {
      throw fileError(error, path);
    }
    if (isDirectory) targets.push(...(await filesUnder(path, skipped)));
    else targets.push(path);
  }
  const seen = new Set<string>();
  const files: ScanFileSummary[] = [];
  const findings: ScanFinding[] = [];
  for (const path of targets) {
    let real: string;
    try {
      real = await realpath(path);
    } catch (error) {
      throw fileError(error, path);
    }
    if (seen.has(real)) continue;
    seen.add(real);
    files.push(
      await scanFile(path, matcher, options, (finding) => {
        findings.push(finding);
        onFinding?.(finding);
      }),
    );
  }
  return { files, findings, skipped };
}
