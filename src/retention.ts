/**
 * Retention sweeps: erase every value older than its category's retention (the policy's, when it
 * sets one). Values past retention are never returned by `get` even before a sweep; the sweep
 * makes them gone — data key and ciphertext — and records the erasures for backup safety.
 */
import { z } from 'zod';
import type { AuditAction, AuditDetail, AuditRecord } from './audit/entry.js';
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
  /** Values erased (or, in a dry run, that would be) per category (an object without prototype). */
  readonly erased: Readonly<Record<string, number>>;
  readonly total: number;
  /**
   * Values kept because their category is not declared by this vault (a category removed from
   * the configuration, or rows someone else wrote): declare it again, or erase those subjects.
   */
  readonly skipped: number;
  /** Records whose MAC failed (written by someone without the master key): left alone, and recorded. */
  readonly tampered: number;
}

export interface RetentionDeps {
  readonly db: SqliteDatabase;
  readonly records: RecordRepository;
  readonly rotations: RotationRepository;
  /** Days a category is kept; undefined for a category this vault does not declare. */
  retentionDays(category: string): number | undefined;
  run<T>(ctx: AccessContext, action: AuditAction, fn: (c: { actor: string; role: string; purpose: string }) => Promise<T>): Promise<T>;
  record(c: { actor: string; role: string; purpose: string }, action: AuditAction, detail: AuditDetail | null): AuditRecord;
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
      // Maps, not objects: category names are chosen by users (`constructor` is a valid one).
      const erased = new Map<string, number>();
      let scanned = 0;
      let total = 0;
      let skipped = 0;
      let tampered = 0;
      for (let after = 0; ; ) {
        const page = d.records.ages(after, PAGE);
        if (page.length === 0) break;
        after = page[page.length - 1]?.id ?? after;
        scanned += page.length;
        const expired: { id: number; category: string; cutoff: number }[] = [];
        for (const r of page) {
          // A row the vault did not write (its MAC fails) is left alone and reported; a value of a
          // category this vault does not declare has no retention to go by. Both are kept and
          // reported, rather than failing every sweep.
          if (!r.authentic) {
            tampered++;
            continue;
          }
          const days = d.retentionDays(r.category);
          if (days === undefined) skipped++;
          else if (now >= r.writtenAt + days * DAY_MS) expired.push({ id: r.id, category: r.category, cutoff: now - days * DAY_MS });
        }
        if (expired.length > 0) {
          const counts = new Map<string, number>();
          await writeTransaction(d.db, 'sweeping expired values', () => {
            for (const r of expired) {
              // Re-checked in the delete: a value rewritten since the page was read is kept.
              const row = dryRun ? { category: r.category, dekId: undefined } : d.records.deleteExpired(r.id, r.cutoff);
              if (row === undefined) continue;
              counts.set(row.category, (counts.get(row.category) ?? 0) + 1);
              if (row.dekId !== undefined) d.forgetDek(row.dekId);
            }
            let n = 0;
            for (const k of counts.values()) n += k;
            if (!dryRun && n > 0) d.rotations.recordErasure(now, 'retention', n);
            d.append(d.record(c, 'retention.sweep', { dryRun, erased: n, ...Object.fromEntries([...counts].map(([category, k]) => [`erased.${category}`, k])) }));
          });
          for (const [category, n] of counts) {
            erased.set(category, (erased.get(category) ?? 0) + n);
            total += n;
          }
        }
        options.onProgress?.(scanned);
        await pauseBetweenBatches();
      }
      if (total > 0 && !dryRun) truncateWal(d.db);
      if (total === 0 || skipped > 0 || tampered > 0) {
        await writeTransaction(d.db, 'recording a sweep', () => {
          d.append(d.record(c, 'retention.sweep', { dryRun, erased: 0, ...(skipped > 0 ? { skipped } : {}), ...(tampered > 0 ? { tampered } : {}) }));
        });
      }
      const summary: Record<string, number> = Object.create(null) as Record<string, number>;
      for (const [category, n] of erased) summary[category] = n;
      return { dryRun, scanned, erased: summary, total, skipped, tampered };
    });
  }
}
