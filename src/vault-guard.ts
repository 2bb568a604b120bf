/**
 * `vault.guard`: the leak guards an embedding service puts on its other channels — a deep check
 * before a value goes to a log, a queue or an API response, a wrapper for its own SQLite database
 * that refuses writes carrying minor data — and the scanner operators run over other stores.
 *
 * The guard answers "is this a stored child's value?", so in the wrong hands it is a lookup
 * oracle. Every confirmed match (a stored child's value or a canary) is therefore audited — with
 * the label and the kinds, never the value — and past MAX_CONFIRMED_PER_HOUR confirmed matches in
 * an hour the guard stops answering (RATE_LIMITED) until the hour has passed.
 */
import type Database from 'better-sqlite3';
import { z } from 'zod';
import type { AuditAction, AuditDetail, AuditRecord } from './audit/entry.js';
import { isVaultError, VaultError } from './errors.js';
import type { AccessContext } from './schema/access-context.js';
import { parseOrThrow, safe } from './schema/zod-errors.js';
import { scanPaths, type ScanResult } from './scan/scan.js';
import type { ScanOptions } from './scan/types.js';
import { writeTransaction, writeTransactionNow, type SqliteDatabase } from './store/database.js';
import { assertNoMinorData, findMinorData, type GuardOptions, type MinorDataFindings } from './guard/assert-no-minor-data.js';
import { guardDatabase, type GuardDatabaseOptions } from './guard/guarded-database.js';
import type { LeakMatch, LeakMatcher } from './guard/leak-types.js';

/** Confirmed matches per process and hour before the guard stops answering. */
export const MAX_CONFIRMED_PER_HOUR = 1000;
const HOUR_MS = 3_600_000;

type Actor = { actor: string; role: string; purpose: string };

export interface GuardDeps {
  readonly db: SqliteDatabase;
  /** The blind-index matcher; throws CLOSED once the vault is closed (fail closed). */
  matcher(): LeakMatcher;
  /** Who the guard's audit entries name: the context the vault was opened with. */
  readonly opener: Actor;
  run<T>(ctx: AccessContext, action: AuditAction, fn: (c: Actor) => Promise<T>): Promise<T>;
  record(c: Actor, action: AuditAction, detail: AuditDetail | null): AuditRecord;
  append(record: AuditRecord): void;
  now(): number;
}

/** A label for audit entries and messages: short, plain, never a value. */
const WHERE = /^[\w .:/#-]{1,64}$/;
const scanInputSchema = z.array(z.string().min(1).max(4096)).min(1).max(10_000);
/** Every scan option, strictly: a misspelled one (`pattern`) is refused, not silently ignored. */
const scanOptionsSchema = z.strictObject({
  patterns: z.boolean().optional(),
  onProgress: z.custom<NonNullable<ScanOptions['onProgress']>>((v) => typeof v === 'function', safe('must be a function')).optional(),
  maxFindingsPerFile: z.number().int().min(1).max(1_000_000).optional(),
  busyTimeoutMs: z.number().int().min(0).max(600_000).optional(),
});

/**
 * The options' label, checked by hand rather than by zod: the guard runs on every log line, and a
 * schema parse would cost more than most checks.
 */
function whereOf(options: { readonly where?: unknown; readonly patterns?: unknown }, fallback: string): string {
  if (typeof options !== 'object' || options === null) throw new VaultError('VALIDATION', 'options: expected an object', { field: 'options' });
  if (options.patterns !== undefined && typeof options.patterns !== 'boolean') throw new VaultError('VALIDATION', 'options.patterns: must be true or false', { field: 'options.patterns' });
  if (options.where === undefined) return fallback;
  if (typeof options.where !== 'string' || !WHERE.test(options.where)) {
    throw new VaultError('VALIDATION', 'options.where: must be 1-64 letters, digits, spaces or . : / # - _', { field: 'options.where' });
  }
  return options.where;
}

const confirmed = (m: LeakMatch): boolean => m.kind === 'subject-data' || m.kind === 'canary';

export class VaultGuard {
  readonly #deps: GuardDeps;
  #windowStart = Number.NEGATIVE_INFINITY;
  #confirmedInWindow = 0;

  /** @internal Made by the vault. */
  constructor(deps: GuardDeps) {
    this.#deps = deps;
  }

  /**
   * Throws PLAINTEXT_LEAK, naming the path (never the value), if `value` holds a `Sensitive`, a
   * stored child's contact value or face/voice bytes, or a canary's — anywhere inside objects,
   * arrays, Maps, Sets, typed arrays, strings and JSON written in strings.
   */
  assertNoMinorData(value: unknown, options: GuardOptions = {}): void {
    assertNoMinorData(value, this.#auditing(whereOf(options, 'assertNoMinorData')), options);
  }

  /** What `assertNoMinorData` would refuse (and, with `patterns`, warn about), without throwing. */
  findMinorData(value: unknown, options: { readonly where?: string; readonly patterns?: boolean } = {}): MinorDataFindings {
    return findMinorData(value, this.#auditing(whereOf(options, 'findMinorData')), { patterns: options.patterns === true });
  }

  /**
   * Wraps the service's own better-sqlite3 database: statements that write refuse (PLAINTEXT_LEAK)
   * bound parameters and SQL literals carrying minor data; reads are untouched. `where` labels its
   * audit entries (default `database`).
   */
  database(db: Database.Database, options: GuardDatabaseOptions & { readonly where?: string } = {}): Database.Database {
    return guardDatabase(db, this.#auditing(whereOf(options, 'database')), options);
  }

  /**
   * Scans other stores (SQLite files; JSON Lines, CSV and log files; directories) for the vault's
   * children's values and canaries — and, with `patterns`, for anything that looks like minor
   * data. A management action (`guard`), audited with counts only.
   */
  async scan(paths: readonly string[], ctx: AccessContext, options: ScanOptions = {}): Promise<ScanResult> {
    return this.#deps.run(ctx, 'scan', async (c) => {
      const list = parseOrThrow(scanInputSchema, paths, 'paths');
      parseOrThrow(scanOptionsSchema, options, 'options');
      const result = await scanPaths(list, this.#deps.matcher(), options);
      const count = (kind: string): number => result.findings.filter((f) => f.match.kind === kind).length;
      const detail = {
        files: result.files.length,
        findings: result.files.reduce((n, f) => n + f.findings, 0),
        // By kind among the findings reported (a file reports at most maxFindingsPerFile).
        reportedSubjectData: count('subject-data'),
        reportedCanaries: count('canary'),
        reportedPatterns: count('pattern'),
        incomplete: result.files.filter((f) => !f.complete).length,
      };
      await writeTransaction(this.#deps.db, 'recording a scan', () => {
        this.#deps.append(this.#deps.record(c, 'scan', detail));
      });
      return result;
    });
  }

  /** The matcher, checked open on every call, with confirmed matches audited and capped. */
  #auditing(where: string): LeakMatcher {
    const answer = (matches: LeakMatch[]): LeakMatch[] => {
      const hits = matches.filter(confirmed);
      if (hits.length > 0) this.#recordConfirmed(where, hits);
      return matches;
    };
    return {
      matchText: (text) => {
        this.#checkCap(where);
        return answer(this.#deps.matcher().matchText(text));
      },
      matchBytes: (bytes) => {
        this.#checkCap(where);
        return answer(this.#deps.matcher().matchBytes(bytes));
      },
    };
  }

  #checkCap(where: string): void {
    if (this.#confirmedInWindow === 0) return; // the common case: no clock read per check
    const now = this.#deps.now();
    if (now - this.#windowStart >= HOUR_MS) {
      this.#windowStart = now;
      this.#confirmedInWindow = 0;
    }
    if (this.#confirmedInWindow > MAX_CONFIRMED_PER_HOUR) {
      throw new VaultError('RATE_LIMITED', `${where}: the leak guard confirmed more than ${MAX_CONFIRMED_PER_HOUR} stored values this hour in this process and stops answering until the hour ends (it must not serve as a lookup of children's data); see the audit log`);
    }
  }

  #recordConfirmed(where: string, hits: readonly LeakMatch[]): void {
    if (this.#confirmedInWindow === 0) this.#windowStart = this.#deps.now();
    this.#confirmedInWindow += hits.length;
    const locked = this.#confirmedInWindow > MAX_CONFIRMED_PER_HOUR;
    const fields = [...new Set(hits.map((m) => ('field' in m ? m.field : m.kind)))].sort().join(',');
    const detail = { where, subjectData: hits.filter((m) => m.kind === 'subject-data').length, canaries: hits.filter((m) => m.kind === 'canary').length, fields, ...(locked ? { locked: true } : {}) };
    const write = (): void => {
      this.#deps.append({ ...this.#deps.record(this.#deps.opener, 'guard.refused', detail), outcome: 'denied', reason: 'PLAINTEXT_LEAK' });
    };
    // Called inside a service's synchronous INSERT, which must not wait for another process's
    // write lock: if the vault is locked now, the entry is written as soon as the lock is free.
    try {
      writeTransactionNow(this.#deps.db, 'recording a guard refusal', write);
    } catch (error) {
      if (!isVaultError(error, 'BUSY')) throw error;
      writeTransaction(this.#deps.db, 'recording a guard refusal', write).catch(() => {
        // Best effort once deferred: the refusal itself has already reached the caller.
      });
    }
  }
}
