/** `childvault upgrade`: authenticates the rows of a vault made before format 2, once, when asked. */
import type { Command } from 'commander';
import { outputFor, withVault } from '../global-options.js';

export function registerUpgrade(program: Command): void {
  program
    .command('upgrade')
    .description('upgrade a vault made before format 2 (rows without MACs): every row it decides from gets its MAC, in one transaction, recorded in the audit log')
    .addHelpText(
      'after',
      `
Run it once per vault, after making sure the file is the one you expect: a vault that was already
upgraded and now asks for it again has been rolled back to an older copy (restore a trusted backup
instead; the upgrade refuses when it finds traces of an earlier one). See docs/audit.md.
Example:
  $ childvault upgrade --db pool.db --key-file master.key`,
    )
    .action(async (_options: unknown, command: Command) => {
      const out = outputFor(command);
      const id = await withVault(command, async (vault) => vault.id, { upgrade: true, withoutPolicy: true });
      out.result({ vaultId: id, formatVersion: 2 }, () => [`vault ${id} is format 2: every row it decides from is authenticated`]);
    });
}
