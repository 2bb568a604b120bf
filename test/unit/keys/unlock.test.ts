import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { open, seal } from '../../../src/crypto/aead.js';
import { SecretBytes } from '../../../src/crypto/secret-bytes.js';
import { loadSodium } from '../../../src/crypto/sodium.js';
import { VaultError } from '../../../src/errors.js';
import { kekAad } from '../../../src/keys/keyring.js';
import type { MasterKeyProvider } from '../../../src/keys/master-key.js';
import { SUBJECT_INDEX_KEY } from '../../../src/keys/subject-index.js';
import { VAULT_FORMAT_VERSION, loadKeyring, loadVaultKeys, masterCheckAad, unlockVault, vaultKeyAad, type UnlockedVault } from '../../../src/keys/unlock.js';
import { RowMacs } from '../../../src/integrity/row-macs.js';
import { openDatabase, type SqliteDatabase } from '../../../src/store/database.js';
import { KekRepository } from '../../../src/store/kek-repository.js';
import { MetaRepository } from '../../../src/store/meta-repository.js';
import { migrate } from '../../../src/store/migrator.js';
import { flipped, makeTempDir, removeTempDir } from '../../helpers/unit-bytes.js';
import { expectVaultRejection } from '../../helpers/unit-errors.js';

const NOW = 1_714_550_400_000;
const SETTINGS = { vaultKeys: [SUBJECT_INDEX_KEY], checkpointEvery: 1000 };

/** A provider holding `fill`-filled key bytes in memory, wrapping with childvault's sealed box. */
function provider(fill: number, id = 'raw-key'): MasterKeyProvider & { attached: (string | null)[] } {
  const key = new SecretBytes(new Uint8Array(32).fill(fill));
  const attached: (string | null)[] = [];
  return {
    id,
    attached,
    attach: async (stored) => {
      attached.push(stored);
      return stored;
    },
    wrap: async (bytes, aad) => seal(key, bytes, aad),
    unwrap: async (wrapped, aad) => open(key, wrapped, aad, 'master-wrapped key'),
  };
}

let dir: string;
let db: SqliteDatabase;
let repos: { meta: MetaRepository };

/** The KEK table as the vault reads it: through the integrity key the master check holds. */
function keksOf(unlocked: UnlockedVault): KekRepository {
  if (unlocked.integrityKey === null) throw new Error('format-1 vault');
  return new KekRepository(db, new RowMacs(unlocked.integrityKey));
}

/** Unlocks, then unwraps the active KEK as openVault does. */
async function unlockAll(p: MasterKeyProvider, now = NOW) {
  const unlocked = await unlockVault(db, repos, p, now, SETTINGS);
  const keyring = await loadKeyring(p, unlocked.meta.vaultId, keksOf(unlocked));
  return { ...unlocked, keyring };
}

beforeAll(async () => {
  await loadSodium();
});

beforeEach(async () => {
  dir = makeTempDir();
  db = openDatabase({ path: join(dir, 'vault.db'), durability: 'normal' });
  await migrate(db);
  repos = { meta: new MetaRepository(db) };
});

afterEach(() => {
  db.close();
  removeTempDir(dir);
});

describe('unlockVault', () => {
  it('creates a vault on an empty file: identity row, active KEK v1 and vault keys, all wrapped with their AAD', async () => {
    const p = provider(1);
    const unlocked = await unlockAll(p);
    expect(unlocked.created).toBe(true);
    expect(unlocked.meta.formatVersion).toBe(VAULT_FORMAT_VERSION);
    expect(unlocked.meta.masterProvider).toBe('raw-key');
    expect(unlocked.meta.createdAt).toBe(NOW);
    expect(unlocked.keyring.has(1)).toBe(true);
    const keys = await loadVaultKeys(db, repos, p, unlocked.meta, [SUBJECT_INDEX_KEY], NOW);
    expect(keys.get(SUBJECT_INDEX_KEY)?.length).toBe(32);
    const vaultId = unlocked.meta.vaultId;
    const kek = keksOf(unlocked).active();
    expect(kek?.version).toBe(1);
    expect((await p.unwrap(kek!.wrapped!, kekAad(vaultId, 1))).length).toBe(32);
    // The master check wraps the integrity key (format 2), not the 32 zero bytes of format 1.
    const check = await p.unwrap(unlocked.meta.masterCheck, masterCheckAad(vaultId));
    expect(check.length).toBe(32);
    expect(Array.from(check)).not.toEqual(new Array<number>(32).fill(0));
    expect(unlocked.integrityKey?.use((k) => Buffer.from(k).toString('hex'))).toBe(Buffer.from(check).toString('hex'));
    const index = repos.meta.getKey(SUBJECT_INDEX_KEY);
    expect((await p.unwrap(index!.wrapped, vaultKeyAad(vaultId, SUBJECT_INDEX_KEY))).length).toBe(32);
    expect(p.attached).toEqual([null]);
  });

  it('opens the same vault again with the same key, giving the same keys', async () => {
    const first = await unlockAll(provider(1));
    const firstKeys = await loadVaultKeys(db, repos, provider(1), first.meta, [SUBJECT_INDEX_KEY], NOW);
    const p = provider(1);
    const second = await unlockAll(p, NOW + 1);
    const secondKeys = await loadVaultKeys(db, repos, p, second.meta, [SUBJECT_INDEX_KEY], NOW);
    expect(second.created).toBe(false);
    expect(second.meta.vaultId).toEqual(first.meta.vaultId);
    const hex = (k: SecretBytes | undefined) => k?.use((b) => Buffer.from(b).toString('hex'));
    expect(hex(secondKeys.get(SUBJECT_INDEX_KEY))).toBe(hex(firstKeys.get(SUBJECT_INDEX_KEY)));
    expect(second.keyring.get(1).use((b) => Buffer.from(b).toString('hex'))).toBe(first.keyring.get(1).use((b) => Buffer.from(b).toString('hex')));
    expect(p.attached).toEqual([null]); // the stored parameters of this provider
  });

  it('refuses a wrong master key with WRONG_MASTER_KEY, and writes nothing', async () => {
    await unlockVault(db, repos, provider(1), NOW, SETTINGS);
    const before = db.prepare('SELECT count(*) AS n FROM keks').get();
    const error = await expectVaultRejection(unlockVault(db, repos, provider(2), NOW, SETTINGS), 'WRONG_MASTER_KEY');
    expect(error.message).toContain('does not open vault');
    expect(db.prepare('SELECT count(*) AS n FROM keks').get()).toEqual(before);
  });

  it('refuses a master key of another kind with WRONG_MASTER_KEY naming both kinds, without attaching it', async () => {
    await unlockVault(db, repos, provider(1, 'raw-key'), NOW, SETTINGS);
    const other = provider(1, 'passphrase');
    const error = await expectVaultRejection(unlockVault(db, repos, other, NOW, SETTINGS), 'WRONG_MASTER_KEY');
    expect(error.message).toContain('"raw-key"');
    expect(error.message).toContain('"passphrase"');
    expect(other.attached).toEqual([]);
  });

  it('passes through a provider failure that is not an authentication failure (a KMS outage)', async () => {
    await unlockVault(db, repos, provider(1), NOW, SETTINGS);
    const down: MasterKeyProvider = {
      id: 'raw-key',
      wrap: async () => {
        throw new VaultError('MASTER_KEY_UNAVAILABLE', 'kms unreachable');
      },
      unwrap: async () => {
        throw new VaultError('MASTER_KEY_UNAVAILABLE', 'kms unreachable');
      },
    };
    const error = await expectVaultRejection(unlockVault(db, repos, down, NOW, SETTINGS), 'MASTER_KEY_UNAVAILABLE');
    expect(error.message).toBe('kms unreachable');
  });

  it('reports a tampered wrapped KEK as INTEGRITY once the master key is proven right', async () => {
    const unlocked = await unlockAll(provider(1));
    const kek = keksOf(unlocked).active()!;
    db.prepare('UPDATE keks SET wrapped = ? WHERE version = 1').run(flipped(kek.wrapped!, 30));
    const error = await expectVaultRejection(unlockAll(provider(1)), 'INTEGRITY');
    expect(error.message).toContain('key-encryption key v1');
  });

  it('reports a KEK row whose state was changed without the key as INTEGRITY', async () => {
    await unlockAll(provider(1));
    db.prepare("UPDATE keks SET retired_at = 5 WHERE version = 1").run();
    const error = await expectVaultRejection(unlockAll(provider(1)), 'INTEGRITY');
    expect(error.message).toContain('keks row v1');
  });

  it('refuses a format-2 vault whose master check was replaced by a format-1 one (32 zero bytes)', async () => {
    const { meta } = await unlockVault(db, repos, provider(1), NOW, SETTINGS);
    const p = provider(1);
    db.prepare('UPDATE vault_meta SET master_check = ?').run(await p.wrap(new Uint8Array(32), masterCheckAad(meta.vaultId)));
    const error = await expectVaultRejection(unlockVault(db, repos, p, NOW, SETTINGS), 'INTEGRITY');
    expect(error.message).toContain('does not belong to its format 2');
  });

  it('refuses a format-1 vault whose master check holds a key (the format was edited)', async () => {
    await unlockVault(db, repos, provider(1), NOW, SETTINGS);
    db.prepare('UPDATE vault_meta SET format_version = 1').run();
    await expectVaultRejection(unlockVault(db, repos, provider(1), NOW, SETTINGS), 'INTEGRITY');
  });

  it('reports a tampered vault key as INTEGRITY', async () => {
    const { meta } = await unlockVault(db, repos, provider(1), NOW, SETTINGS);
    await loadVaultKeys(db, repos, provider(1), meta, [SUBJECT_INDEX_KEY], NOW);
    const row = repos.meta.getKey(SUBJECT_INDEX_KEY)!;
    db.prepare('UPDATE vault_keys SET wrapped = ? WHERE name = ?').run(flipped(row.wrapped, 50), SUBJECT_INDEX_KEY);
    const error = await expectVaultRejection(loadVaultKeys(db, repos, provider(1), meta, [SUBJECT_INDEX_KEY], NOW), 'INTEGRITY');
    expect(error.message).toContain('subject-index');
  });

  it('creates a missing vault key once, so a vault from an older version gains it', async () => {
    const { meta } = await unlockVault(db, repos, provider(1), NOW, SETTINGS);
    const first = await loadVaultKeys(db, repos, provider(1), meta, ['future-key'], NOW);
    const again = await loadVaultKeys(db, repos, provider(1), meta, ['future-key'], NOW);
    const hex = (k: SecretBytes | undefined) => k?.use((b) => Buffer.from(b).toString('hex'));
    expect(hex(again.get('future-key'))).toBe(hex(first.get('future-key')));
    expect(repos.meta.listKeys().map((k) => k.name)).toEqual(['future-key', SUBJECT_INDEX_KEY]); // the second made with the vault
  });

  it('treats a tampered master check like a wrong key (WRONG_MASTER_KEY)', async () => {
    const { meta } = await unlockVault(db, repos, provider(1), NOW, SETTINGS);
    db.prepare('UPDATE vault_meta SET master_check = ?').run(flipped(meta.masterCheck, 40));
    await expectVaultRejection(unlockVault(db, repos, provider(1), NOW, SETTINGS), 'WRONG_MASTER_KEY');
  });

  it('refuses a vault whose format is newer than this build with MIGRATION', async () => {
    await unlockVault(db, repos, provider(1), NOW, SETTINGS);
    db.prepare('UPDATE vault_meta SET format_version = ?').run(VAULT_FORMAT_VERSION + 1);
    const error = await expectVaultRejection(unlockVault(db, repos, provider(1), NOW, SETTINGS), 'MIGRATION');
    expect(error.message).toContain('upgrade childvault');
  });

  it('refuses a vault without an active KEK as CORRUPT', async () => {
    await unlockVault(db, repos, provider(1), NOW, SETTINGS);
    db.pragma('foreign_keys = OFF');
    db.prepare('DELETE FROM keks').run();
    await expectVaultRejection(unlockAll(provider(1)), 'CORRUPT');
  });

  it('binds the master check to the vault id: a check copied from another vault does not pass', async () => {
    const { meta } = await unlockVault(db, repos, provider(1), NOW, SETTINGS);
    const p = provider(1);
    // The check of a different vault id, under the same master key.
    const foreignCheck = await p.wrap(new Uint8Array(32), masterCheckAad(flipped(meta.vaultId, 15)));
    db.prepare('UPDATE vault_meta SET master_check = ?').run(foreignCheck);
    await expectVaultRejection(unlockVault(db, repos, p, NOW, SETTINGS), 'WRONG_MASTER_KEY');
  });
});
