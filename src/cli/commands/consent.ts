/** `childvault consent grant|withdraw|list`: guardian consents (docs/policy.md). */
import type { Command } from 'commander';
import { type ConsentRecord, VaultError } from '../../index.js';
import { accessContext, contextOptions, type ContextOptions } from '../access.js';
import { table } from '../format.js';
import { outputFor, withVault } from '../global-options.js';
import { parseListOption, parseTimeOption } from '../parse.js';

const DEFAULTS = { role: 'guardian-portal', purpose: 'guardian-access' };

interface GrantOptions extends ContextOptions {
  readonly for: string;
  readonly categories: string;
  readonly guardian: string;
  readonly verification: string;
  readonly notice: string;
  readonly expires?: string;
}

const GRANT_FLAGS = {
  'consent.purpose': '--for',
  'consent.categories': '--categories',
  'consent.guardianRef': '--guardian',
  'consent.verification': '--verification',
  'consent.noticeVersion': '--notice',
  'consent.expiresAt': '--expires',
};

interface WithdrawOptions extends ContextOptions {
  readonly id?: string;
  readonly for?: string;
}

function consentLines(records: readonly ConsentRecord[]): string[] {
  if (records.length === 0) return ['no consents recorded'];
  return table([
    ['id', 'purpose', 'categories', 'state', 'notice', 'guardian', 'granted', 'expires'],
    ...records.map((r) => [r.id, r.purpose, r.categories.join(',') || '-', r.state, r.noticeVersion, r.guardianRef, r.grantedAt.toISOString(), r.expiresAt?.toISOString() ?? '-']),
  ]);
}

export function registerConsent(program: Command): void {
  const consent = program.command('consent').description("record, withdraw and list a guardian's consents (one purpose per consent, never bundled)");

  contextOptions(
    consent
      .command('grant')
      .description("record a guardian's consent for one purpose and named categories")
      .argument('<subject>', "the child's subject id")
      .requiredOption('--for <purpose>', 'the purpose consented to')
      .requiredOption('--categories <list>', "comma-separated categories ('' for purposes without data)")
      .requiredOption('--guardian <ref>', "the service's opaque reference to the guardian")
      .requiredOption('--verification <method>', 'how the guardian was verified (sms-code, id-document, face-match, …)')
      .requiredOption('--notice <version>', 'the notice version the guardian was shown')
      .option('--expires <time>', 'when the consent lapses (ISO 8601)'),
    DEFAULTS,
  )
    .addHelpText('after', '\nExample:\n  $ childvault consent grant u:1001 --for location-sharing --categories location --guardian g:77 \\\n      --verification sms-code --notice 2026-09 --db pool.db --key-file master.key --policy policy.json')
    .action(async (subject: string, options: GrantOptions, command: Command) => {
      const out = outputFor(command);
      const record = await withVault(command, (vault) =>
        vault.consent.grant(
          subject,
          {
            purpose: options.for,
            categories: parseListOption(options.categories),
            guardianRef: options.guardian,
            verification: options.verification,
            noticeVersion: options.notice,
            ...(options.expires === undefined ? {} : { expiresAt: parseTimeOption(options.expires, '--expires') }),
          },
          accessContext(options, DEFAULTS),
        ),
        { flags: GRANT_FLAGS },
      );
      out.result(record, () => [`recorded consent ${record.id} for ${record.purpose} (${record.categories.join(', ') || 'no data categories'})`]);
    });

  contextOptions(
    consent
      .command('withdraw')
      .description('withdraw a consent (by id, or all for a purpose); values nothing else covers are erased at once')
      .argument('<subject>', "the child's subject id")
      .option('--id <consent>', 'the consent to withdraw')
      .option('--for <purpose>', 'withdraw every active consent for this purpose'),
    DEFAULTS,
  )
    .addHelpText('after', '\nExample:\n  $ childvault consent withdraw u:1001 --for location-sharing --db pool.db --key-file master.key --policy policy.json')
    .action(async (subject: string, options: WithdrawOptions, command: Command) => {
      const out = outputFor(command);
      if ((options.id === undefined) === (options.for === undefined)) throw new VaultError('USAGE', 'give exactly one of --id and --for');
      const which = options.id !== undefined ? { id: options.id } : { purpose: options.for ?? '' };
      const receipt = await withVault(command, (vault) => vault.consent.withdraw(subject, which, accessContext(options, DEFAULTS)), { flags: { 'which.id': '--id', 'which.purpose': '--for' } });
      out.result(receipt, () => [
        `withdrew ${receipt.withdrawn.join(', ')}`,
        receipt.erased.length > 0 ? `erased (no remaining consent or legal hold covers them): ${receipt.erased.join(', ')}` : 'erased nothing (other consents or a legal hold still cover the data)',
      ]);
    });

  contextOptions(consent.command('list').description("list a child's consents and their state").argument('<subject>', "the child's subject id"), DEFAULTS)
    .addHelpText('after', '\nExample:\n  $ childvault consent list u:1001 --db pool.db --key-file master.key --policy policy.json')
    .action(async (subject: string, options: ContextOptions, command: Command) => {
      const out = outputFor(command);
      const records = await withVault(command, (vault) => vault.consent.list(subject, accessContext(options, DEFAULTS)));
      out.result(records, () => consentLines(records));
    });
}
