/**
 * `childvault audit report` as text: the library's figures (audit/report.ts) in words, each
 * labelled as docs/audit.md ("The compliance report") defines it.
 */
import type { AuditReport, CountEntry } from '../index.js';
import { plural } from './format.js';

function section(title: string, rows: readonly CountEntry[]): string[] {
  if (rows.length === 0) return [`${title}: none`];
  const width = Math.max(...rows.map((r) => r.name.length));
  return [`${title}:`, ...rows.map((r) => `  ${r.name.padEnd(width)}  ${r.count}`)];
}

/**
 * The report as text lines. `periodNote` follows the period (the CLI says there when it chose the
 * period itself).
 *
 * @example
 *   for (const line of formatAuditReport(report, 'the last 30 days')) out.line(line);
 */
export function formatAuditReport(r: AuditReport, periodNote?: string): string[] {
  const cp = r.chain.lastCheckpoint;
  const e = r.erasures;
  const k = r.keys;
  const l = r.leaks;
  return [
    `audit report for vault ${r.vaultId}`,
    `period            ${r.period.since} to ${r.period.until}${periodNote === undefined ? '' : ` (${periodNote})`}`,
    `entries           ${r.totals.entries} (allowed ${r.totals.allowed}, denied ${r.totals.denied}, error ${r.totals.error})`,
    `erasures          ${plural(e.subjects, 'whole subject')}, ${e.partial} of some categories, ${e.onConsentWithdrawal} on consent withdrawal; ${plural(e.expiredValues, 'expired value')} swept`,
    `key rotations     ${plural(k.kekRotations.completed, 'KEK rotation')} completed (${k.kekRotations.started} started), ${plural(k.masterKeyRotations, 'master-key rotation')}; ${plural(k.keksDestroyed, 'KEK')} destroyed`,
    `consents          granted ${r.consents.granted} (${plural(r.consents.repeatedGrants, 'repeated grant')} not counted), withdrawn ${r.consents.withdrawn}`,
    `approvals         created ${r.approvals.created}, revoked ${r.approvals.revoked}`,
    `leak guards       ${plural(l.guardRefusals, 'refusal')}, ${plural(l.scans, 'scan')}, ${plural(l.canaryPlantings, 'canary planting')}, ${plural(l.canaryReads, 'canary read')}`,
    '',
    ...section('by action', r.byAction),
    ...section('by purpose', r.byPurpose),
    ...section('by role', r.byRole),
    ...section(`refusals (${r.refusals.total}) by reason`, r.refusals.byReason),
    ...section(`errors (${r.errors.total}) by reason`, r.errors.byReason),
    '',
    r.chain.head === null ? 'chain head        (empty log)' : `chain head        seq ${r.chain.head.seq}, hash ${r.chain.head.hash}`,
    ...(cp === null
      ? ['last checkpoint   none']
      : [`last checkpoint   seq ${cp.seq} at ${cp.ts}`, `  hash            ${cp.hash}`, `  signature       ${cp.signature}`]),
    `public key        ${r.chain.publicKey}`,
  ];
}
