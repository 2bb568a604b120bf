/**
 * childvault: the special protection pool for children's personal information.
 * Public exports only; everything else is internal.
 */
export { openVault } from './open-vault.js';
export type { VaultOptions } from './open-vault.js';
export { Vault } from './vault.js';
export type {
  OpenerContext,
  PutManyOptions,
  VaultStatus,
  PutReceipt,
  PutManyItem,
  PutValues,
  GetResult,
  GetOptions,
  EraseOptions,
  EraseReceipt,
  CategoryName,
  CategoryValue,
  CategoryInput,
} from './vault.js';
export { VaultError, isVaultError, ERROR_CODES } from './errors.js';
export type { ErrorCode } from './errors.js';
export { keyFile, generateKeyFile, envKey, passphraseKey } from './keys/master-key.js';
export type { MasterKeyProvider, PassphraseOptions } from './keys/master-key.js';
export { Sensitive, isSensitive } from './guard/sensitive.js';
export { builtInCategories, faceSchema, voiceSchema, locationSchema, contactSchema } from './schema/categories.js';
/** The zod the vault validates with (zod 4): build custom category schemas from it. */
export { z } from 'zod';
export type { CategoryDefinition, CategoryMap, BuiltInCategories, Face, Voice, Location, Contact } from './schema/categories.js';
export type { AccessContext } from './schema/access-context.js';
export { DATA_ACTIONS, PROTECTIONS, READ_ACTIONS, VIEWS } from './schema/policy.js';
export type { PolicyAction, PolicyInput, Protection, View } from './schema/policy.js';
export { reviewPolicyFile } from './access/policy-summary.js';
export type { PolicyReview, PolicySummary, RoleSummary, GrantSummary, PurposeSummary, CategorySummary, CategoryView, DecisionStep } from './access/policy-summary.js';
export type { SubjectExport, CanaryReceipt, CanaryOptions } from './vault.js';
export type { VaultGuard } from './vault-guard.js';
export type { GuardDatabaseOptions } from './guard/guarded-database.js';
export type { ScanResult, ScanSkip } from './scan/scan.js';
export type { GuardOptions, GuardWarning, GuardFinding, GuardMatch } from './guard/assert-no-minor-data.js';
export type { LeakMatch, LeakMatcher, IndexedField, PatternName } from './guard/leak-types.js';
export type { ScanFinding, ScanFileSummary, ScanLocation, ScanOptions, ScanFormat } from './scan/types.js';
export type { VaultConsents, ConsentGrant, ConsentRecord, WithdrawalReceipt } from './access/vault-consents.js';
export type { VaultApprovals, ApprovalRequest, ApprovalRecord } from './access/vault-approvals.js';
export type { VaultKeys, KekInfo, KeysStatus } from './keys/vault-keys.js';
export type { ErasureSummary } from './store/rotation-repository.js';
export type { RotationOptions, RotationPlan, RotationSummary } from './keys/rotation.js';
export type { VaultRetention, SweepOptions, SweepSummary } from './retention.js';
export type { Durability } from './store/database.js';
export type { VaultAudit, AuditExportOptions, CheckpointInfo } from './audit/vault-audit.js';
export type { ChainReport, ChainProblem } from './audit/chain-verifier.js';
export type { ExportFormat, ExportResult } from './audit/export.js';
export type { AuditReport, CountEntry } from './audit/report.js';
export { verifyAuditExportFile } from './audit/verify-file.js';
export type { FileVerifyReport } from './audit/verify-file.js';
export { importJsonl } from './import/jsonl-import.js';
export type { ImportOptions, ImportProgress, ImportLineError, ImportSummary } from './import/jsonl-import.js';
