/**
 * Retention sweeps: erase every value older than its category's retention (the policy's, when it
 * sets one). Values past retention are never returned by `get` even before a sweep; the sweep
 * makes them gone — data key and ciphertext — and records the erasures for backup safety.
 */
import { z } from 'zod';
import type { AuditDetail, AuditRecord } from './audit/entry.js';
import { DAY_MS } from './schema/categories.js';
import { parseOrThrow } from './schema/zod-errors.js';
import type { AccessContext } from './schema/access-context.js';
import { pauseBetweenBatches, truncateWal, writeTransaction, type SqliteDatabase } from './store/database.js';
import type { RecordRepository } from './store/record-repository.js';
import type { RotationRepository } from './store/rotation-repository.js';

const sweepOptionsSchema = z.strictObject({
  dryRun: z.boolean().optional(),
  onProgress: z.custom<(scanned: number) => void>((v) => typeof v === 'function').optional(),
});
const PAGE = 1000;

export interface SweepOptions {
  /** Count what would be erased, erase nothing. */
  readonly dryRun?: boolean;
  readonly onProgress?: (scanned: number) => void;
}

export interface SweepSummary {
  readonly dryRun: boolean;
  readonly scanned: number;
  /** Values erased (or, in a dry run, that would be) per category. */
  readonly erased: Readonly<Record<string, number>>;
  readonly total: number;
}

export interface RetentionDeps {
  readonly db: SqliteDatabase;
  readonly records: RecordRepository;
  readonly rotations: RotationRepository;
  retentionDays(category: string): number;
  run<T>(ctx: AccessContext, action: string, fn: (c: { actor: string; role: string; purpose: string }) => Promise<T>): Promise<T>;
  record(c: { actor: string; role: string; purpose: string }, action: string, detail: AuditDetail | null): AuditRecord;
  append(record: AuditRecord): void;
  forgetDek(dekId: Uint8Array): void;
  now(): number;
}

/** `vault.retention`. */
export class VaultRetention {
  readonly #deps: RetentionDeps;

  /** @internal Created by the vault. */
  constructor(deps: RetentionDeps) {
    this.#deps = deps;
  }

  /**
   * Erases every value past retention, a batch of 1000 records per transaction (each audited as
   * `retention.sweep` with its counts). Safe to run while services write; safe to interrupt.
   */
  async sweep(ctx: AccessContext, options: SweepOptions = {}): Promise<SweepSummary> {
    const d = this.#deps;
    return d.run(ctx, 'retention.sweep', async (c) => {
      parseOrThrow(sweepOptionsSchema, options, 'options');
      const now = d.now();
      const dryRun = options.dryRun === true;
      const erased: Record<string, number> = {};
      let scanned = 0;
      let total = 0;
      for (let after = 0; ; ) {
        const page = d.records.ages(after, PAGE);
        if (page.length === 0) break;
        after = page[page.length - 1]?.id ?? after;
        scanned += page.length;
        const expired = page.filter((r) => now >= r.writtenAt + d.retentionDays(r.category) * DAY_MS);
        if (expired.length > 0) {
          const counts: Record<string, number> = {};
          writeTransaction(d.db, 'sweeping expired values', () => {
            for (const r of expired) {
              // Re-checked in the delete: a value rewritten since the page was read is kept.
              const row = dryRun ? { category: r.category, dekId: undefined } : d.records.deleteExpired(r.id, now - d.retentionDays(r.category) * DAY_MS);
              if (row === undefined) continue;
              counts[row.category] = (counts[row.category] ?? 0) + 1;
              if (row.dekId !== undefined) d.forgetDek(row.dekId);
            }
            const n = Object.values(counts).reduce((a, b) => a + b, 0);
            if (!dryRun && n > 0) d.rotations.recordErasure(now, 'retention', n);
            d.append(d.record(c, 'retention.sweep', { dryRun, erased: n, ...counts }));
          });
          for (const [category, n] of Object.entries(counts)) {
            erased[category] = (erased[category] ?? 0) + n;
            total += n;
          }
        }
        options.onProgress?.(scanned);
        await pauseBetweenBatches();
      }
      if (total > 0 && !dryRun) truncateWal(d.db);
      if (total === 0) {
        writeTransaction(d.db, 'recording a sweep', () => {
          d.append(d.record(c, 'retention.sweep', { dryRun, erased: 0 }));
        });
      }
      return { dryRun, scanned, erased, total };
    });
  }
}
