/**
 * Unlocks a vault file for a bench builder exactly as `openVault` does (master check, integrity
 * key, authenticated KEK rows, active KEK), without opening a Vault: builders write rows in bulk.
 */
import type { Database } from 'better-sqlite3';
import { RowMacs } from '../src/integrity/row-macs.js';
import type { Keyring } from '../src/keys/keyring.js';
import type { MasterKeyProvider } from '../src/keys/master-key.js';
import { loadKeyring, unlockVault } from '../src/keys/unlock.js';
import { KekRepository } from '../src/store/kek-repository.js';
import { MetaRepository, type VaultMetaRow } from '../src/store/meta-repository.js';

export interface BenchUnlocked {
  readonly meta: VaultMetaRow;
  readonly metaRepo: MetaRepository;
  readonly rows: RowMacs;
  readonly keks: KekRepository;
  readonly keyring: Keyring;
  /** Wipes the keyring and the integrity key. */
  wipe(): void;
}

export async function unlockForBench(db: Database, provider: MasterKeyProvider): Promise<BenchUnlocked> {
  const metaRepo = new MetaRepository(db);
  // The vault exists already (made by openVault): the settings of a new one are never used.
  const unlocked = await unlockVault(db, { meta: metaRepo }, provider, Date.now(), { vaultKeys: [], checkpointEvery: 1000 });
  const integrityKey = unlocked.integrityKey;
  if (integrityKey === null) throw new Error('bench: a format-1 vault; open it with openVault first');
  const rows = new RowMacs(integrityKey);
  const keks = new KekRepository(db, rows);
  const keyring = await loadKeyring(provider, unlocked.meta.vaultId, keks);
  return {
    meta: unlocked.meta,
    metaRepo,
    rows,
    keks,
    keyring,
    wipe: () => {
      keyring.wipe();
      integrityKey.wipe();
    },
  };
}
