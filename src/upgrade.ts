/**
 * Upgrading a format-1 vault (rows without MACs) to format 2 at its first open by this version:
 * a fresh integrity key becomes the master check, and every row the vault decides from gets its
 * MAC — all in one write transaction, so the vault is never half upgraded.
 *
 * What the upgrade trusts, and why that is safe to say: rows written before it cannot be told
 * from forgeries, so they are authenticated as they stand (trust on first use, docs/audit.md). It
 * refuses to upgrade over an audit log that does not verify against its signed checkpoints, and
 * refuses a vault whose log already records an upgrade — that is a format-2 vault whose master
 * check someone replaced with a pre-upgrade copy to make it forget its MACs. It ends by recording
 * `vault.upgrade` and signing a checkpoint over it, so that entry can never be dropped silently.
 */
import { KEY_BYTES } from './crypto/aead.js';
import { randomBytes } from './crypto/random.js';
import { SecretBytes } from './crypto/secret-bytes.js';
import { VaultError } from './errors.js';
import type { AuditLog } from './audit/audit-log.js';
import type { AuditRecord } from './audit/entry.js';
import { verifyLiveChainNow } from './audit/live-chain.js';
import type { MasterKeyProvider } from './keys/master-key.js';
import { LEGACY_FORMAT_VERSION, masterCheckAad, VAULT_FORMAT_VERSION } from './keys/unlock.js';
import { APPROVAL_ROW, APPROVAL_SUBJECT_ROW, CONSENT_ROW } from './store/access-repository.js';
import { AUDIT_ENTRY_ROW, type AuditRepository } from './store/audit-repository.js';
import { writeTransaction, type SqliteDatabase } from './store/database.js';
import { BLIND_INDEX_ROW, CANARY_ROW } from './store/guard-repository.js';
import { KEK_ROW } from './store/kek-repository.js';
import { RECORD_ROW } from './store/record-repository.js';
import type { MetaRepository, VaultMetaRow } from './store/meta-repository.js';
import { ROTATION_ROW, type RotationRepository } from './store/rotation-repository.js';
import { anyMac, backfillMacs, type RowAuthenticator } from './store/rows.js';
import { RowMacs } from './integrity/row-macs.js';

/** The audit action recorded by the upgrade. */
export const UPGRADE_ACTION = 'vault.upgrade';

/** Every table a format-1 vault has whose rows get a MAC. */
const SPECS = [KEK_ROW, ROTATION_ROW, RECORD_ROW, CONSENT_ROW, APPROVAL_ROW, APPROVAL_SUBJECT_ROW, CANARY_ROW, BLIND_INDEX_ROW, AUDIT_ENTRY_ROW] as const;

export interface UpgradeDeps {
  readonly db: SqliteDatabase;
  readonly meta: MetaRepository;
  readonly vaultMeta: VaultMetaRow;
  readonly provider: MasterKeyProvider;
  readonly audit: AuditRepository;
  /** The audit log over the new key (checkpoint key and interval of the vault). */
  readonly log: (rows: RowAuthenticator) => AuditLog;
  readonly rotations: (rows: RowAuthenticator) => RotationRepository;
  /** The entry that records the upgrade (actor of the opening). */
  readonly record: (detail: { from: number; to: number; rows: number }) => AuditRecord;
  readonly now: number;
}

/**
 * Upgrades the vault; returns its integrity key (the caller owns it), or null when another process
 * upgraded it meanwhile (unlock again to unwrap the key it made).
 */
export async function upgradeToAuthenticatedRows(deps: UpgradeDeps): Promise<SecretBytes | null> {
  const key = new SecretBytes(randomBytes(KEY_BYTES));
  try {
    const check = await key.use((k) => deps.provider.wrap(k, masterCheckAad(deps.vaultMeta.vaultId)));
    const rows = new RowMacs(key);
    const log = deps.log(rows);
    const upgraded = await writeTransaction(deps.db, 'upgrading the vault to authenticated rows', () => {
      if (deps.meta.get()?.formatVersion !== LEGACY_FORMAT_VERSION) return false;
      const chain = verifyLiveChainNow(deps.audit, { vaultId: deps.vaultMeta.vaultId, genesis: log.genesis, publicKey: log.publicKey, checkpointEvery: log.checkpointEvery, rows: null });
      if (!chain.ok) {
        throw new VaultError(
          'INTEGRITY',
          `the vault cannot be upgraded: its audit log does not verify (seq ${chain.problem?.seq ?? '?'}: ${chain.problem?.message ?? 'unknown'}); investigate with the childvault version that wrote it`,
        );
      }
      // Traces of an earlier upgrade: this is a format-2 vault someone tried to make forget its MACs.
      if (deps.audit.hasAction(UPGRADE_ACTION) || deps.audit.anchor() !== undefined || SPECS.some((spec) => anyMac(deps.db, spec))) {
        throw new VaultError('INTEGRITY', 'the vault was upgraded before, but its master check is an older copy: vault_meta was rolled back to make the vault forget its MACs; restore the vault from a backup');
      }
      let count = 0;
      for (const spec of SPECS) count += backfillMacs(deps.db, spec, (row) => rows.mac(spec, row as never));
      const rotations = deps.rotations(rows);
      rotations.initTotals(rotations.totalsFromHistory());
      const config = { checkpointEvery: log.checkpointEvery };
      deps.audit.insertConfig(config.checkpointEvery, rows);
      // The log's anchor: its last checkpoint, which the verification above found genuine.
      const last = deps.audit.lastCheckpoint();
      const anchor = { seq: last?.seq ?? 0, hash: last?.hash ?? log.genesis };
      deps.audit.putAnchor(anchor, rows);
      if (!deps.meta.upgradeFormat(LEGACY_FORMAT_VERSION, VAULT_FORMAT_VERSION, check)) throw new Error('internal: vault format changed under the write lock');
      log.append(deps.record({ from: LEGACY_FORMAT_VERSION, to: VAULT_FORMAT_VERSION, rows: count }));
      log.checkpoint(deps.now);
      return true;
    });
    if (upgraded) return key;
    key.wipe();
    return null;
  } catch (error) {
    key.wipe();
    throw error;
  }
}
