/**
 * childvault: the special protection pool for children's personal information.
 * Public exports only; everything else is internal.
 */
export { openVault, Vault } from './vault.js';
export type {
  VaultOptions,
  VaultStatus,
  PutReceipt,
  PutManyItem,
  PutValues,
  GetResult,
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
export type { CategoryDefinition, CategoryMap, BuiltInCategories, Face, Voice, Location, Contact } from './schema/categories.js';
export type { AccessContext } from './schema/access-context.js';
export type { Durability } from './store/database.js';
