/**
 * `vault.audit`: the officer's side of the audit log — checkpoints, exports, verification of the
 * live chain, compliance reports. Each of these is itself an audited operation: an export records
 * itself before it runs (so it covers its own entry); a verification records its verdict after.
 */
import { z } from 'zod';
import { VaultError } from '../errors.js';
import { toHex } from '../format/ids.js';
import type { AccessContext } from '../schema/access-context.js';
import { parseOrThrow } from '../schema/zod-errors.js';
import type { AuditRepository } from '../store/audit-repository.js';
import type { RowAuthenticator } from '../store/rows.js';
import { readTransaction, writeTransaction, type SqliteDatabase } from '../store/database.js';
import type { AuditLog } from './audit-log.js';
import type { ChainProblem, ChainReport } from './chain-verifier.js';
import { equalBytes } from '../crypto/hash.js';
import type { AuditAction, AuditDetail, AuditRecord } from './entry.js';
import { verifyLiveChain } from './live-chain.js';
import { canVerifyInParallel, verifyInParallel } from './parallel-verify.js';
import type { SecretBytes } from '../crypto/secret-bytes.js';
import { writeAuditExport, type ExportFilter, type ExportResult } from './export.js';
import { buildAuditReport, type AuditReport } from './report.js';

export interface VaultAuditDeps {
  readonly db: SqliteDatabase;
  readonly repo: AuditRepository;
  readonly log: AuditLog;
  /** Checks each entry's MAC during live verification. */
  readonly rows: RowAuthenticator;
  /** The key behind `rows`, for the worker threads that verify a large log in parallel. */
  readonly integrityKey: SecretBytes;
  readonly vaultId: Uint8Array;
  /** Runs an audited operation (context validation, failure entries) — the vault's own runner. */
  run<T>(ctx: AccessContext, action: AuditAction, fn: (ctx: unknown, record: (detail: AuditDetail | null) => AuditRecord) => Promise<T>): Promise<T>;
  now(): number;
  /** The pseudonym of a subject id, or null if it has none (never seen, or erased). */
  pseudonymOf(subject: string): Uint8Array | null;
}

export interface CheckpointInfo {
  readonly seq: number;
  readonly ts: Date;
  readonly hash: string;
  readonly signature: string;
}

export interface AuditExportOptions {
  /** `jsonl` (default) or `csv`. */
  readonly format?: 'jsonl' | 'csv';
  readonly since?: Date;
  readonly until?: Date;
  /** A subject id: its entries are found through its pseudonym (impossible once erased). */
  readonly subject?: string;
  readonly actor?: string;
  readonly action?: string;
  readonly onProgress?: (done: number, total: number) => void;
}

const exportOptionsSchema = z.strictObject({
  format: z.enum(['jsonl', 'csv']).optional(),
  since: z.date().optional(),
  until: z.date().optional(),
  subject: z.string().optional(),
  actor: z.string().min(1).max(128).optional(),
  action: z.string().min(1).max(64).optional(),
  onProgress: z.custom<(done: number, total: number) => void>((v) => typeof v === 'function').optional(),
});

const reportOptionsSchema = z.strictObject({ since: z.date(), until: z.date() });

export class VaultAudit {
  readonly #deps: VaultAuditDeps;

  /** @internal Created by the vault. */
  constructor(deps: VaultAuditDeps) {
    this.#deps = deps;
  }

  /** The Ed25519 key that verifies checkpoints (hex). Hand it to the regulator out of band. */
  get publicKey(): string {
    return toHex(this.#deps.log.publicKey);
  }

  /** Signs a checkpoint at the head (after recording this request). */
  async checkpoint(ctx: AccessContext): Promise<CheckpointInfo> {
    return this.#deps.run(ctx, 'audit.checkpoint', async (_c, record) => {
      const row = await writeTransaction(this.#deps.db, 'signing a checkpoint', () => {
        this.#deps.log.append(record(null));
        return this.#deps.log.checkpoint(this.#deps.now());
      });
      if (row === undefined) throw new Error('internal: empty log after an append');
      return { seq: row.seq, ts: new Date(row.ts), hash: toHex(row.hash), signature: toHex(row.signature) };
    });
  }

  /**
   * Streams the log (or the entries matching the filter, the others as digests) to `out`, ending
   * with a checkpoint signed for this export. Constant memory. See docs/audit.md for the format
   * and what a filtered export proves.
   */
  async export(out: NodeJS.WritableStream, options: AuditExportOptions, ctx: AccessContext): Promise<ExportResult> {
    return this.#deps.run(ctx, 'audit.export', async (_c, record) => {
      const o = parseOrThrow(exportOptionsSchema, options, 'options');
      if (o.since !== undefined && o.until !== undefined && o.since > o.until) {
        throw new VaultError('VALIDATION', 'options.since: must not be after options.until', { field: 'options.since' });
      }
      const subject = o.subject === undefined ? undefined : this.#deps.pseudonymOf(o.subject);
      if (subject === null) {
        throw new VaultError('NOT_FOUND', 'no audit entry can be linked to this subject: it was never seen, or it was erased (its pseudonym key is destroyed)');
      }
      const filter: ExportFilter = {
        ...(o.since === undefined ? {} : { since: o.since.getTime() }),
        ...(o.until === undefined ? {} : { until: o.until.getTime() }),
        ...(subject === undefined ? {} : { subject }),
        ...(o.actor === undefined ? {} : { actor: o.actor }),
        ...(o.action === undefined ? {} : { action: o.action }),
      };
      const filtered = Object.keys(filter).length > 0;
      const now = this.#deps.now();
      const head = await writeTransaction(this.#deps.db, 'starting an export', () => {
        this.#deps.log.append(record({ format: o.format ?? 'jsonl', filtered }));
        return this.#deps.log.checkpoint(now);
      });
      if (head === undefined) throw new Error('internal: empty log after an append');
      const repo = this.#deps.repo;
      return writeAuditExport(
        {
          vaultId: this.#deps.vaultId,
          publicKey: this.#deps.log.publicKey,
          genesis: this.#deps.log.genesis,
          head: head.seq,
          checkpointEvery: this.#deps.log.checkpointEvery,
          seal: (message) => this.#deps.log.sign(message),
          pageEntries: (after, until, limit) => repo.page(after, until, limit),
          pageEntryRows: (after, until, limit) => repo.pageRows(after, until, limit),
          pageCheckpoints: (after, until, limit) => repo.checkpointPage(after, until, limit),
        },
        out,
        { format: o.format ?? 'jsonl', filter, ...(o.onProgress === undefined ? {} : { onProgress: o.onProgress }) },
      );
    });
  }

  /**
   * Verifies the live chain: every hash, every link, no gaps, every checkpoint signature, and
   * that no entry covered by a checkpoint is missing. Returns the first problem, if any.
   */
  async verify(ctx: AccessContext, onProgress?: (done: number, total: number) => void): Promise<ChainReport> {
    return this.#deps.run(ctx, 'audit.verify', async (_c, record) => {
      const report = await this.#verifyChain(onProgress);
      try {
        await writeTransaction(this.#deps.db, 'recording a verification', () => {
          this.#deps.log.append(record({ ok: report.ok, entries: report.entries, ...(report.problem?.seq == null ? {} : { problemSeq: report.problem.seq }) }));
        });
      } catch (error) {
        // A broken chain may refuse new entries (nothing is signed over a tampered log); the
        // verdict that says where it broke is still what the officer needs.
        if (report.ok || !(error instanceof VaultError) || error.code !== 'INTEGRITY') throw error;
      }
      return report;
    });
  }

  /**
   * The whole live chain verified — every hash, link, MAC and checkpoint, and that it reaches the
   * last checkpoint the vault signed — in worker threads for a large log.
   */
  async #verifyChain(onProgress?: (done: number, total: number) => void): Promise<ChainReport> {
    const log = this.#deps.log;
    const repo = this.#deps.repo;
    const { head, lastCheckpoint, anchor } = readTransaction(this.#deps.db, 'reading the audit head', () => ({
      head: repo.head()?.seq ?? 0,
      lastCheckpoint: repo.lastCheckpoint(),
      anchor: anchorOrProblem(log),
    }));
    const chain = { vaultId: this.#deps.vaultId, genesis: log.genesis, publicKey: log.publicKey, checkpointEvery: log.checkpointEvery, head, lastCheckpoint };
    const path = this.#deps.db.memory ? null : this.#deps.db.name;
    let report: ChainReport;
    if (path !== null && canVerifyInParallel(head)) {
      report = await verifyInParallel({ ...chain, path, integrityKey: this.#deps.integrityKey, onProgress });
    } else {
      const run = verifyLiveChain(repo, { ...chain, rows: this.#deps.rows });
      let step = run.next();
      for (; step.done !== true; step = run.next()) {
        onProgress?.(step.value.done, step.value.total);
        await new Promise((resolve) => setImmediate(resolve)); // let other work run between pages
      }
      report = step.value;
    }
    return withAnchor(report, anchor, repo);
  }

  /**
   * The compliance summary for [since, until]: counts by action, purpose, role and outcome; no
   * plaintext. The whole log is verified first: figures from a log someone changed are refused
   * (INTEGRITY), never reported.
   */
  async report(options: { since: Date; until: Date }, ctx: AccessContext): Promise<AuditReport> {
    return this.#deps.run(ctx, 'audit.report', async (_c, record) => {
      const o = parseOrThrow(reportOptionsSchema, options, 'options');
      await writeTransaction(this.#deps.db, 'recording a report', () => {
        this.#deps.log.append(record({ since: o.since.toISOString(), until: o.until.toISOString() }));
      });
      const verified = await this.#verifyChain();
      if (!verified.ok) {
        throw new VaultError(
          'INTEGRITY',
          `the audit log does not verify (seq ${verified.problem?.seq ?? '?'}: ${verified.problem?.message ?? 'unknown'}): its figures could have been changed, so no report is made; investigate with \`childvault audit verify\``,
          { field: 'audit_log' },
        );
      }
      return readTransaction(this.#deps.db, 'building the report', () =>
        buildAuditReport(this.#deps.repo, { since: o.since.getTime(), until: o.until.getTime(), publicKey: this.#deps.log.publicKey, vaultId: this.#deps.vaultId }),
      );
    });
  }
}

/** The authenticated anchor (the last checkpoint the vault signed), or the problem with it. */
function anchorOrProblem(log: AuditLog): { readonly seq: number; readonly hash: Uint8Array } | ChainProblem {
  try {
    return log.anchor();
  } catch (error) {
    if (!(error instanceof VaultError)) throw error;
    return { seq: null, message: error.message };
  }
}

/**
 * A chain that verifies must also reach the last checkpoint the vault signed: without this, a log
 * deleted whole, or cut back to an earlier checkpoint with the checkpoints after it, verifies.
 */
function withAnchor(report: ChainReport, anchor: { readonly seq: number; readonly hash: Uint8Array } | ChainProblem, repo: AuditRepository): ChainReport {
  if (!report.ok) return report;
  if ('message' in anchor) return { ...report, ok: false, problem: anchor };
  const reached = report.lastCheckpoint?.seq ?? -1;
  const atAnchor = repo.checkpoint(anchor.seq);
  if (reached >= anchor.seq && atAnchor !== undefined && equalBytes(atAnchor.hash, anchor.hash)) return report;
  return {
    ...report,
    ok: false,
    problem: { seq: anchor.seq, message: `the log does not reach the last checkpoint the vault signed (seq ${anchor.seq}): entries and checkpoints up to it were removed` },
  };
}
