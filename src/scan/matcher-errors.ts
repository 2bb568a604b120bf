/**
 * Errors thrown by the matcher itself — the vault's own blind-index lookup (an SqliteError of the
 * vault's database, a VaultError CLOSED) — are not failures of the file being scanned: they must
 * reach the caller unchanged, never be reworded as "cannot read FILE" or "scanning FILE: corrupt".
 * The scanner calls the matcher through `callMatcher`, which marks what it throws; the error
 * mappers rethrow marked errors as they are.
 */

const fromMatcher = new WeakSet<object>();

/** Runs a matcher call, marking whatever it throws as the matcher's. */
export function callMatcher<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if ((typeof error === 'object' && error !== null) || typeof error === 'function') fromMatcher.add(error);
    throw error;
  }
}

/** True when `error` was thrown by the matcher (see `callMatcher`). */
export function isMatcherError(error: unknown): boolean {
  return ((typeof error === 'object' && error !== null) || typeof error === 'function') && fromMatcher.has(error);
}
