/** `childvault init`: creates a vault file (and optionally a new master key file). */
import { chmodSync, existsSync, rmSync } from 'node:fs';
import type { Command } from 'commander';
import { VaultError } from '../../errors.js';
import { generateKeyFile, type MasterKeyProvider } from '../../keys/master-key.js';
import { openVault } from '../../open-vault.js';
import { accessContext } from '../access.js';
import { dbPath, globalOptions, masterKeyFrom, outputFor } from '../global-options.js';

interface InitOptions {
  readonly newKeyFile?: string;
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('create a new vault file (refuses to overwrite one)')
    .option('--new-key-file <path>', 'also create a new master key file (32 random bytes, mode 0600)')
    .addHelpText('after', '\nExample:\n  $ childvault init --db pool.db --new-key-file master.key\n  $ CHILDVAULT_KEY_FILE=master.key childvault status --db pool.db --policy policy.json')
    .action(async (options: InitOptions, command: Command) => {
      const globals = globalOptions(command);
      const out = outputFor(command);
      const path = dbPath(globals);
      if (path !== ':memory:' && existsSync(path)) throw new VaultError('CONFLICT', `vault file ${path} already exists; refusing to overwrite it`);

      let masterKey: MasterKeyProvider;
      if (options.newKeyFile !== undefined) {
        if (globals.keyFile !== undefined) throw new VaultError('USAGE', 'give either --key-file or --new-key-file, not both');
        masterKey = await generateKeyFile(options.newKeyFile);
      } else {
        masterKey = masterKeyFrom(globals);
      }
      let vault;
      try {
        vault = await openVault({ path, masterKey, create: true, openedBy: accessContext({}, { role: 'operator', purpose: 'init' }) });
      } catch (error) {
        // A key that guards no vault is useless; don't leave it lying around.
        if (options.newKeyFile !== undefined) rmSync(options.newKeyFile, { force: true });
        throw error;
      }
      try {
        if (path !== ':memory:') chmodSync(path, 0o600);
        out.result({ vaultId: vault.id, path, masterKeyProvider: masterKey.id, keyFile: options.newKeyFile ?? null }, () => [
          `created vault ${vault.id} in ${path}`,
          options.newKeyFile !== undefined
            ? `master key: ${options.newKeyFile} (mode 0600). Back it up apart from the vault: without it nothing can be read.`
            : `master key: ${masterKey.id}`,
        ]);
      } finally {
        await vault.close();
      }
    });
}
