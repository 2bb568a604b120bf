/**
 * `childvault audit …`: the access audit log from the command line — export it, verify it (live,
 * or an export file offline with only the public key), print the public key, sign a checkpoint,
 * and summarise it for a compliance report (docs/audit.md).
 *
 * Thin by design: options are parsed and checked here (a bad one is a USAGE error naming it),
 * everything else is the library's `vault.audit` and `verifyAuditExportFile`.
 */
import { once } from 'node:events';
import { chmodSync, createWriteStream, existsSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import type { Command } from 'commander';
import { type ChainReport, type ExportFormat, type FileVerifyReport, VaultError, verifyAuditExportFile } from '../../index.js';
import { accessContext, contextOptions, type ContextOptions } from '../access.js';
import { formatBytes, plural } from '../format.js';
import { outputFor, withVault } from '../global-options.js';
import { parseIntegerOption, parseTimeOption } from '../parse.js';
import type { Output } from '../output.js';
import { formatAuditReport } from '../report-text.js';

const DEFAULTS = { role: 'officer', purpose: 'oversight' };

const HEX_KEY = /^[0-9a-fA-F]{64}$/;

/** The period `audit report` covers when not given one: the last 30 days. */
const DEFAULT_REPORT_DAYS = 30;
const DAY_MS = 86_400_000;

function parsePeriod(since: string | undefined, until: string | undefined): { since?: Date; until?: Date } {
  const s = since === undefined ? undefined : parseTimeOption(since, '--since');
  const u = until === undefined ? undefined : parseTimeOption(until, '--until', true);
  if (s !== undefined && u !== undefined && s > u) throw new VaultError('USAGE', '--since must not be after --until');
  return { ...(s === undefined ? {} : { since: s }), ...(u === undefined ? {} : { until: u }) };
}

function parseFormat(text: string): ExportFormat {
  if (text !== 'jsonl' && text !== 'csv') throw new VaultError('USAGE', '--format must be jsonl or csv');
  return text;
}

/** The verdict line of a failed verification (also the error message): `FAILED at seq S (line L): what`. */
export function failureLine(report: ChainReport & { readonly line?: number | null }): string {
  const seq = report.problem?.seq ?? null;
  const line = report.line ?? null;
  const message = report.problem?.message ?? 'unknown problem';
  // Messages about a malformed line name it already.
  const showLine = line !== null && !new RegExp(`\\bline ${line}\\b`).test(message);
  return `FAILED${seq === null ? '' : ` at seq ${seq}`}${showLine ? ` (line ${line})` : ''}: ${message}`;
}

/** "N entries (E elided), C checkpoints": what a verification or an export covered. */
function coverage(r: { readonly entries: number; readonly elided: number; readonly checkpoints: number }): string {
  return `${plural(r.entries, 'entry', 'entries')} (${r.elided} elided), ${plural(r.checkpoints, 'checkpoint')}`;
}

function okLine(report: ChainReport): string {
  return `OK: ${coverage(report)}, head seq ${report.head?.seq ?? 0}`;
}

/** Prints a verification report; throws INTEGRITY (exit 3) when it failed. */
function printVerdict(out: Output, report: ChainReport | FileVerifyReport): void {
  if (report.ok) {
    out.result(report, () => [okLine(report)]);
    return;
  }
  if (out.json) out.result(report, () => []);
  throw new VaultError('INTEGRITY', failureLine(report));
}

// ---------------------------------------------------------------------------------------------

interface ExportCommandOptions {
  readonly since?: string;
  readonly until?: string;
  readonly subject?: string;
  readonly actor?: string;
  readonly action?: string;
  readonly format: string;
  readonly out?: string;
  /** The access context's actor (`--actor` filters entries here). */
  readonly as?: string;
  readonly role?: string;
  readonly purpose?: string;
  readonly requestId?: string;
}

/** Creates `path` (never overwriting), mode 0600: an export holds pseudonyms and metadata. */
async function createExportFile(path: string): Promise<WriteStream> {
  const stream = createWriteStream(path, { flags: 'wx', mode: 0o600 });
  try {
    await once(stream, 'open');
    return stream;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'EEXIST') throw new VaultError('CONFLICT', `--out file ${path} already exists; refusing to overwrite it`);
    throw new VaultError('STORAGE', `cannot create --out file ${path}${typeof code === 'string' ? ` (${code})` : ''}`);
  }
}

function registerExport(audit: Command): void {
  audit
    .command('export')
    .description('export the audit log (or the entries matching filters; the others as digests) as JSON Lines or CSV, ending with a signed checkpoint')
    .option('--since <time>', 'only entries at or after this time (ISO 8601; a date means its start, UTC)')
    .option('--until <time>', 'only entries at or before this time (ISO 8601; a date means its end, UTC)')
    .option('--subject <id>', "only this subject's entries (found through its pseudonym; impossible after erasure)")
    .option('--actor <id>', 'only entries by this actor')
    .option('--action <name>', 'only entries of this action (put, get, erase, …)')
    .option('--format <format>', 'jsonl or csv', 'jsonl')
    .option('--out <file>', 'write to this new file (mode 0600; never overwritten) instead of stdout')
    .option('--as <id>', 'who runs the export, recorded in the log (default: cli:<login name>)')
    .option('--role <role>', 'role the actor acts in', DEFAULTS.role)
    .option('--purpose <purpose>', 'declared purpose of the access', DEFAULTS.purpose)
    .option('--request-id <id>', 'ticket or request id recorded with the access')
    .addHelpText(
      'after',
      `
With filters, the export holds only the stretches between checkpoints that show a matching entry,
the other entries there as digests (so it still verifies); the rest of the log is left out.
The export records itself in the log first and ends with a checkpoint signed for it.

Example:
  $ childvault audit export --db pool.db --key-file master.key --policy policy.json --out audit-2026-11.jsonl \\
      --since 2026-11-01 --until 2026-11-30
  $ childvault audit export --db pool.db --key-file master.key --policy policy.json --subject u:1001 --format csv > u1001.csv`,
    )
    .action(async (options: ExportCommandOptions, command: Command) => {
      const out = outputFor(command);
      const format = parseFormat(options.format);
      const period = parsePeriod(options.since, options.until);
      const path = options.out;
      if (path !== undefined && existsSync(path)) throw new VaultError('CONFLICT', `--out file ${path} already exists; refusing to overwrite it`);
      const ctx = accessContext({ ...(options.as === undefined ? {} : { actor: options.as }), ...contextOf(options) }, DEFAULTS);
      const filters = {
        ...period,
        ...(options.subject === undefined ? {} : { subject: options.subject }),
        ...(options.actor === undefined ? {} : { actor: options.actor }),
        ...(options.action === undefined ? {} : { action: options.action }),
      };
      const result = await withVault(command, async (vault) => {
        if (path === undefined) return vault.audit.export(process.stdout, { format, ...filters }, ctx);
        const file = await createExportFile(path);
        const bar = out.progress('exporting', 1);
        try {
          const r = await vault.audit.export(file, { format, ...filters, onProgress: (done, total) => { bar.update(done, total); } }, ctx);
          file.end();
          await once(file, 'close');
          return r;
        } catch (error) {
          file.destroy();
          rmSync(path, { force: true });
          throw error;
        } finally {
          bar.stop();
        }
      });
      if (options.subject !== undefined) {
        // The vault keeps nothing that says a subject was erased (that would link the child again),
        // so it cannot tell whether a history was split: say what --subject can and cannot find.
        out.notice(
          `--subject found the ${plural(result.entries, 'entry', 'entries')} linked to the subject's current audit pseudonym; if the subject was erased, ` +
            'its entries from before the erasure carry a pseudonym whose key the erasure destroyed: they are unlinkable to it by design, and not shown',
        );
      }
      if (path !== undefined) {
        const omitted = result.omitted > 0 ? `, ${result.omitted} entries left out` : '';
        out.result({ file: path, format, ...result }, () => [
          `exported ${coverage(result)}${omitted}, head seq ${result.head} to ${path} (${formatBytes(result.bytes)})`,
        ]);
      }
    });
}

function contextOf(options: { readonly role?: string; readonly purpose?: string; readonly requestId?: string }): ContextOptions {
  return {
    ...(options.role === undefined ? {} : { role: options.role }),
    ...(options.purpose === undefined ? {} : { purpose: options.purpose }),
    ...(options.requestId === undefined ? {} : { requestId: options.requestId }),
  };
}

// ---------------------------------------------------------------------------------------------

interface VerifyCommandOptions extends ContextOptions {
  readonly file?: string;
  readonly publicKey?: string;
}

function registerVerify(audit: Command): void {
  contextOptions(
    audit
      .command('verify')
      .description('verify the live audit log, or (with --file and --public-key) an export file offline without the master key')
      .option('--file <export>', 'an export file (JSON Lines or CSV) to verify offline')
      .option('--public-key <hex>', "the vault's public key (64 hex characters, from `childvault audit public-key`), obtained apart from the file"),
    DEFAULTS,
  )
    .addHelpText(
      'after',
      `
Prints "OK: N entries (E elided), C checkpoints, head seq S", or "FAILED at seq S (line L): what is
wrong" and exits with status 3.

Example:
  $ childvault audit verify --db pool.db --key-file master.key --policy policy.json
  $ childvault audit public-key --out childvault-audit.pub --db pool.db --key-file master.key --policy policy.json
  $ childvault audit verify --file audit-2026-11.jsonl --public-key "$(cat childvault-audit.pub)"

The public key file comes from \`childvault audit public-key --out FILE\`; hand it to whoever verifies
through a channel of its own, apart from the export.`,
    )
    .action(async (options: VerifyCommandOptions, command: Command) => {
      const out = outputFor(command);
      if (options.file === undefined) {
        if (options.publicKey !== undefined) throw new VaultError('USAGE', '--public-key goes with --file (offline verification); the live log is checked with the vault\'s own key');
        const report = await withVault(command, async (vault) => {
          const bar = out.progress('verifying', 1);
          try {
            return await vault.audit.verify(accessContext(options, DEFAULTS), (done, total) => { bar.update(done, total); });
          } finally {
            bar.stop();
          }
        });
        printVerdict(out, report);
        return;
      }
      if (options.publicKey === undefined) throw new VaultError('USAGE', "--file needs --public-key HEX: the vault's key, from `childvault audit public-key`");
      if (!HEX_KEY.test(options.publicKey)) throw new VaultError('USAGE', '--public-key must be 64 hex characters');
      const bar = out.progress('verifying', 1);
      let report: FileVerifyReport;
      try {
        report = await verifyAuditExportFile(options.file, Buffer.from(options.publicKey, 'hex'), (done, total) => { bar.update(done, total); });
      } finally {
        bar.stop();
      }
      printVerdict(out, report);
    });
}

// ---------------------------------------------------------------------------------------------

/**
 * Writes the public key (hex and a newline) to a new file. Mode 0644 whatever the umask: the key
 * is public, and whoever verifies exports must be able to read it.
 */
function writePublicKeyFile(path: string, publicKey: string): void {
  try {
    writeFileSync(path, `${publicKey}\n`, { flag: 'wx', mode: 0o644 });
    chmodSync(path, 0o644);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'EEXIST') throw new VaultError('CONFLICT', `--out file ${path} already exists; refusing to overwrite it`);
    throw new VaultError('STORAGE', `cannot create --out file ${path}${typeof code === 'string' ? ` (${code})` : ''}`);
  }
}

function registerPublicKey(audit: Command): void {
  audit
    .command('public-key')
    .description("print the vault's checkpoint verification key (hex), or write it to a file: give it to the regulator through a channel of its own")
    .option('--out <file>', 'write the key (hex, one line) to this new file (mode 0644; never overwritten) instead of stdout')
    .addHelpText(
      'after',
      `
The file is what \`childvault audit verify --file EXPORT --public-key "$(cat FILE)"\` reads.
Example:
  $ childvault audit public-key --out childvault-audit.pub --db pool.db --key-file master.key --policy policy.json`,
    )
    .action(async (options: { readonly out?: string }, command: Command) => {
      const out = outputFor(command);
      const path = options.out;
      if (path !== undefined && existsSync(path)) throw new VaultError('CONFLICT', `--out file ${path} already exists; refusing to overwrite it`);
      const publicKey = await withVault(command, async (vault) => vault.audit.publicKey, { withoutPolicy: true });
      if (path === undefined) {
        out.result({ publicKey }, () => [publicKey]);
        return;
      }
      writePublicKeyFile(path, publicKey);
      out.result({ publicKey, file: path }, () => [`wrote the public key to ${path}; verify an export with: childvault audit verify --file EXPORT --public-key "$(cat ${path})"`]);
    });
}

function registerCheckpoint(audit: Command): void {
  contextOptions(audit.command('checkpoint').description('sign a checkpoint at the head of the audit log now'), DEFAULTS)
    .addHelpText('after', '\nExample:\n  $ childvault audit checkpoint --db pool.db --key-file master.key --policy policy.json --request-id CHG-2041')
    .action(async (options: ContextOptions, command: Command) => {
      const out = outputFor(command);
      const cp = await withVault(command, async (vault) => vault.audit.checkpoint(accessContext(options, DEFAULTS)));
      out.result({ seq: cp.seq, ts: cp.ts.toISOString(), hash: cp.hash, signature: cp.signature }, () => [
        `signed checkpoint at seq ${cp.seq} (${cp.ts.toISOString()})`,
        `hash       ${cp.hash}`,
        `signature  ${cp.signature}`,
      ]);
    });
}

interface ReportCommandOptions extends ContextOptions {
  readonly since?: string;
  readonly until?: string;
}

/**
 * The report's period: as given; a missing end is now, a missing start 30 days before the end.
 * `note` says what was chosen, for the text output.
 */
function reportPeriod(since: string | undefined, until: string | undefined, now: Date): { since: Date; until: Date; note?: string } {
  const given = parsePeriod(since, until);
  const end = given.until ?? now;
  const start = given.since ?? new Date(end.getTime() - DEFAULT_REPORT_DAYS * DAY_MS);
  // Both given were checked by parsePeriod: here --until is now.
  if (start > end) throw new VaultError('USAGE', '--since must not be after now (the end of the period when --until is not given)');
  const note =
    given.since === undefined && given.until === undefined
      ? `the last ${DEFAULT_REPORT_DAYS} days: no --since or --until given`
      : given.since === undefined
        ? `from ${DEFAULT_REPORT_DAYS} days before --until: no --since given`
        : given.until === undefined
          ? 'until now: no --until given'
          : undefined;
  return { since: start, until: end, ...(note === undefined ? {} : { note }) };
}

function registerReport(audit: Command): void {
  contextOptions(
    audit
      .command('report')
      .description('compliance summary for a period: operations by action, purpose, role and outcome, refusals, errors, erasures, key rotations, consents, approvals, and the signed chain head (no personal data); by default the last 30 days')
      .option('--since <time>', `start of the period (ISO 8601; a date means its start, UTC; default: ${DEFAULT_REPORT_DAYS} days before the end)`)
      .option('--until <time>', 'end of the period (ISO 8601; a date means its end, UTC; default: now)'),
    DEFAULTS,
  )
    .addHelpText(
      'after',
      `
Without --since and --until the period is the last ${DEFAULT_REPORT_DAYS} days (until now); the output says so.
The figures are defined in docs/audit.md ("The compliance report").
Example:
  $ childvault audit report --db pool.db --key-file master.key --policy policy.json --since 2026-11-01 --until 2026-11-30 --json
  $ childvault audit report --db pool.db --key-file master.key --policy policy.json`,
    )
    .action(async (options: ReportCommandOptions, command: Command) => {
      const out = outputFor(command);
      const { since, until, note } = reportPeriod(options.since, options.until, new Date());
      const report = await withVault(command, async (vault) => vault.audit.report({ since, until }, accessContext(options, DEFAULTS)));
      out.result(report, () => formatAuditReport(report, note));
    });
}

function registerDiscardPending(audit: Command): void {
  audit
    .command('discard-pending')
    .argument('<ids...>', 'the audit_pending row ids the refused opening named')
    .description('open the vault discarding audit_pending rows it refused as foreign (written into the file by someone else); each discard is recorded in the log')
    .addHelpText(
      'after',
      `
An opening refuses (INTEGRITY, exit 3) a waiting row that is not a wrong-key record the vault writes,
and names it. Inspect it first (sqlite3 pool.db "SELECT * FROM audit_pending WHERE id = 7"): it is
evidence that someone wrote into the vault file. See docs/audit.md, "Wrong-key attempts".
Example:
  $ childvault audit discard-pending 7 --db pool.db --key-file master.key --policy policy.json`,
    )
    .action(async (ids: string[], _options: unknown, command: Command) => {
      const out = outputFor(command);
      const rows = [...new Set(ids.map((id) => parseIntegerOption(id, 'ID', 1, Number.MAX_SAFE_INTEGER)))];
      await withVault(command, async () => undefined, { discardPendingAudit: rows, withoutPolicy: true });
      out.result({ discarded: rows }, () => [`discarded audit_pending ${rows.length === 1 ? 'row' : 'rows'} ${rows.join(', ')}; each discard is recorded in the audit log (audit.discard-pending)`]);
    });
}

/** Adds `childvault audit` and its subcommands. */
export function registerAudit(program: Command): void {
  const audit = program
    .command('audit')
    .description('the tamper-evident access log: export, verify (also offline), public key, checkpoint, report')
    .addHelpText(
      'after',
      `
Example:
  $ childvault audit verify --db pool.db --key-file master.key --policy policy.json
  $ childvault audit export --db pool.db --key-file master.key --policy policy.json --out audit.jsonl
  $ childvault audit verify --file audit.jsonl --public-key "$(cat childvault-audit.pub)"`,
    );
  registerExport(audit);
  registerVerify(audit);
  registerPublicKey(audit);
  registerCheckpoint(audit);
  registerReport(audit);
  registerDiscardPending(audit);
}
