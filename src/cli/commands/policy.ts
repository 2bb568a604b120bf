/**
 * `childvault policy check FILE`: validates a policy file on its own — no vault, key or --db —
 * with the loader the vault uses, and says what each role may do, so a policy can be reviewed
 * before it is deployed. A policy the vault would refuse is refused here with the same message
 * (VALIDATION, exit 1, naming the field path); an unreadable file is NOT_FOUND (exit 1).
 */
import type { Command } from 'commander';
import { DATA_ACTIONS, READ_ACTIONS, reviewPolicyFile, type GrantSummary, type PolicyAction, type PolicySummary, type RoleSummary } from '../../index.js';
import { table } from '../format.js';
import { outputFor } from '../global-options.js';

/** A policy's own text on one line: a newline or terminal escape in a description cannot reshape the output. */
function oneLine(text: string): string {
  return text.replace(/\p{Cc}+/gu, ' ');
}

/** A table under a heading, indented, without the padding a last empty column leaves. */
function indented(rows: readonly (readonly string[])[]): string[] {
  return table(rows).map((l) => `  ${l}`.trimEnd());
}

/**
 * What the grant's categories mean for its actions: reads are served in these views, writes may
 * store these categories, and management actions touch none of them through the grant.
 */
function categoriesCell(grant: GrantSummary): string {
  if (grant.views.length === 0) return '-';
  if (grant.actions.some((a) => (READ_ACTIONS as readonly PolicyAction[]).includes(a))) return grant.views.map((v) => `${v.category} ${v.view}`).join(', ');
  if (grant.actions.some((a) => (DATA_ACTIONS as readonly string[]).includes(a))) return grant.views.map((v) => v.category).join(', ');
  return '-';
}

/** "put, get: purpose, consent; erase: grant only": actions grouped by the steps that decide them. */
function decidedBy(grant: GrantSummary): string {
  const groups = new Map<string, string[]>();
  for (const action of grant.actions) {
    const steps = grant.steps[action] ?? [];
    const key = steps.length === 0 ? 'grant only' : steps.join(', ');
    groups.set(key, [...(groups.get(key) ?? []), action]);
  }
  return [...groups].map(([steps, actions]) => `${actions.join(', ')}: ${steps}`).join('; ');
}

function roleLines(role: RoleSummary, summary: PolicySummary): string[] {
  const limits = [
    ...(role.requiresApproval ? ["every read needs an officer's approval"] : []),
    ...(role.maxReadsPerHour === null ? [] : [`at most ${role.maxReadsPerHour} reads per actor in any 60 minutes`]),
  ];
  const concealed = summary.protections.find((p) => p.protection === 'locationConcealed')?.liftedBy ?? null;
  const notes = role.grants
    .filter((g) => g.actions.some((a) => g.steps[a]?.includes('protections') === true))
    .map((g) => `${g.purpose}: location reads are refused while locationConcealed is on (${concealed === null ? 'never lifted' : `lifted by consent to ${concealed}`})`);
  if (role.grants.some((g) => g.actions.includes('approval'))) notes.push(`approval: the actor must also be one of the officers (${summary.officers.join(', ')})`);
  return [
    `role ${role.role}${role.description === null ? '' : ` — ${oneLine(role.description)}`}`,
    ...(limits.length === 0 ? [] : [`  ${limits.join('; ')}`]),
    ...indented([
      ['purpose', 'actions', 'categories (view served on get/export)', 'decided by (after the role grant)'],
      ...role.grants.map((g) => [g.purpose, g.actions.join(' '), categoriesCell(g), decidedBy(g)]),
    ]),
    ...notes.map((n) => `  ${n}`),
    '',
  ];
}

function summaryLines(file: string, digest: string, s: PolicySummary): string[] {
  const notices = s.notices.map((n) => (n.changedPurposes.length === 0 ? n.version : `${n.version} (changed ${n.changedPurposes.join(', ')})`));
  return [
    `policy ${file} is valid (digest ${digest}, current notice ${s.currentNotice})`,
    '',
    ...s.roles.flatMap((r) => roleLines(r, s)),
    'purposes',
    ...indented([
      ['purpose', 'consent', 'categories (allowed views)', 'granted to', 'notes'],
      ...s.purposes.map((p) => [
        p.purpose,
        p.consent,
        p.categories.map((c) => `${c.category} ${c.views.join('|')}`).join(', ') || '-',
        p.grantedTo.join(', ') || '-',
        [...(p.retainsData ? ['retains data against a withdrawal'] : []), ...(p.displaysToOthers ? ['shows data to others'] : [])].join('; '),
      ]),
    ]),
    '',
    `categories (coarse location rounds to ${s.coarsePrecisionDegrees}°)`,
    ...indented([['category', 'retention'], ...s.categories.map((c) => [c.category, `${c.retentionDays} d${c.shortenedByPolicy ? ' (shortened by the policy)' : ''}`])]),
    '',
    'protective defaults (on until the guardian consents to the purpose)',
    ...indented([['protection', 'lifted by consent to'], ...s.protections.map((p) => [p.protection, p.liftedBy ?? 'never lifted'])]),
    '',
    `officers: ${s.officers.join(', ')}`,
    `notices: ${notices.join(', ')}`,
  ];
}

export function registerPolicy(program: Command): void {
  const policy = program.command('policy').description('review an access policy file');
  policy
    .command('check')
    .description('validate a policy file as the vault would (no vault or key needed) and print what each role may do')
    .argument('<file>', 'the policy, JSON')
    .addHelpText('after', '\nExit status 0 when the vault would accept the policy; 1 when it would not (VALIDATION, naming the field) or the file cannot be read.\nExample:\n  $ childvault policy check policy.json')
    .action(async (file: string, _options: unknown, command: Command) => {
      const out = outputFor(command);
      // The built-in categories, which the CLI opens every vault with: a policy naming others is refused there too.
      const { digest, ...summary } = await reviewPolicyFile(file);
      out.result({ file, valid: true, digest, ...summary }, () => summaryLines(file, digest, summary));
    });
}
