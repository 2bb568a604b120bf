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
import type { AuditRepository, CountRow, DetailCountRow } from '../store/audit-repository.js';

/** How many entries share one value (an action, a purpose, a reason). */
export interface CountEntry {
  readonly name: string;
  readonly count: number;
}

/** The figures of `childvault audit report` (worded by the CLI, src/cli/report-text.ts; defined in docs/audit.md). */
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
  /**
   * Erasures carried out (allowed entries only): whole subjects (`erase`, scope subject), some
   * categories of a subject (`erase`, scope categories), consent withdrawals that erased values
   * no other consent or hold kept (`consent.withdraw` with a non-empty `erased`), and values
   * erased past retention (the `erased` counts of `retention.sweep` entries that were not dry runs).
   */
  readonly erasures: { readonly subjects: number; readonly partial: number; readonly onConsentWithdrawal: number; readonly expiredValues: number };
  /**
   * Key operations carried out. "Key rotations" are completed KEK rotations (`key.rotate` entries
   * with phase `finish`): a rotation a crash interrupted counts once, when it is finished, in the
   * period it finishes. Started ones (phase `start`) are beside it; dry runs (`keys rotate
   * --dry-run`) and key listings are not key operations. Master-key rotations and destroyed KEKs
   * are counted apart.
   */
  readonly keys: {
    readonly kekRotations: { readonly completed: number; readonly started: number };
    readonly masterKeyRotations: number;
    readonly keksDestroyed: number;
  };
  /**
   * Consents granted (new ones: a grant repeated while the same consent is held is recorded with
   * `repeated` and counted apart) and consents withdrawn (one withdrawal by purpose can withdraw several).
   */
  readonly consents: { readonly granted: number; readonly repeatedGrants: number; readonly withdrawn: number };
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

/** The rows of `countByDetail` whose key is `key`, counted. */
function detailCount(rows: readonly DetailCountRow[], key: string | number | null): number {
  return rows.find((r) => r.key === key)?.count ?? 0;
}

/**
 * Builds the report from the repository; run it in one read transaction for a consistent view.
 *
 * @example
 *   const report = buildAuditReport(repo, { since: Date.parse('2026-11-01'), until: Date.now(), publicKey, vaultId });
 *   report.keys.kekRotations.completed; // KEK rotations finished in the period
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
  const detail = (action: string, groupPath: string, sumPath?: string): DetailCountRow[] => repo.countByDetail(action, since, until, groupPath, sumPath);
  const erasedScopes = detail('erase', '$.scope');
  const rotationPhases = detail('key.rotate', '$.phase');
  const grants = detail('consent.grant', '$.repeated');
  // Grouped by the categories a withdrawal erased ('' when it erased none), summing the consents it withdrew.
  const withdrawals = detail('consent.withdraw', '$.erased', '$.withdrawn');
  const sweeps = detail('retention.sweep', '$.dryRun', '$.erased');
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
    erasures: {
      subjects: detailCount(erasedScopes, 'subject'),
      partial: detailCount(erasedScopes, 'categories'),
      onConsentWithdrawal: withdrawals.filter((r) => typeof r.key === 'string' && r.key !== '').reduce((n, r) => n + r.count, 0),
      expiredValues: sweeps.find((r) => r.key === 0)?.sum ?? 0,
    },
    keys: {
      kekRotations: { completed: detailCount(rotationPhases, 'finish'), started: detailCount(rotationPhases, 'start') },
      masterKeyRotations: countOf(allowedByAction, 'key.rotate-master'),
      keksDestroyed: countOf(allowedByAction, 'key.destroy'),
    },
    consents: { granted: detailCount(grants, null), repeatedGrants: detailCount(grants, 1), withdrawn: withdrawals.reduce((n, r) => n + r.sum, 0) },
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
