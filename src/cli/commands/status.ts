/** `childvault status`: identity, schema, counts per category and key versions. */
import type { Command } from 'commander';
import { accessContext } from '../access.js';
import { erasureLine } from './keys.js';
import { formatBytes, plural, table } from '../format.js';
import { outputFor, withVault } from '../global-options.js';

/** Values past retention that no sweep has erased yet: not counted in the table (they cannot be read), but still in the file. */
function expiredLines(categories: readonly { readonly name: string; readonly expired: number }[]): string[] {
  const expired = categories.filter((c) => c.expired > 0);
  if (expired.length === 0) return [];
  const total = expired.reduce((n, c) => n + c.expired, 0);
  return [`expired     ${plural(total, 'value')} past retention (${expired.map((c) => `${c.name} ${c.expired}`).join(', ')}), erased at the next \`childvault retention sweep\``];
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('show the vault id, schema version, values per category and key versions (opening it checks the master key)')
    .addHelpText('after', '\nExample:\n  $ childvault status --db pool.db --key-file master.key --policy policy.json --json')
    .action(async (_options: unknown, command: Command) => {
      const out = outputFor(command);
      await withVault(command, async (vault) => {
        const s = await vault.status(accessContext({}, { role: 'operator', purpose: 'operations' }));
        out.result(s, () => [
          `vault       ${s.vaultId}`,
          `format      ${s.formatVersion}, schema ${s.schemaVersion}, durability ${s.durability}`,
          `created     ${s.createdAt.toISOString()}`,
          `master key  ${s.masterKeyProvider} (verified)`,
          '',
          ...table([
            ['category', 'values', 'size', 'retention'],
            ...s.categories.map((c) => [c.name, String(c.values), formatBytes(c.plaintextBytes), `${c.retentionDays} d`]),
          ]),
          ...expiredLines(s.categories),
          '',
          ...table([
            ['KEK', 'state', 'data keys', 'created'],
            ...s.keks.map((k) => [`v${k.version}`, k.state, String(k.dataKeys), k.createdAt.toISOString()]),
          ]),
          '',
          `audit log   ${plural(s.audit.entries, 'entry', 'entries')}, last checkpoint at ${s.audit.lastCheckpoint ?? 'none yet'}`,
          ...(s.rotationInProgress === null ? [] : [`rotation    to v${s.rotationInProgress.toVersion} in progress (${s.rotationInProgress.rewrapped} rewrapped): run \`childvault keys rotate\` to finish`]),
          erasureLine(s.erasures),
        ]);
      });
    });
}
