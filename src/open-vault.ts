/**
 * Opening a vault: validate the options, open the file, prove the master key (before anything is
 * read or written), apply pending migrations, unwrap the vault-wide keys, and record the opening
 * in the audit log — including an attempt with the wrong key.
 */
import { existsSync, statSync } from 'node:fs';
import { z } from 'zod';
import { AUDIT_PSEUDONYM_KEY, AUDIT_SIGNING_KEY, AuditLog, DEFAULT_CHECKPOINT_EVERY } from './audit/audit-log.js';
import type { SecretBytes } from './crypto/secret-bytes.js';
import { signingKeyFromSeed } from './crypto/signing.js';
import { loadSodium } from './crypto/sodium.js';
import { isVaultError, VaultError } from './errors.js';
import { BLIND_INDEX_KEY } from './guard/blind-index.js';
import type { MasterKeyProvider } from './keys/master-key.js';
import { SUBJECT_INDEX_KEY } from './keys/subject-index.js';
import { loadKeyring, loadVaultKeys, unlockVault, type NewVaultSettings, type UnlockedVault } from './keys/unlock.js';
import { idToUuid } from './format/ids.js';
import { RowMacs } from './integrity/row-macs.js';
import { UPGRADE_ACTION, upgradeToAuthenticatedRows } from './upgrade.js';
import type { RowAuthenticator } from './store/rows.js';
import { AccessController } from './access/access-controller.js';
import { accessContextSchema } from './schema/access-context.js';
import { loadPolicyFile, resolvePolicy, type PolicyInput } from './schema/policy.js';
import { AccessRepository } from './store/access-repository.js';
import { resolveCategories, type BuiltInCategories, type CategoryMap } from './schema/categories.js';
import { parseOrThrow, safe } from './schema/zod-errors.js';
import { AUDIT_CONFIG_ROW, AuditRepository } from './store/audit-repository.js';
import { openDatabaseWaiting, writeTransaction, type Durability, type SqliteDatabase } from './store/database.js';
import { KekRepository } from './store/kek-repository.js';
import { MetaRepository, type VaultMetaRow } from './store/meta-repository.js';
import { DEFAULT_MIGRATIONS_DIR, hasTable, loadMigrations, migrate, vaultExists } from './store/migrator.js';
import { expectedSchema, guardSchema } from './store/schema-guard.js';
import { GuardRepository } from './store/guard-repository.js';
import { RecordRepository } from './store/record-repository.js';
import { RotationRepository } from './store/rotation-repository.js';
import { Vault, VAULT_TOKEN, type OpenerContext } from './vault.js';

/** Options of `openVault`. */
export interface VaultOptions<Extra extends CategoryMap = CategoryMap> {
  /** The SQLite file (created if missing), or `:memory:`. */
  readonly path: string;
  /** Where the master key comes from: `keyFile`, `envKey`, `passphraseKey`, or your KMS. */
  readonly masterKey: MasterKeyProvider;
  /** Extra categories beyond face, voice, location and contact. */
  readonly categories?: Extra;
  /** The clock (for tests and retention). Defaults to the system clock. */
  readonly now?: () => Date;
  /** `full` (default) fsyncs every commit; `normal` may lose the last commits on power loss. */
  readonly durability?: Durability;
  /** How many unwrapped data keys to keep in memory (default 1024; 0 disables the cache). */
  readonly dataKeyCacheSize?: number;
  /**
   * Create the vault if `path` holds none (default false: the file must hold a vault already, so
   * a mistyped path is NOT_FOUND instead of a new, empty vault that silently takes the writes).
   */
  readonly create?: boolean;
  /**
   * How long an operation (and this open) waits for another process's write lock before it
   * fails with BUSY: default 10,000 ms. The wait never blocks the event loop.
   */
  readonly lockTimeoutMs?: number;
  /** Who opens the vault, for the audit log's `open` entry (default: actor `process:<pid>`, role `system`). */
  readonly openedBy?: OpenerContext;
  /**
   * Sign an audit checkpoint at least every this many entries (default 1000). Fixed when the vault
   * is created — it is signed into every checkpoint — and refused if it differs later.
   */
  readonly auditCheckpointEvery?: number;
  /**
   * The access policy (an object, or the path of a JSON file). Without one, every data operation
   * is refused: default deny. See docs/policy.md.
   */
  readonly policy?: PolicyInput | string;
  /** Folder of migrations (tests only). */
  readonly migrationsDir?: string;
  /**
   * Ids of `audit_pending` rows to discard instead of chaining: the recovery when opening fails
   * with INTEGRITY naming such a row (someone wrote it into the file). Each discard is recorded.
   * See docs/audit.md.
   */
  readonly discardPendingAudit?: readonly number[];
  /**
   * Upgrade a format-1 vault (made before rows were authenticated) to format 2 at this open. Never
   * done silently: a format-1 vault is refused without it, since a vault upgraded before and then
   * rolled back to its old master check would otherwise authenticate forged rows. See docs/audit.md.
   */
  readonly upgrade?: boolean;
}

/** Every option, strictly: a misspelled one (`mustexist`) is refused, not silently ignored. */
const optionsSchema = z.strictObject({
  path: z.string().min(1),
  masterKey: z.custom<MasterKeyProvider>((v) => typeof v === 'object' && v !== null && typeof (v as MasterKeyProvider).unwrap === 'function' && typeof (v as MasterKeyProvider).wrap === 'function', safe('give a master-key provider (keyFile, envKey, passphraseKey or your own)')),
  categories: z.record(z.string(), z.unknown()).optional(),
  now: z.custom<() => Date>((v) => typeof v === 'function', safe('must be a function returning a Date')).optional(),
  durability: z.enum(['full', 'normal']).optional(),
  dataKeyCacheSize: z.number().int().min(0).max(1_000_000).optional(),
  create: z.boolean().optional(),
  lockTimeoutMs: z.number().int().min(0).max(3_600_000).optional(),
  openedBy: accessContextSchema.pick({ actor: true, role: true, purpose: true }).partial({ role: true, purpose: true }).optional(),
  auditCheckpointEvery: z.number().int().min(1).max(1_000_000).optional(),
  policy: z.union([z.string().min(1), z.looseObject({})]).optional(),
  migrationsDir: z.string().min(1).optional(),
  discardPendingAudit: z.array(z.number().int().min(1)).max(1000).optional(),
  upgrade: z.boolean().optional(),
});

const VAULT_KEYS = [SUBJECT_INDEX_KEY, AUDIT_PSEUDONYM_KEY, AUDIT_SIGNING_KEY] as const;

/**
 * Opens (or creates) a vault. Checks the master key before anything is read or written (a wrong
 * key only adds an audit entry recording the attempt); applies pending schema migrations; refuses
 * files that are not childvault vaults.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- no extra categories by default
export async function openVault<Extra extends CategoryMap = {}>(options: VaultOptions<Extra>): Promise<Vault<BuiltInCategories & Extra>> {
  parseOrThrow(optionsSchema, options, 'options');
  const categories = resolveCategories(options.categories);
  const policy =
    options.policy === undefined ? null : typeof options.policy === 'string' ? loadPolicyFile(options.policy, categories) : resolvePolicy(options.policy, categories);
  const clock = options.now ?? (() => new Date());
  const durability = options.durability ?? 'full';
  const opener = { actor: options.openedBy?.actor ?? `process:${process.pid}`, role: options.openedBy?.role ?? 'system', purpose: options.openedBy?.purpose ?? 'open' };
  await loadSodium();

  const migrations = loadMigrations(options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR);
  const create = options.create === true;
  // An empty file is no vault either (SQLite would write its header into it on opening).
  if (!create && (options.path === ':memory:' || !existsSync(options.path) || statSync(options.path).size === 0)) {
    throw new VaultError('NOT_FOUND', `vault file ${options.path} does not exist; to make a new vault pass create: true (CLI: \`childvault init\`)`, { field: 'options.path' });
  }
  const db = await openDatabaseWaiting({ path: options.path, durability, mustExist: !create, ...(options.lockTimeoutMs === undefined ? {} : { lockTimeoutMs: options.lockTimeoutMs }) });
  // Everything unwrapped on the way is wiped if opening fails before the vault owns it.
  const unwrapped: { wipe(): void }[] = [];
  try {
    const existed = vaultExists(db);
    if (!existed && !create) {
      throw new VaultError('NOT_FOUND', `${options.path} holds no childvault vault; to make one there pass create: true (CLI: \`childvault init\`)`, { field: 'options.path' });
    }
    // A new file needs its tables before keys can be stored; an existing vault proves the key
    // first, so a wrong key changes nothing but the audit entry that records it.
    if (!existed) await migrate(db, migrations, clock().getTime());
    const meta = new MetaRepository(db);
    const settings = { vaultKeys: [...VAULT_KEYS, BLIND_INDEX_KEY], checkpointEvery: options.auditCheckpointEvery ?? DEFAULT_CHECKPOINT_EVERY };
    let unlocked = await unlock(db, meta, options.masterKey, opener, clock().getTime(), settings);
    if (unlocked.integrityKey !== null) unwrapped.push(unlocked.integrityKey);
    if (existed) await migrate(db, migrations, clock().getTime());
    // From here on every transaction first checks that nobody changed the schema (triggers, views).
    guardSchema(db, expectedSchema(migrations));
    const legacy = unlocked.integrityKey === null;
    if (legacy && options.upgrade !== true) {
      throw new VaultError(
        'MIGRATION',
        `vault ${idToUuid(unlocked.meta.vaultId)} is format 1 (its rows carry no MACs): upgrade it once, explicitly, with \`childvault upgrade\` (library: openVault({ upgrade: true })). If it was upgraded before, it has been rolled back to an older copy: restore it from a backup you trust instead`,
      );
    }
    // A format-2 vault was made with all its keys: a missing one was deleted, never made afresh.
    const keys = await loadVaultKeys(db, { meta }, options.masterKey, unlocked.meta, VAULT_KEYS, clock().getTime(), legacy ? hasEntries(db) : true);
    unwrapped.push(...keys.values());
    const signingSeed = keys.get(AUDIT_SIGNING_KEY);
    const pseudonymKey = keys.get(AUDIT_PSEUDONYM_KEY);
    const subjectIndexKey = keys.get(SUBJECT_INDEX_KEY);
    if (signingSeed === undefined || pseudonymKey === undefined || subjectIndexKey === undefined) throw new Error('vault keys missing');
    const signingKey = signingKeyFromSeed(signingSeed);
    unwrapped.push(signingKey.secretKey);
    signingSeed.wipe();
    const auditRepo = new AuditRepository(db);
    const auditLog = (rows: RowAuthenticator, checkpointEvery: number): AuditLog =>
      new AuditLog({ repo: auditRepo, rows, vaultId: unlocked.meta.vaultId, pseudonymKey, signingKey, checkpointEvery });
    // A format-1 vault's rows carry no MACs yet: authenticate them before anything reads them.
    while (unlocked.integrityKey === null) {
      const key = await upgradeToAuthenticatedRows({
        db,
        meta,
        vaultMeta: unlocked.meta,
        provider: options.masterKey,
        audit: auditRepo,
        // Trusted as it stands, like every row of the vault being upgraded.
        log: (rows) => auditLog(rows, auditRepo.config()?.checkpointEvery ?? settings.checkpointEvery),
        rotations: (rows) => new RotationRepository(db, rows),
        record: (detail) => ({ ts: clock().getTime(), ...opener, action: UPGRADE_ACTION, subject: null, categories: [], outcome: 'allowed', reason: null, approval: null, consent: null, requestId: null, detail }),
        now: clock().getTime(),
      });
      unlocked = key === null ? await unlock(db, meta, options.masterKey, opener, clock().getTime(), settings) : { ...unlocked, integrityKey: key };
      if (unlocked.integrityKey !== null) unwrapped.push(unlocked.integrityKey);
    }
    const integrityKey = unlocked.integrityKey;
    const rows = new RowMacs(integrityKey);
    const checkpointEvery = checkpointInterval(auditRepo, rows);
    if (options.auditCheckpointEvery !== undefined && options.auditCheckpointEvery !== checkpointEvery) {
      throw new VaultError('VALIDATION', `options.auditCheckpointEvery: this vault signs a checkpoint every ${checkpointEvery} entries, fixed when it was created`, { field: 'options.auditCheckpointEvery' });
    }
    const keks = new KekRepository(db, rows);
    const keyring = await loadKeyring(options.masterKey, unlocked.meta.vaultId, keks);
    unwrapped.push(keyring);
    const guard = new GuardRepository(db, rows);
    const blindIndexKey = await loadBlindIndexKey(db, meta, options.masterKey, unlocked.meta, clock().getTime(), legacy ? guard.hasDigests() : true);
    unwrapped.push(blindIndexKey);
    const accessRepo = new AccessRepository(db, rows);
    return await Vault.open(VAULT_TOKEN, {
      db,
      repos: { meta, keks, records: new RecordRepository(db, rows), audit: auditRepo, access: accessRepo, rotations: new RotationRepository(db, rows), guard },
      access: policy === null ? null : new AccessController(policy, accessRepo),
      categories,
      meta: unlocked.meta,
      keyring,
      integrityKey,
      rows,
      subjectIndexKey,
      blindIndexKey,
      audit: auditLog(rows, checkpointEvery),
      provider: options.masterKey,
      dekCacheSize: options.dataKeyCacheSize ?? 1024,
      clock,
      durability,
      opener,
      created: unlocked.created,
      discardPendingAudit: options.discardPendingAudit ?? [],
    });
  } catch (error) {
    for (const key of unwrapped) key.wipe();
    options.masterKey.close?.();
    db.close();
    throw error;
  }
}

/** The vault's checkpoint interval, from its authenticated settings row. */
function checkpointInterval(repo: AuditRepository, rows: RowAuthenticator): number {
  const row = repo.config();
  if (row === undefined) throw new VaultError('INTEGRITY', 'audit_config row 1 is missing: it was deleted by someone without the vault\'s master key', { field: 'audit_config:1' });
  return rows.check(AUDIT_CONFIG_ROW, row, row.mac, '1').checkpointEvery;
}

/** Unlocks the vault; a wrong master key is recorded (as a pending entry) before it is reported. */
async function unlock(db: SqliteDatabase, meta: MetaRepository, provider: MasterKeyProvider, opener: Required<OpenerContext>, now: number, settings: NewVaultSettings): Promise<UnlockedVault> {
  try {
    return await unlockVault(db, { meta }, provider, now, settings);
  } catch (error) {
    if (isVaultError(error, 'WRONG_MASTER_KEY')) await recordWrongKey(db, opener, now);
    throw error;
  }
}

/**
 * The blind-index key came with schema 0005: a vault made before it gets one at its first open
 * after the upgrade (its older values are not indexed until rewritten; docs/guards.md). A vault
 * with index rows but no key has lost it: refused, since a new key would match nothing silently.
 */
async function loadBlindIndexKey(db: SqliteDatabase, meta: MetaRepository, provider: MasterKeyProvider, vaultMeta: VaultMetaRow, now: number, used: boolean): Promise<SecretBytes> {
  const keys = await loadVaultKeys(db, { meta }, provider, vaultMeta, [BLIND_INDEX_KEY], now, used);
  const key = keys.get(BLIND_INDEX_KEY);
  if (key === undefined) throw new Error('blind-index key missing');
  return key;
}

/** True once the audit log has an entry: the vault has been opened successfully before. */
function hasEntries(db: SqliteDatabase): boolean {
  return hasTable(db, 'audit_log') && db.prepare('SELECT 1 FROM audit_log LIMIT 1').get() !== undefined;
}

/**
 * Records an attempt to open the vault with a wrong master key. Without the key nothing can be
 * signed, so it waits in audit_pending and enters the chain at the next successful open (best
 * effort: a read-only file cannot take it).
 */
async function recordWrongKey(db: SqliteDatabase, opener: OpenerContext & { role: string; purpose: string }, now: number): Promise<void> {
  if (!hasTable(db, 'audit_pending')) return;
  try {
    await writeTransaction(db, 'recording a failed open', () => {
      new AuditRepository(db).insertPending({ ts: now, actor: opener.actor, role: opener.role, purpose: opener.purpose, action: 'open', reason: 'WRONG_MASTER_KEY' });
    });
  } catch {
    // The wrong key is the error to report; a vault that cannot take the entry is not made worse.
  }
}
