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

/** The error for waiting rows the vault did not write: names them (why: of the first) and says how to recover. */
export function foreignPendingRows(ids: readonly number[], why: string): VaultError {
  const shown = ids.slice(0, 20).join(' ');
  const more = ids.length > 20 ? ` (and ${ids.length - 20} more)` : '';
  const first = ids[0] ?? 0;
  return new VaultError(
    'INTEGRITY',
    `audit_pending row${ids.length > 1 ? 's' : ''} ${ids.slice(0, 20).join(', ')}${more} ${ids.length > 1 ? 'are not records' : 'is not a record'} this vault writes (row ${first}: ${why}): someone wrote ${ids.length > 1 ? 'them' : 'it'} into the file. Inspect ` +
      `(sqlite3 VAULT "SELECT * FROM audit_pending WHERE id = ${first}"), then open the vault discarding ${ids.length > 1 ? 'them' : 'it'}: ` +
      `\`childvault audit discard-pending ${shown}\` (library: openVault({ discardPendingAudit: [${ids.slice(0, 20).join(', ')}] })); each discard is recorded in the log`,
    { field: `audit_pending:${first}` },
  );
}

/** Admits a waiting row as a claim, or says why it is not one the vault writes. */
export function admitPending(row: PendingRow, now: number): { readonly claim: PendingClaim } | { readonly why: string } {
  const parsed = pendingSchema.safeParse(row);
  if (!parsed.success) return { why: `field ${parsed.error.issues[0]?.path.join('.') || 'row'}` };
  const p = parsed.data;
  if (p.ts > now + MAX_CLOCK_AHEAD_MS) return { why: 'dated in the future' };
  return { claim: { id: p.id, actor: p.actor, role: p.role, purpose: p.purpose, claimedAt: p.ts } };
}
