/**
 * Global options shared by every command: where the vault is and where its master key comes
 * from. Secrets are never taken from argv: only a key file path, or environment variables.
 */
import type { Command } from 'commander';
import { envKey, isVaultError, keyFile, type MasterKeyProvider, openVault, passphraseKey, type Vault, VaultError } from '../index.js';
import { accessContext } from './access.js';
import { inFlagTerms } from './flags.js';
import { createOutput, type Output } from './output.js';
import { loadProfile, type Profile } from './profile.js';

export interface GlobalOptions {
  readonly db?: string;
  readonly keyFile?: string;
  readonly policy?: string;
  readonly config?: string;
  readonly json?: boolean;
  /** The config profile in use, if any: the last source of db, key and policy after flags and env. */
  readonly profile?: Profile;
}

const PROFILE_HINT = 'childvault.config.json (README: Operating)';

export const KEY_SOURCES_HELP = 'give --key-file PATH, set CHILDVAULT_KEY_FILE, CHILDVAULT_MASTER_KEY (base64) or CHILDVAULT_PASSPHRASE, or name a key source in childvault.config.json';

/** `withProfile: false` for `init --write-config`, whose --config names the profile it is about to write. */
export function globalOptions(command: Command, { withProfile = true }: { withProfile?: boolean } = {}): GlobalOptions {
  const options = command.optsWithGlobals<GlobalOptions>();
  if (!withProfile) return options;
  const profile = loadProfile(options.config);
  return profile === undefined ? options : { ...options, profile };
}

export function outputFor(command: Command): Output {
  return createOutput(globalOptions(command, { withProfile: false }).json === true);
}

/** The vault file and how the user named it: --db, else CHILDVAULT_DB, else the profile's `db`. */
export function dbSource(options: GlobalOptions): { path: string; name: string } {
  if (options.db !== undefined) return { path: options.db, name: '--db' };
  const env = process.env['CHILDVAULT_DB'];
  if (env !== undefined && env !== '') return { path: env, name: 'CHILDVAULT_DB' };
  if (options.profile?.db !== undefined) return { path: options.profile.db, name: `db in ${options.profile.source}` };
  throw new VaultError('USAGE', `no vault file: give --db PATH, set CHILDVAULT_DB or write a ${PROFILE_HINT}`);
}

export function dbPath(options: GlobalOptions): string {
  return dbSource(options).path;
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
  // The profile's key source is the default: any source given on the command line or in the
  // environment replaces it.
  const profile = options.profile;
  if (sources.length === 0 && profile !== undefined) {
    const where = `in ${profile.source}`;
    const profileKeyFile = profile.keyFile;
    if (profileKeyFile !== undefined) sources.push({ name: `keyFile ${where}`, make: () => keyFile(profileKeyFile) });
    const keyEnv = profile.masterKeyEnv;
    if (keyEnv !== undefined) sources.push({ name: `masterKeyEnv ${where}`, make: () => envKey(keyEnv) });
    if (profile.passphraseEnv !== undefined) {
      const name = profile.passphraseEnv;
      sources.push({
        name: `passphraseEnv ${where}`,
        make: () => {
          const value = env[name];
          if (value === undefined || value === '') throw new VaultError('MASTER_KEY_UNAVAILABLE', `passphraseEnv ${where} names ${name}, which is not set`);
          Reflect.deleteProperty(env, name);
          return passphraseKey(value);
        },
      });
    }
  }
  const [only, ...more] = sources;
  if (only === undefined) throw new VaultError('USAGE', `no master key: ${KEY_SOURCES_HELP}`);
  if (more.length > 0) throw new VaultError('USAGE', `several master-key sources given (${sources.map((s) => s.name).join(', ')}); give exactly one`);
  return only.make();
}

/** The policy file: --policy, CHILDVAULT_POLICY or the profile's (none: every decided command is refused, default deny). */
export function policyPath(options: GlobalOptions): string | undefined {
  const path = options.policy ?? process.env['CHILDVAULT_POLICY'];
  return path === undefined || path === '' ? options.profile?.policy : path;
}

/** What a command may add to how the vault is opened. */
export interface OpenExtras {
  /** `audit discard-pending`: the audit_pending rows to discard at this open. */
  readonly discardPendingAudit?: readonly number[];
  /** `upgrade`: upgrade a format-1 vault at this open. */
  readonly upgrade?: boolean;
  /** The command decides nothing through the policy (`upgrade`), so none is needed. */
  readonly withoutPolicy?: boolean;
  /** Library field paths → the command's flags, for errors said in the user's terms (cli/flags.ts). */
  readonly flags?: Readonly<Record<string, string>>;
}

const POLICY_HELP = 'give --policy FILE, set CHILDVAULT_POLICY or name one in childvault.config.json (start from docs/policy.example.json)';

/** Opens the vault named by the global options; the caller closes it. */
export async function openFromOptions(options: GlobalOptions, extras: OpenExtras = {}): Promise<Vault> {
  const { withoutPolicy, flags: _flags, ...open } = extras;
  const { path, name } = dbSource(options);
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
      throw new VaultError('NOT_FOUND', `${name}: ${path} holds no vault; create one with \`childvault init\``, { field: name });
    }
    throw error;
  }
}

/** Opens the vault, runs `fn`, and closes the vault whatever happens. */
export async function withVault<T>(command: Command, fn: (vault: Vault) => Promise<T>, extras: OpenExtras = {}): Promise<T> {
  const vault = await openFromOptions(globalOptions(command), extras);
  try {
    return await inFlagTerms(extras.flags ?? {}, () => fn(vault));
  } finally {
    await vault.close();
  }
}
