/** `childvault status`: identity, schema, counts per category and key versions. */
import type { Command } from 'commander';
import { accessContext } from '../access.js';
import { erasureLine } from './keys.js';
import { formatBytes, table } from '../format.js';
import { outputFor, withVault } from '../global-options.js';

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
          '',
          ...table([
            ['KEK', 'state', 'data keys', 'created'],
            ...s.keks.map((k) => [`v${k.version}`, k.state, String(k.dataKeys), k.createdAt.toISOString()]),
          ]),
          '',
          `audit log   ${s.audit.entries} entries, last checkpoint at ${s.audit.lastCheckpoint ?? 'none yet'}`,
          ...(s.rotationInProgress === null ? [] : [`rotation    to v${s.rotationInProgress.toVersion} in progress (${s.rotationInProgress.rewrapped} rewrapped): run \`childvault keys rotate\` to finish`]),
          erasureLine(s.erasures),
        ]);
      });
    });
}
