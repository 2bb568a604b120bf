/**
 * Events written while the vault could not sign (an attempt to open it with a wrong master key)
 * wait in `audit_pending` and enter the chain at the next successful open. Nobody who writes them
 * holds the key, so they cannot be authenticated: anyone who can write the file can add one. The
 * vault therefore admits only what it writes there itself — a wrong-key `open`, with well-formed
 * names, not dated in the future — and chains it as what it is: a claim, marked
 * `detail.unverified`, dated when it entered the chain (the claimed time goes in
 * `detail.claimedAt`), so audit time never goes backwards. Any other row is refused with INTEGRITY
 * naming it; the officer inspects it and opens the vault discarding it (`discardPendingAudit`),
 * which the log records.
 */
import { z } from 'zod';
import { VaultError } from '../errors.js';
import { nameSchema } from '../schema/access-context.js';
import type { PendingRow } from '../store/audit-repository.js';

/** At most this many waiting events enter the chain per open (the rest at the next opens). */
export const PENDING_PER_OPEN = 1000;
/** A claimed time this far ahead of the vault's clock is refused (clocks of two hosts differ a little). */
const MAX_CLOCK_AHEAD_MS = 5 * 60_000;

const pendingSchema = z.strictObject({
  id: z.number().int().min(1),
  ts: z.number().int().min(0),
  actor: nameSchema,
  role: nameSchema,
  purpose: nameSchema,
  action: z.literal('open'),
  reason: z.literal('WRONG_MASTER_KEY'),
});

/** A waiting event the vault admits: who claims to have tried, and when. */
export interface PendingClaim {
  readonly id: number;
  readonly actor: string;
  readonly role: string;
  readonly purpose: string;
  readonly claimedAt: number;
}

/** The error for a waiting row the vault did not write: names the row and says how to recover. */
export function foreignPendingRow(id: number, why: string): VaultError {
  return new VaultError(
    'INTEGRITY',
    `audit_pending row ${id} is not a record this vault writes (${why}): someone wrote it into the file. Inspect it ` +
      `(sqlite3 VAULT "SELECT * FROM audit_pending WHERE id = ${id}"), then open the vault discarding it: ` +
      `\`childvault audit discard-pending ${id}\` (library: openVault({ discardPendingAudit: [${id}] })); the discard is recorded in the log`,
    { field: `audit_pending:${id}` },
  );
}

/** Admits a waiting row, or throws INTEGRITY naming it. */
export function admitPending(row: PendingRow, now: number): PendingClaim {
  const parsed = pendingSchema.safeParse(row);
  if (!parsed.success) throw foreignPendingRow(row.id, `field ${parsed.error.issues[0]?.path.join('.') || 'row'}`);
  const p = parsed.data;
  if (p.ts > now + MAX_CLOCK_AHEAD_MS) throw foreignPendingRow(p.id, 'dated in the future');
  return { id: p.id, actor: p.actor, role: p.role, purpose: p.purpose, claimedAt: p.ts };
}
