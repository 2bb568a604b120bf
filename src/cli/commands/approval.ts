/** `childvault approval create|revoke|list`: the officer's approvals of staff access. */
import type { Command } from 'commander';
import type { ApprovalRecord } from '../../index.js';
import { accessContext, contextOptions, type ContextOptions } from '../access.js';
import { table } from '../format.js';
import { outputFor, withVault } from '../global-options.js';
import { parseIntegerOption, parseListOption, parseExpiryOption } from '../parse.js';

const DEFAULTS = { role: 'officer', purpose: 'oversight' };

interface CreateOptions extends ContextOptions {
  readonly for: string;
  readonly subjects: string;
  readonly categories: string;
  readonly purpose: string;
  readonly reason: string;
  readonly expires: string;
  readonly reads: string;
}

function approvalLines(records: readonly ApprovalRecord[]): string[] {
  if (records.length === 0) return ['no approvals'];
  return table([
    ['id', 'actor', 'purpose', 'categories', 'state', 'reads', 'expires', 'officer'],
    ...records.map((r) => [r.id, r.actor, r.purpose, r.categories.join(','), r.state, `${r.readsUsed}/${r.readBudget}`, r.expiresAt.toISOString(), r.officer]),
  ]);
}

export function registerApproval(program: Command): void {
  const approval = program.command('approval').description("the children's-PI protection officer's approvals of staff reads");

  contextOptions(
    approval
      .command('create')
      .description('approve a staff actor to read named subjects for one purpose (run as the officer: --actor)')
      .requiredOption('--for <actor>', 'the staff actor approved')
      .requiredOption('--subjects <list>', 'comma-separated subject ids')
      .requiredOption('--categories <list>', 'comma-separated categories')
      .requiredOption('--reason <text>', 'the ticket or case this serves')
      .requiredOption('--expires <time>', 'when it lapses: ISO 8601, or from now as 12h or 7d (within 30 days)')
      .requiredOption('--reads <n>', 'read budget'),
    DEFAULTS,
  )
    .addHelpText(
      'after',
      '\nThe approval\'s purpose is --purpose (the purpose the staff member will read for).\nExample:\n  $ childvault approval create --actor staff:cpo-li --for staff:mod-wang --purpose safety-review --subjects u:1001 \\\n      --categories face,location --reason "report #5521" --expires 7d --reads 3 --db pool.db --key-file master.key --policy policy.json',
    )
    .action(async (options: CreateOptions, command: Command) => {
      const out = outputFor(command);
      const record = await withVault(command, (vault) =>
        vault.approvals.create(
          {
            actor: options.for,
            subjects: parseListOption(options.subjects),
            categories: parseListOption(options.categories),
            purpose: options.purpose,
            reason: options.reason,
            expiresAt: parseExpiryOption(options.expires, '--expires', new Date()),
            readBudget: parseIntegerOption(options.reads, '--reads', 1, 10_000),
          },
          accessContext({ ...options, purpose: DEFAULTS.purpose }, DEFAULTS),
        ),
        {
          flags: {
            'approval.actor': '--for',
            'approval.subjects': '--subjects',
            'approval.categories': '--categories',
            'approval.purpose': '--purpose',
            'approval.reason': '--reason',
            'approval.expiresAt': '--expires',
            'approval.readBudget': '--reads',
          },
        },
      );
      out.result(record, () => [`approval ${record.id}: ${record.actor} may read for ${record.purpose} (${record.categories.join(', ')}), ${record.readBudget} read(s), until ${record.expiresAt.toISOString()}`]);
    });

  contextOptions(approval.command('revoke').description('revoke an approval at once').argument('<id>', 'the approval id'), DEFAULTS)
    .addHelpText('after', '\nExample:\n  $ childvault approval revoke apv_01936f… --actor staff:cpo-li --db pool.db --key-file master.key --policy policy.json')
    .action(async (id: string, options: ContextOptions, command: Command) => {
      const out = outputFor(command);
      const record = await withVault(command, (vault) => vault.approvals.revoke(id, accessContext(options, DEFAULTS)));
      out.result(record, () => [`revoked ${record.id}`]);
    });

  contextOptions(approval.command('list').description('list approvals and their state (officers only)'), DEFAULTS)
    .addHelpText('after', '\nExample:\n  $ childvault approval list --actor staff:cpo-li --db pool.db --key-file master.key --policy policy.json --json')
    .action(async (options: ContextOptions, command: Command) => {
      const out = outputFor(command);
      const records = await withVault(command, (vault) => vault.approvals.list(accessContext(options, DEFAULTS)));
      out.result(records, () => approvalLines(records));
    });
}
