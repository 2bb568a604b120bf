/**
 * The compliance summary of the audit log over a period (`childvault audit report`): what was
 * done, by which roles, for which purposes, what was refused or failed and why, erasures, key
 * operations, consents and approvals — and where the signed chain stands, so the summary can be
 * matched with an export.
 *
 * Why counts only: the report goes to people who need no personal data (a DPO, a regulator). It
 * holds no plaintext, no subject pseudonyms and no actor names — only counts per action, purpose,
 * role, outcome and reason, which SQLite computes without the entries leaving the database.
 */
import { needs } from '../errors.js';
import { idToUuid, toHex } from '../format/ids.js';
import type { AuditRepository, CountRow } from '../store/audit-repository.js';

/** How many entries share one value (an action, a purpose, a reason). */
export interface CountEntry {
  readonly name: string;
  readonly count: number;
}

export interface AuditReport {
  /** The vault's id (UUID form, as `childvault status` shows it). */
  readonly vaultId: string;
  /** The period covered, inclusive (ISO 8601). */
  readonly period: { readonly since: string; readonly until: string };
  readonly totals: { readonly entries: number; readonly allowed: number; readonly denied: number; readonly error: number };
  /** Entries per action / purpose / role / outcome, most frequent first. */
  readonly byAction: readonly CountEntry[];
  readonly byPurpose: readonly CountEntry[];
  readonly byRole: readonly CountEntry[];
  readonly byOutcome: readonly CountEntry[];
  /** Operations refused by policy (outcome `denied`), per reason. */
  readonly refusals: { readonly total: number; readonly byReason: readonly CountEntry[] };
  /** Operations that failed (outcome `error`), per error code. */
  readonly errors: { readonly total: number; readonly byReason: readonly CountEntry[] };
  /** Subjects erased (action `erase`, allowed). */
  readonly erasures: number;
  /** Key operations carried out (allowed actions `key.*`: rotations, rewraps). */
  readonly keyRotations: number;
  readonly consents: { readonly granted: number; readonly withdrawn: number };
  readonly approvals: { readonly created: number; readonly revoked: number };
  /**
   * Leak guards: writes and log lines a guard refused for carrying a stored child's value or a
   * canary (`guard.refused`), scans run, canary plantings, and reads of a canary through the vault.
   */
  readonly leaks: { readonly guardRefusals: number; readonly scans: number; readonly canaryPlantings: number; readonly canaryReads: number };
  /** The chain now (not limited to the period): match these with an export's. */
  readonly chain: {
    readonly head: { readonly seq: number; readonly hash: string } | null;
    readonly lastCheckpoint: { readonly seq: number; readonly ts: string; readonly hash: string; readonly signature: string } | null;
    /** The checkpoint verification key (hex). */
    readonly publicKey: string;
  };
}

export interface AuditReportInput {
  /** The period, inclusive, in milliseconds. */
  readonly since: number;
  readonly until: number;
  readonly publicKey: Uint8Array;
  /** The vault id (16 bytes). */
  readonly vaultId: Uint8Array;
}

function counts(rows: readonly CountRow[]): CountEntry[] {
  return rows.map((r) => ({ name: r.key ?? '(none)', count: r.count }));
}

function total(rows: readonly CountEntry[]): number {
  return rows.reduce((n, r) => n + r.count, 0);
}

function countOf(rows: readonly CountEntry[], name: string): number {
  return rows.find((r) => r.name === name)?.count ?? 0;
}

/**
 * Builds the report from the repository; run it in one read transaction for a consistent view.
 *
 * @example
 *   const report = buildAuditReport(repo, { since: Date.parse('2026-11-01'), until: Date.now(), publicKey, vaultId });
 *   for (const line of formatAuditReport(report)) console.log(line);
 */
export function buildAuditReport(repo: AuditRepository, input: AuditReportInput): AuditReport {
  const { since, until } = input;
  /* Precondition: a period of whole milliseconds from 1970 on, in order. */
  needs(Number.isSafeInteger(since) && Number.isSafeInteger(until) && since >= 0 && since <= until, 'VALIDATION', 'the report period must run forward from 1970 on, in whole milliseconds', 'since');
  const byAction = counts(repo.countBy('action', since, until));
  const byOutcome = counts(repo.countBy('outcome', since, until));
  const allowedByAction = counts(repo.countBy('action', since, until, 'allowed'));
  const refusals = counts(repo.countBy('reason', since, until, 'denied'));
  const errors = counts(repo.countBy('reason', since, until, 'error'));
  const head = repo.head();
  const last = repo.lastCheckpoint();
  return {
    vaultId: idToUuid(input.vaultId),
    period: { since: new Date(since).toISOString(), until: new Date(until).toISOString() },
    totals: { entries: total(byOutcome), allowed: countOf(byOutcome, 'allowed'), denied: countOf(byOutcome, 'denied'), error: countOf(byOutcome, 'error') },
    byAction,
    byPurpose: counts(repo.countBy('purpose', since, until)),
    byRole: counts(repo.countBy('role', since, until)),
    byOutcome,
    refusals: { total: total(refusals), byReason: refusals },
    errors: { total: total(errors), byReason: errors },
    erasures: countOf(allowedByAction, 'erase'),
    keyRotations: total(allowedByAction.filter((r) => r.name.startsWith('key.'))),
    consents: { granted: countOf(allowedByAction, 'consent.grant'), withdrawn: countOf(allowedByAction, 'consent.withdraw') },
    approvals: { created: countOf(allowedByAction, 'approval.create'), revoked: countOf(allowedByAction, 'approval.revoke') },
    leaks: {
      guardRefusals: countOf(byAction, 'guard.refused'),
      scans: countOf(allowedByAction, 'scan'),
      canaryPlantings: countOf(allowedByAction, 'canary.plant'),
      canaryReads: repo.canaryReads(since, until),
    },
    chain: {
      head: head === undefined ? null : { seq: head.seq, hash: toHex(head.hash) },
      lastCheckpoint: last === undefined ? null : { seq: last.seq, ts: new Date(last.ts).toISOString(), hash: toHex(last.hash), signature: toHex(last.signature) },
      publicKey: toHex(input.publicKey),
    },
  };
}

function section(title: string, rows: readonly CountEntry[]): string[] {
  if (rows.length === 0) return [`${title}: none`];
  const width = Math.max(...rows.map((r) => r.name.length));
  return [`${title}:`, ...rows.map((r) => `  ${r.name.padEnd(width)}  ${r.count}`)];
}

/** The report as text lines for the CLI. */
export function formatAuditReport(r: AuditReport): string[] {
  const cp = r.chain.lastCheckpoint;
  return [
    `audit report for vault ${r.vaultId}`,
    `period            ${r.period.since} to ${r.period.until}`,
    `entries           ${r.totals.entries} (allowed ${r.totals.allowed}, denied ${r.totals.denied}, error ${r.totals.error})`,
    `erasures          ${r.erasures}`,
    `key rotations     ${r.keyRotations}`,
    `consents          granted ${r.consents.granted}, withdrawn ${r.consents.withdrawn}`,
    `approvals         created ${r.approvals.created}, revoked ${r.approvals.revoked}`,
    `leak guards       ${r.leaks.guardRefusals} refusal(s), ${r.leaks.scans} scan(s), ${r.leaks.canaryPlantings} canary planting(s), ${r.leaks.canaryReads} canary read(s)`,
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
