/**
 * The config profile: a `childvault.config.json` that holds where the vault, its master key and
 * its policy are, so an operator types `childvault status` instead of three flags. It holds paths
 * and environment-variable names only: a field that would hold a secret is refused, because a
 * config file is read by whoever runs the command and ends up in backups and repositories.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { VaultError } from '../index.js';
import { parseOrThrow, safe } from '../schema/zod-errors.js';

export const PROFILE_FILE = 'childvault.config.json';

const path = z.string().min(1).max(4096);
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, safe('must be an environment variable name (letters, digits, _)'));

/** Field names that would carry a secret: refused with a message that says where secrets go. */
const SECRET_FIELDS = ['masterKey', 'passphrase', 'key', 'pin', 'password', 'secret'] as const;

const profileSchema = z
  .strictObject({
    db: path.optional(),
    policy: path.optional(),
    keyFile: path.optional(),
    masterKeyEnv: envName.optional(),
    passphraseEnv: envName.optional(),
  })
  .refine((p) => [p.keyFile, p.masterKeyEnv, p.passphraseEnv].filter((s) => s !== undefined).length <= 1, {
    ...safe('names more than one master-key source: give one of keyFile, masterKeyEnv, passphraseEnv'),
    path: ['keyFile'],
  });

/** A loaded profile: paths resolved against the profile's own folder, and where it came from. */
export interface Profile {
  /** How the user named it: `--config`, `CHILDVAULT_CONFIG` or `./childvault.config.json`. */
  readonly source: string;
  readonly file: string;
  readonly db?: string;
  readonly policy?: string;
  readonly keyFile?: string;
  readonly masterKeyEnv?: string;
  readonly passphraseEnv?: string;
}

/**
 * Finds and reads the profile: `--config PATH`, else `CHILDVAULT_CONFIG`, else
 * `childvault.config.json` in the working directory if there is one. A profile that was named
 * but cannot be read is an error; the default one is optional.
 */
export function loadProfile(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): Profile | undefined {
  const named = flag ?? env['CHILDVAULT_CONFIG'];
  const source = flag !== undefined ? '--config' : named !== undefined && named !== '' ? 'CHILDVAULT_CONFIG' : `./${PROFILE_FILE}`;
  if (named === '') return undefined; // CHILDVAULT_CONFIG= turns the default profile off
  const file = resolve(cwd, named ?? PROFILE_FILE);
  let text: string;
  try {
    // Anyone who can write the profile chooses the policy in force: refuse one others may write.
    if ((statSync(file).mode & 0o002) !== 0) throw new VaultError('USAGE', `${source}: ${file} is writable by every user; run chmod o-w on it`, { field: source });
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof VaultError) throw error;
    if (named === undefined && (error as { code?: unknown }).code === 'ENOENT') return undefined;
    throw new VaultError('USAGE', `${source}: cannot read the config profile ${file}`, { field: source });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new VaultError('VALIDATION', `${source}: ${file} is not valid JSON`, { field: source });
  }
  if (typeof json === 'object' && json !== null) {
    const secret = SECRET_FIELDS.find((name) => Object.hasOwn(json, name));
    if (secret !== undefined) {
      throw new VaultError('VALIDATION', `${source}: ${file} has a field "${secret}": secrets never go in a config profile; name a key file (keyFile) or an environment variable (masterKeyEnv, passphraseEnv)`, { field: `config.${secret}` });
    }
  }
  const parsed = parseOrThrow(profileSchema, json, 'config');
  const here = (p: string | undefined): string | undefined => (p === undefined || isAbsolute(p) ? p : resolve(dirname(file), p));
  return {
    source,
    file,
    ...defined('db', here(parsed.db)),
    ...defined('policy', here(parsed.policy)),
    ...defined('keyFile', here(parsed.keyFile)),
    ...defined('masterKeyEnv', parsed.masterKeyEnv),
    ...defined('passphraseEnv', parsed.passphraseEnv),
  };
}

function defined<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}
