/**
 * Master-key rotation: every KEK and vault key, and the master check (the integrity key), is
 * unwrapped with the current master key and wrapped with the new one — all written in one
 * transaction, so the vault is never half under one key and half under the other. Afterwards the
 * old master key no longer opens the vault.
 */
import { VaultError } from '../errors.js';
import { writeTransaction, type SqliteDatabase } from '../store/database.js';
import type { KekRepository } from '../store/kek-repository.js';
import type { MetaRepository, VaultMetaRow } from '../store/meta-repository.js';
import { kekAad } from './keyring.js';
import type { MasterKeyProvider } from './master-key.js';
import { masterCheckAad, vaultKeyAad } from './unlock.js';

export interface MasterRotationDeps {
  readonly db: SqliteDatabase;
  readonly meta: MetaRepository;
  readonly keks: KekRepository;
  readonly current: MasterKeyProvider;
  readonly vaultMeta: VaultMetaRow;
}

async function rewrap(from: MasterKeyProvider, to: MasterKeyProvider, wrapped: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
  const key = await from.unwrap(wrapped, aad);
  try {
    return await to.wrap(key, aad);
  } finally {
    key.fill(0);
  }
}

/** True when `next` opens the vault's current master check: it holds the same key. */
async function sameKey(next: MasterKeyProvider, meta: VaultMetaRow): Promise<boolean> {
  if (next.id !== meta.masterProvider) return false;
  try {
    (await next.unwrap(meta.masterCheck, masterCheckAad(meta.vaultId))).fill(0);
    return true;
  } catch {
    return false;
  }
}

/** Rewraps every key under `next`, running `inTransaction` in the same transaction; returns the new identity row. */
export async function rotateMasterKey(deps: MasterRotationDeps, next: MasterKeyProvider, inTransaction: () => void): Promise<VaultMetaRow> {
  const { vaultMeta } = deps;
  // Fresh parameters for the new key (a new salt for a passphrase): never reuse the old ones.
  const params = next.attach === undefined ? null : await next.attach(null);
  if (await sameKey(next, vaultMeta)) throw new VaultError('CONFLICT', 'the new master key is the same as the current one; give a different key');

  const keks = deps.keks.all().filter((k) => k.wrapped !== null);
  const vaultKeys = deps.meta.listKeys();
  const newKeks = await Promise.all(keks.map(async (k) => ({ version: k.version, old: k.wrapped as Uint8Array, wrapped: await rewrap(deps.current, next, k.wrapped as Uint8Array, kekAad(vaultMeta.vaultId, k.version)) })));
  const newVaultKeys = await Promise.all(vaultKeys.map(async (k) => ({ name: k.name, old: k.wrapped, wrapped: await rewrap(deps.current, next, k.wrapped, vaultKeyAad(vaultMeta.vaultId, k.name)) })));
  // The same integrity key under the new master key: every row's MAC stays valid.
  const check = await rewrap(deps.current, next, vaultMeta.masterCheck, masterCheckAad(vaultMeta.vaultId));

  await writeTransaction(deps.db, 'rotating the master key', () => {
    // Another process may have rotated KEKs meanwhile: then nothing is written; retry.
    const nowKeks = deps.keks.all().filter((k) => k.wrapped !== null);
    const unchanged =
      nowKeks.length === newKeks.length &&
      nowKeks.every((k) => newKeks.some((n) => n.version === k.version && Buffer.compare(n.old, k.wrapped as Uint8Array) === 0)) &&
      deps.meta.listKeys().length === newVaultKeys.length;
    if (!unchanged) throw new VaultError('CONFLICT', 'keys changed while the master key was being rotated (a concurrent rotation?); run it again');
    for (const k of newKeks) deps.keks.setWrapped(k.version, k.wrapped);
    for (const k of newVaultKeys) deps.meta.updateKey(k.name, k.wrapped);
    deps.meta.updateMaster(next.id, params, check);
    inTransaction(); // the audit entry and the rotation record commit with the keys
  });
  const updated = deps.meta.get();
  if (updated === undefined) throw new VaultError('CORRUPT', 'the vault identity row vanished');
  return updated;
}
