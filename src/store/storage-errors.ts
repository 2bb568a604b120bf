/** SQLite (and file system) failures as VaultErrors with actionable messages. */
import { VaultError } from '../errors.js';

/** Maps a SQLite (or file system) error to a VaultError; `what` says what was being done. */
export function translateStorageError(error: unknown, what: string): VaultError {
  if (error instanceof VaultError) return error;
  const code = typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : '';
  if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code === 'SQLITE_LOCKED') {
    return new VaultError('BUSY', `${what}: the vault is locked by another process; retry, or find the process holding it`, { cause: error });
  }
  if (code === 'SQLITE_NOTADB') return new VaultError('CORRUPT', `${what}: the file is not an SQLite database, so not a childvault vault`, { cause: error });
  if (code === 'SQLITE_CORRUPT' || code.startsWith('SQLITE_CORRUPT_')) {
    return new VaultError('CORRUPT', `${what}: SQLite reports the vault file corrupt; restore it from a backup`, { cause: error });
  }
  if (code === 'SQLITE_FULL') return new VaultError('STORAGE', `${what}: the disk is full; free space and retry (nothing was written)`, { cause: error });
  if (code === 'SQLITE_READONLY' || code.startsWith('SQLITE_READONLY_')) {
    return new VaultError('STORAGE', `${what}: the vault file (or its directory) is read-only; nothing was written`, { cause: error });
  }
  if (code === 'SQLITE_CANTOPEN' || code.startsWith('SQLITE_CANTOPEN_')) {
    return new VaultError('STORAGE', `${what}: the vault file cannot be opened (missing directory or no permission)`, { cause: error });
  }
  if (code.startsWith('SQLITE_IOERR')) return new VaultError('STORAGE', `${what}: an I/O error occurred (${code}); nothing was written`, { cause: error });
  if (code.startsWith('SQLITE_')) return new VaultError('STORAGE', `${what}: SQLite failed (${code})`, { cause: error });
  const message = error instanceof Error ? error.message : String(error);
  if (message.startsWith('Cannot open database because the directory does not exist')) {
    return new VaultError('STORAGE', `${what}: the directory of the vault file does not exist`, { cause: error });
  }
  throw error; // a programming error: let it surface unchanged
}
