/**
 * Global options shared by every command: where the vault is and where its master key comes
 * from. Secrets are never taken from argv: only a key file path, or environment variables.
 */
import type { Command } from 'commander';
import { isVaultError, VaultError } from '../errors.js';
import { envKey, keyFile, passphraseKey, type MasterKeyProvider } from '../keys/master-key.js';
import { openVault } from '../open-vault.js';
import type { Vault } from '../vault.js';
import { accessContext } from './access.js';
import { createOutput, type Output } from './output.js';

export interface GlobalOptions {
  readonly db?: string;
  readonly keyFile?: string;
  readonly policy?: string;
  readonly json?: boolean;
}

export const KEY_SOURCES_HELP = 'give --key-file PATH, or set CHILDVAULT_KEY_FILE, CHILDVAULT_MASTER_KEY (base64) or CHILDVAULT_PASSPHRASE';

export function globalOptions(command: Command): GlobalOptions {
  return command.optsWithGlobals<GlobalOptions>();
}

export function outputFor(command: Command): Output {
  return createOutput(globalOptions(command).json === true);
}

/** The vault file: --db or CHILDVAULT_DB. */
export function dbPath(options: GlobalOptions): string {
  const path = options.db ?? process.env['CHILDVAULT_DB'];
  if (path === undefined || path === '') throw new VaultError('USAGE', 'no vault file: give --db PATH or set CHILDVAULT_DB');
  return path;
}

/**
 * The master-key source; exactly one must be given. The secret variables are removed from `env`
 * once read, so no child process inherits them: CHILDVAULT_PASSPHRASE here, when the provider is
 * made, and CHILDVAULT_MASTER_KEY by `envKey` when the vault opens.
 */
export function masterKeyFrom(options: GlobalOptions, env: NodeJS.ProcessEnv = process.env): MasterKeyProvider {
  const sources: { name: string; make: () => MasterKeyProvider }[] = [];
  const file = options.keyFile ?? env['CHILDVAULT_KEY_FILE'];
  if (file !== undefined && file !== '') sources.push({ name: options.keyFile !== undefined ? '--key-file' : 'CHILDVAULT_KEY_FILE', make: () => keyFile(file) });
  if (env['CHILDVAULT_MASTER_KEY'] !== undefined && env['CHILDVAULT_MASTER_KEY'] !== '') {
    sources.push({ name: 'CHILDVAULT_MASTER_KEY', make: () => envKey('CHILDVAULT_MASTER_KEY') });
  }
  const passphrase = env['CHILDVAULT_PASSPHRASE'];
  if (passphrase !== undefined && passphrase !== '') {
    sources.push({
      name: 'CHILDVAULT_PASSPHRASE',
      make: () => {
        Reflect.deleteProperty(env, 'CHILDVAULT_PASSPHRASE');
        return passphraseKey(passphrase);
      },
    });
  }
  const [only, ...more] = sources;
  if (only === undefined) throw new VaultError('USAGE', `no master key: ${KEY_SOURCES_HELP}`);
  if (more.length > 0) throw new VaultError('USAGE', `several master-key sources given (${sources.map((s) => s.name).join(', ')}); give exactly one`);
  return only.make();
}

/** The policy file: --policy or CHILDVAULT_POLICY (none: every decided command is refused, default deny). */
export function policyPath(options: GlobalOptions): string | undefined {
  const path = options.policy ?? process.env['CHILDVAULT_POLICY'];
  return path === undefined || path === '' ? undefined : path;
}

/** What a command may add to how the vault is opened. */
export interface OpenExtras {
  /** `audit discard-pending`: the audit_pending rows to discard at this open. */
  readonly discardPendingAudit?: readonly number[];
  /** `upgrade`: upgrade a format-1 vault at this open. */
  readonly upgrade?: boolean;
  /** The command decides nothing through the policy (`upgrade`), so none is needed. */
  readonly withoutPolicy?: boolean;
}

const POLICY_HELP = 'give --policy FILE or set CHILDVAULT_POLICY (start from docs/policy.example.json)';

/** Opens the vault named by the global options; the caller closes it. */
export async function openFromOptions(options: GlobalOptions, extras: OpenExtras = {}): Promise<Vault> {
  const { withoutPolicy, ...open } = extras;
  const path = dbPath(options);
  const masterKey = masterKeyFrom(options);
  const policy = policyPath(options);
  // Without a policy every command that decides would be refused: a usage problem, said before
  // anything is opened.
  if (policy === undefined && withoutPolicy !== true) throw new VaultError('USAGE', `no policy: ${POLICY_HELP}`);
  try {
    return await openVault({
      path,
      masterKey,
      openedBy: accessContext({}, { role: 'operator', purpose: 'cli' }),
      ...(policy === undefined ? {} : { policy }),
      ...open,
    });
  } catch (error) {
    // Said in the CLI's terms: the flag the user typed, and the command that makes a vault.
    if (isVaultError(error, 'NOT_FOUND') && error.field === 'options.path') {
      const flag = options.db !== undefined ? '--db' : 'CHILDVAULT_DB';
      throw new VaultError('NOT_FOUND', `${flag}: ${path} holds no vault; create one with \`childvault init\``, { field: flag });
    }
    throw error;
  }
}

/** Opens the vault, runs `fn`, and closes the vault whatever happens. */
export async function withVault<T>(command: Command, fn: (vault: Vault) => Promise<T>, extras: OpenExtras = {}): Promise<T> {
  const vault = await openFromOptions(globalOptions(command), extras);
  try {
    return await fn(vault);
  } finally {
    await vault.close();
  }
}
