/** `childvault init`: creates a vault file (and optionally a new master key file). */
import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { generateKeyFile, type MasterKeyProvider, openVault, VaultError } from '../../index.js';
import { accessContext } from '../access.js';
import { dbPath, globalOptions, masterKeyFrom, outputFor, policyPath } from '../global-options.js';
import { PROFILE_FILE } from '../profile.js';

interface InitOptions {
  readonly newKeyFile?: string;
  readonly writeConfig?: boolean;
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('create a new vault file (refuses to overwrite one)')
    .option('--new-key-file <path>', 'also create a new master key file (32 random bytes, mode 0600)')
    .option('--write-config', `also write a config profile (--config PATH, default ./${PROFILE_FILE}) naming the vault, key file and policy, so later commands need no flags`)
    .addHelpText(
      'after',
      `\nExample:\n  $ childvault init --db pool.db --new-key-file master.key\n  $ CHILDVAULT_KEY_FILE=master.key childvault status --db pool.db --policy policy.json\n  $ childvault init --db pool2.db --new-key-file master2.key --policy policy.json --write-config --config pool2.config.json\n  $ childvault status --config pool2.config.json`,
    )
    .action(async (options: InitOptions, command: Command) => {
      const globals = globalOptions(command, { withProfile: options.writeConfig !== true });
      const out = outputFor(command);
      const path = dbPath(globals);
      if (path !== ':memory:' && existsSync(path)) throw new VaultError('CONFLICT', `vault file ${path} already exists; refusing to overwrite it`);
      const profileFile = resolve(globals.config ?? PROFILE_FILE);
      if (options.writeConfig === true) {
        if (path === ':memory:') throw new VaultError('USAGE', '--write-config needs a vault file, not :memory:');
        if (existsSync(profileFile)) throw new VaultError('CONFLICT', `config profile ${profileFile} already exists; refusing to overwrite it`);
      }

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
        const keyFilePath = options.newKeyFile ?? globals.keyFile ?? globals.profile?.keyFile;
        if (options.writeConfig === true) writeProfile(profileFile, { db: path, keyFile: keyFilePath, policy: policyPath(globals) });
        out.result({ vaultId: vault.id, path, masterKeyProvider: masterKey.id, keyFile: options.newKeyFile ?? null, config: options.writeConfig === true ? profileFile : null }, () => [
          `created vault ${vault.id} in ${path}`,
          options.newKeyFile !== undefined
            ? `master key: ${options.newKeyFile} (mode 0600). Back it up apart from the vault: without it nothing can be read.`
            : `master key: ${masterKey.id}`,
          ...(options.writeConfig === true ? [`config profile: ${profileFile} (paths only, no secrets)${keyFilePath === undefined ? '; the key comes from the environment, so add masterKeyEnv or passphraseEnv to it if you like' : ''}`] : []),
        ]);
      } finally {
        await vault.close();
      }
    });
}

/** Writes a profile whose paths are relative to its own folder, so the folder can move as a whole. */
function writeProfile(file: string, paths: { db: string; keyFile: string | undefined; policy: string | undefined }): void {
  const fromProfile = (p: string | undefined): string | undefined => (p === undefined ? undefined : relative(dirname(file), resolve(p)) || '.');
  const profile = { db: fromProfile(paths.db), keyFile: fromProfile(paths.keyFile), policy: fromProfile(paths.policy) };
  writeFileSync(file, `${JSON.stringify(profile, null, 2)}\n`, { flag: 'wx', mode: 0o644 });
}
