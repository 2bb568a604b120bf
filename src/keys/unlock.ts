/**
 * Unlocking a vault: attach the master-key provider, prove it is the right key by unwrapping the
 * master check — which, from format 2 on, is the vault's integrity key — and unwrap the KEKs and
 * the vault-wide keys. Creating a vault happens here too: the new keys are wrapped first (the
 * provider may be a remote KMS, so this is async) and inserted in one IMMEDIATE transaction that
 * re-checks that no other process created the vault meanwhile.
 */
import { KEY_BYTES } from '../crypto/aead.js';
import { newId, randomBytes } from '../crypto/random.js';
import { SecretBytes } from '../crypto/secret-bytes.js';
import { equalBytes } from '../crypto/hash.js';
import { integrityError, isVaultError, VaultError } from '../errors.js';
import { encodeCanonical } from '../format/canonical.js';
import { idToUuid } from '../format/ids.js';
import { RowMacs } from '../integrity/row-macs.js';
import { writeTransaction, type SqliteDatabase } from '../store/database.js';
import { KekRepository } from '../store/kek-repository.js';
import type { MetaRepository, VaultMetaRow } from '../store/meta-repository.js';
import { RotationRepository } from '../store/rotation-repository.js';
import { AuditRepository } from '../store/audit-repository.js';
import { genesisHash } from '../audit/entry.js';
import { Keyring, kekAad } from './keyring.js';
import type { MasterKeyProvider } from './master-key.js';

/**
 * Version of the vault's stored formats as a whole (docs/format.md). 2: rows authenticated under
 * the integrity key, which the master check wraps. A format-1 vault's check wraps 32 zero bytes;
 * opening it upgrades it (src/upgrade.ts).
 */
export const VAULT_FORMAT_VERSION = 2;
export const LEGACY_FORMAT_VERSION = 1;
const LEGACY_CHECK_PLAINTEXT = new Uint8Array(32);

export function masterCheckAad(vaultId: Uint8Array): Uint8Array {
  return encodeCanonical('master-check', [vaultId]);
}

export function vaultKeyAad(vaultId: Uint8Array, name: string): Uint8Array {
  return encodeCanonical('vault-key', [vaultId, name]);
}

export interface UnlockedVault {
  readonly meta: VaultMetaRow;
  /**
   * The key every authenticated row's MAC is made with (the caller owns and wipes it), or null for
   * a format-1 vault, whose rows carry no MACs yet: it must be upgraded before anything else.
   */
  readonly integrityKey: SecretBytes | null;
  /** True when this call created the vault. */
  readonly created: boolean;
}

interface Repositories {
  readonly meta: MetaRepository;
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

/**
 * Proves the provider holds this vault's master key (a wrong key is WRONG_MASTER_KEY, not
 * INTEGRITY) and returns the integrity key the check wraps (null for a format-1 vault). The check's
 * content must agree with the vault's format: a format-1 check in a format-2 vault is an older copy
 * of the row put back to make the vault forget its MACs.
 */
async function checkMasterKey(provider: MasterKeyProvider, meta: VaultMetaRow): Promise<SecretBytes | null> {
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
  const legacy = check.length === KEY_BYTES && equalBytes(check, LEGACY_CHECK_PLAINTEXT);
  if (meta.formatVersion === LEGACY_FORMAT_VERSION && legacy) return null;
  if (meta.formatVersion === VAULT_FORMAT_VERSION && check.length === KEY_BYTES && !legacy) return new SecretBytes(check);
  check.fill(0);
  throw new VaultError('INTEGRITY', `the master check of vault ${vault} does not belong to its format ${meta.formatVersion}: vault_meta was replaced with an older copy or edited`);
}

interface PreparedVault {
  readonly meta: VaultMetaRow;
  readonly wrappedKek: Uint8Array;
  readonly integrityKey: SecretBytes;
  readonly vaultKeys: readonly { readonly name: string; readonly wrapped: Uint8Array }[];
}

/** What a new vault is made with besides its keys. */
export interface NewVaultSettings {
  /** The vault-wide keys (random, wrapped by the master key) made with it. */
  readonly vaultKeys: readonly string[];
  /** The audit log's checkpoint interval, fixed for the vault's life. */
  readonly checkpointEvery: number;
}

/** Fresh random vault-wide keys, wrapped by the master key; the plaintext is wiped at once. */
async function newVaultKeys(provider: MasterKeyProvider, vaultId: Uint8Array, names: readonly string[]): Promise<{ name: string; wrapped: Uint8Array }[]> {
  const wrapped: { name: string; wrapped: Uint8Array }[] = [];
  for (const name of names) {
    const key = randomBytes(KEY_BYTES);
    try {
      wrapped.push({ name, wrapped: await provider.wrap(key, vaultKeyAad(vaultId, name)) });
    } finally {
      key.fill(0);
    }
  }
  return wrapped;
}

async function prepareNewVault(provider: MasterKeyProvider, now: number, settings: NewVaultSettings): Promise<PreparedVault> {
  const params = await attach(provider, null);
  const vaultId = newId(now);
  const kek = randomBytes(KEY_BYTES);
  const integrityKey = new SecretBytes(randomBytes(KEY_BYTES));
  try {
    const vaultKeys = await newVaultKeys(provider, vaultId, settings.vaultKeys);
    return {
      vaultKeys,
      meta: {
        vaultId,
        formatVersion: VAULT_FORMAT_VERSION,
        createdAt: now,
        masterProvider: provider.id,
        masterParams: params,
        masterCheck: await integrityKey.use((k) => provider.wrap(k, masterCheckAad(vaultId))),
      },
      wrappedKek: await provider.wrap(kek, kekAad(vaultId, 1)),
      integrityKey,
    };
  } catch (error) {
    integrityKey.wipe();
    throw error;
  } finally {
    kek.fill(0);
  }
}

/** Unwraps and holds the active KEK (read through `keks`, which authenticates its row). */
export async function loadKeyring(provider: MasterKeyProvider, vaultId: Uint8Array, keks: KekRepository): Promise<Keyring> {
  const keyring = new Keyring(provider, vaultId);
  try {
    const active = keks.active();
    if (active?.wrapped == null) throw new VaultError('CORRUPT', 'the vault has no active key-encryption key');
    await keyring.load(active.version, active.wrapped);
    return keyring;
  } catch (error) {
    keyring.wipe();
    throw error;
  }
}

/**
 * Unwraps the vault-wide keys named (each a random 32-byte key or seed wrapped by the master key),
 * creating them on a vault's first open. `used`: the vault has been opened before, so a missing
 * key is corruption, not a first open. Creation re-checks under the write lock, so two processes
 * opening at once agree on one key.
 */
export async function loadVaultKeys(
  db: SqliteDatabase,
  repos: Repositories,
  provider: MasterKeyProvider,
  meta: VaultMetaRow,
  names: readonly string[],
  now: number,
  used = false,
): Promise<Map<string, SecretBytes>> {
  const missing = names.filter((name) => repos.meta.getKey(name) === undefined);
  if (missing.length > 0 && used) {
    // A vault that has been used cannot lose a key and get a fresh one silently: a new
    // subject-index key would forget every child, a new signing key would re-sign history.
    throw new VaultError('CORRUPT', `the vault key "${missing[0] ?? ''}" is missing from a vault in use; restore the vault from a backup`);
  }
  if (missing.length > 0) {
    const prepared = await newVaultKeys(provider, meta.vaultId, missing);
    await writeTransaction(db, 'creating vault keys', () => {
      for (const p of prepared) if (repos.meta.getKey(p.name) === undefined) repos.meta.insertKey({ name: p.name, wrapped: p.wrapped, createdAt: now });
    });
  }
  const keys = new Map<string, SecretBytes>();
  try {
    for (const name of names) {
      const row = repos.meta.getKey(name);
      if (row === undefined) throw new VaultError('CORRUPT', `the vault key "${name}" vanished while opening`);
      keys.set(name, await unwrapVaultKey(provider, meta, name, row.wrapped));
    }
  } catch (error) {
    for (const key of keys.values()) key.wipe();
    throw error;
  }
  return keys;
}

/**
 * Unlocks the vault in `db`, creating it first if the file holds none yet. A new vault gets, in one
 * transaction with its identity row, everything whose absence later would mean deletion: its
 * vault-wide keys, its first KEK, its erasure totals, its checkpoint interval and its audit anchor
 * (at the genesis hash) — all authenticated — so a vault in use never makes any of them afresh.
 */
export async function unlockVault(db: SqliteDatabase, repos: Repositories, provider: MasterKeyProvider, now: number, settings: NewVaultSettings): Promise<UnlockedVault> {
  let meta = repos.meta.get();
  let created = false;
  if (meta === undefined) {
    const prepared = await prepareNewVault(provider, now, settings);
    try {
      const rows = new RowMacs(prepared.integrityKey);
      created = await writeTransaction(db, 'creating the vault', () => {
        if (repos.meta.get() !== undefined) return false; // another process won the race
        repos.meta.insert(prepared.meta);
        for (const k of prepared.vaultKeys) repos.meta.insertKey({ name: k.name, wrapped: k.wrapped, createdAt: now });
        new KekRepository(db, rows).insertActive(1, prepared.wrappedKek, now);
        new RotationRepository(db, rows).initTotals();
        const audit = new AuditRepository(db);
        audit.insertConfig(settings.checkpointEvery, rows);
        const anchor = { seq: 0, hash: genesisHash(prepared.meta.vaultId) };
        audit.putAnchor(anchor, rows);
        return true;
      });
    } finally {
      prepared.integrityKey.wipe(); // unwrapped again from the check below, as on every open
    }
    meta = repos.meta.get();
    if (meta === undefined) throw new VaultError('CORRUPT', 'the vault identity row vanished while opening');
    if (!created && meta.masterProvider === provider.id) await attach(provider, meta.masterParams);
  } else if (meta.masterProvider === provider.id) {
    await attach(provider, meta.masterParams);
  }
  if (meta.formatVersion > VAULT_FORMAT_VERSION) {
    throw new VaultError('MIGRATION', `vault format ${meta.formatVersion} is newer than this childvault supports (${VAULT_FORMAT_VERSION}); upgrade childvault`);
  }
  return { meta, integrityKey: await checkMasterKey(provider, meta), created };
}
