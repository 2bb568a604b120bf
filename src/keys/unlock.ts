/**
 * Unlocking a vault: attach the master-key provider, prove it is the right key, and unwrap the
 * active KEK and the subject-index key. Creating a vault happens here too: the new keys are
 * wrapped first (the provider may be a remote KMS, so this is async) and inserted in one
 * IMMEDIATE transaction that re-checks that no other process created the vault meanwhile.
 */
import { KEY_BYTES } from '../crypto/aead.js';
import { randomBytes } from '../crypto/random.js';
import { SecretBytes } from '../crypto/secret-bytes.js';
import { equalBytes } from '../crypto/hash.js';
import { integrityError, isVaultError, VaultError } from '../errors.js';
import { encodeCanonical } from '../format/canonical.js';
import { idToUuid, newId } from '../format/ids.js';
import { writeTransaction, type SqliteDatabase } from '../store/database.js';
import type { KekRepository } from '../store/kek-repository.js';
import type { MetaRepository, VaultMetaRow } from '../store/meta-repository.js';
import { Keyring, kekAad } from './keyring.js';
import type { MasterKeyProvider } from './master-key.js';
import { SUBJECT_INDEX_KEY } from './subject-index.js';

/** Version of the vault's stored formats as a whole (docs/format.md). */
export const VAULT_FORMAT_VERSION = 1;
const MASTER_CHECK_PLAINTEXT = new Uint8Array(32);

export function masterCheckAad(vaultId: Uint8Array): Uint8Array {
  return encodeCanonical('master-check', [vaultId]);
}

export function vaultKeyAad(vaultId: Uint8Array, name: string): Uint8Array {
  return encodeCanonical('vault-key', [vaultId, name]);
}

export interface UnlockedVault {
  readonly meta: VaultMetaRow;
  readonly keyring: Keyring;
  readonly subjectIndexKey: SecretBytes;
  /** True when this call created the vault. */
  readonly created: boolean;
}

interface Repositories {
  readonly meta: MetaRepository;
  readonly keks: KekRepository;
}

async function attach(provider: MasterKeyProvider, stored: string | null): Promise<string | null> {
  return provider.attach === undefined ? null : provider.attach(stored);
}

async function unwrapVaultKey(provider: MasterKeyProvider, meta: VaultMetaRow, name: string, wrapped: Uint8Array): Promise<SecretBytes> {
  let bytes: Uint8Array;
  try {
    bytes = await provider.unwrap(wrapped, vaultKeyAad(meta.vaultId, name));
  } catch {
    throw integrityError(`vault key "${name}"`);
  }
  if (bytes.length !== KEY_BYTES) throw integrityError(`vault key "${name}"`);
  return new SecretBytes(bytes);
}

/** Proves the provider holds this vault's master key; a wrong key is WRONG_MASTER_KEY, not INTEGRITY. */
async function checkMasterKey(provider: MasterKeyProvider, meta: VaultMetaRow): Promise<void> {
  const vault = idToUuid(meta.vaultId);
  if (provider.id !== meta.masterProvider) {
    throw new VaultError('WRONG_MASTER_KEY', `vault ${vault} is locked by a "${meta.masterProvider}" master key, but a "${provider.id}" key was given`);
  }
  let check: Uint8Array;
  try {
    check = await provider.unwrap(meta.masterCheck, masterCheckAad(meta.vaultId));
  } catch (error) {
    if (isVaultError(error) && error.code !== 'INTEGRITY') throw error; // e.g. MASTER_KEY_UNAVAILABLE from a KMS
    throw new VaultError('WRONG_MASTER_KEY', `the master key given does not open vault ${vault}: check the key file, variable or passphrase`);
  }
  if (!equalBytes(check, MASTER_CHECK_PLAINTEXT)) throw integrityError('master key check');
}

interface PreparedVault {
  readonly meta: VaultMetaRow;
  readonly wrappedKek: Uint8Array;
  readonly wrappedIndexKey: Uint8Array;
}

async function prepareNewVault(provider: MasterKeyProvider, now: number): Promise<PreparedVault> {
  const params = await attach(provider, null);
  const vaultId = newId(now);
  const kek = randomBytes(KEY_BYTES);
  const indexKey = randomBytes(KEY_BYTES);
  try {
    return {
      meta: {
        vaultId,
        formatVersion: VAULT_FORMAT_VERSION,
        createdAt: now,
        masterProvider: provider.id,
        masterParams: params,
        masterCheck: await provider.wrap(MASTER_CHECK_PLAINTEXT, masterCheckAad(vaultId)),
      },
      wrappedKek: await provider.wrap(kek, kekAad(vaultId, 1)),
      wrappedIndexKey: await provider.wrap(indexKey, vaultKeyAad(vaultId, SUBJECT_INDEX_KEY)),
    };
  } finally {
    kek.fill(0);
    indexKey.fill(0);
  }
}

/** Unlocks the vault in `db`, creating it first if the file holds none yet. */
export async function unlockVault(db: SqliteDatabase, repos: Repositories, provider: MasterKeyProvider, now: number): Promise<UnlockedVault> {
  let meta = repos.meta.get();
  let created = false;
  if (meta === undefined) {
    const prepared = await prepareNewVault(provider, now);
    created = writeTransaction(db, 'creating the vault', () => {
      if (repos.meta.get() !== undefined) return false; // another process won the race
      repos.meta.insert(prepared.meta);
      repos.keks.insertActive(1, prepared.wrappedKek, now);
      repos.meta.insertKey({ name: SUBJECT_INDEX_KEY, wrapped: prepared.wrappedIndexKey, createdAt: now });
      return true;
    });
    meta = repos.meta.get();
    if (meta === undefined) throw new VaultError('CORRUPT', 'the vault identity row vanished while opening');
    if (!created && meta.masterProvider === provider.id) await attach(provider, meta.masterParams);
  } else if (meta.masterProvider === provider.id) {
    await attach(provider, meta.masterParams);
  }
  if (meta.formatVersion > VAULT_FORMAT_VERSION) {
    throw new VaultError('MIGRATION', `vault format ${meta.formatVersion} is newer than this childvault supports (${VAULT_FORMAT_VERSION}); upgrade childvault`);
  }
  await checkMasterKey(provider, meta);

  const keyring = new Keyring(provider, meta.vaultId);
  try {
    const active = repos.keks.active();
    if (active?.wrapped == null) throw new VaultError('CORRUPT', 'the vault has no active key-encryption key');
    await keyring.load(active.version, active.wrapped);
    const indexRow = repos.meta.getKey(SUBJECT_INDEX_KEY);
    if (indexRow === undefined) throw new VaultError('CORRUPT', 'the vault has no subject-index key');
    const subjectIndexKey = await unwrapVaultKey(provider, meta, SUBJECT_INDEX_KEY, indexRow.wrapped);
    return { meta, keyring, subjectIndexKey, created };
  } catch (error) {
    keyring.wipe();
    throw error;
  }
}
