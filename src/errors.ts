/**
 * The one error type childvault throws. Each failure kind has a stable `code`; callers branch on
 * the code, never on the message. Messages name fields, ids and files — never values, ciphertext
 * or key bytes.
 */

/** Stable failure codes. Adding a code is a minor change; renaming one is a breaking change. */
export const ERROR_CODES = [
  /** An input (argument, option, value, file line) failed validation. */
  'VALIDATION',
  /** The command line itself is wrong (missing option, unknown flag, ambiguous key source). */
  'USAGE',
  /** A named thing (subject, file, key version) does not exist. */
  'NOT_FOUND',
  /** Stored bytes failed authentication: tampering, corruption, or a row copied elsewhere. */
  'INTEGRITY',
  /** The master key given does not open this vault. */
  'WRONG_MASTER_KEY',
  /** The master key could not be obtained (missing file or variable, unreadable, bad format). */
  'MASTER_KEY_UNAVAILABLE',
  /** A key file is readable by group or others, or is not a regular file. */
  'INSECURE_KEY_FILE',
  /** The file is not a childvault vault, or SQLite reports it corrupt. */
  'CORRUPT',
  /** The migrations applied to the vault do not match the ones this build ships. */
  'MIGRATION',
  /** Plaintext minor data was about to leave the vault (serialisation, logging, another store). */
  'PLAINTEXT_LEAK',
  /** The operation conflicts with existing state (file exists, vault already initialised). */
  'CONFLICT',
  /** The vault was closed. */
  'CLOSED',
  /** The database stayed locked by another process past the busy timeout. */
  'BUSY',
  /** The storage layer failed (disk full, read-only file, I/O error). */
  'STORAGE',
  /** Refused by policy: the role has no grant for this action and purpose. */
  'ACCESS_DENIED',
  /** Refused by policy: the purpose does not cover a category asked for. */
  'PURPOSE_NOT_ALLOWED',
  /** Refused: no active (unexpired, unwithdrawn, current-notice) guardian consent covers it. */
  'CONSENT_REQUIRED',
  /** Refused: a protective default (e.g. concealed location) is on for this child. */
  'PROTECTION_ACTIVE',
  /** Refused: a staff read without a valid officer approval (missing, expired, revoked, out of scope, spent). */
  'APPROVAL_REQUIRED',
  /** Refused: the actor reached its hourly read limit (bulk-copy protection). */
  'RATE_LIMITED',
  /** A key is still in use (a KEK that wraps data keys, the active KEK). */
  'KEY_IN_USE',
  /** A leak scan found nothing but could not read every file (compressed, encrypted): not clean. */
  'SCAN_INCOMPLETE',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface VaultErrorOptions {
  /** The underlying error. Only attach causes whose messages cannot contain secrets. */
  readonly cause?: unknown;
  /** Where the problem is: a field path, a file line, a key version. Never a value. */
  readonly field?: string;
  /** RATE_LIMITED: how long until the actor may read again (an HTTP service's Retry-After). */
  readonly retryAfterMs?: number;
}

/** The single error class of childvault. */
export class VaultError extends Error {
  override readonly name = 'VaultError';
  readonly code: ErrorCode;
  readonly field: string | undefined;
  /** RATE_LIMITED: milliseconds until the actor may read again. */
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, options: VaultErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.field = options.field;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** True when `error` is a VaultError, optionally with the given code. */
export function isVaultError(error: unknown, code?: ErrorCode): error is VaultError {
  return error instanceof VaultError && (code === undefined || error.code === code);
}

/**
 * Throws a VaultError with `code` unless `condition` holds. The precondition style of the AWS
 * Encryption SDK: every module boundary states what it needs in one line.
 */
export function needs(condition: unknown, code: ErrorCode, message: string, field?: string): asserts condition {
  if (!condition) throw new VaultError(code, message, field === undefined ? {} : { field });
}

/** The one opaque decryption failure, whatever the cause (wrong key, tampering, swapped rows). */
export function integrityError(what: string): VaultError {
  return new VaultError('INTEGRITY', `${what} failed authentication: the vault file was modified, corrupted, or a row was copied from elsewhere`);
}
