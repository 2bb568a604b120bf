/** Exit statuses of the CLI (DESIGN.md §7) and the error codes that lead to each. */
import type { ErrorCode } from '../index.js';

export const EXIT = {
  ok: 0,
  error: 1,
  usage: 2,
  integrity: 3,
  refused: 4,
  leak: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Interrupted by Ctrl-C (128 + SIGINT, the shell's convention): not an error code of the library. */
export const EXIT_INTERRUPTED = 130;

const BY_CODE: Partial<Record<ErrorCode, ExitCode>> = {
  USAGE: EXIT.usage,
  INTEGRITY: EXIT.integrity,
  WRONG_MASTER_KEY: EXIT.integrity,
  CORRUPT: EXIT.integrity,
  PLAINTEXT_LEAK: EXIT.leak,
  ACCESS_DENIED: EXIT.refused,
  PURPOSE_NOT_ALLOWED: EXIT.refused,
  CONSENT_REQUIRED: EXIT.refused,
  PROTECTION_ACTIVE: EXIT.refused,
  APPROVAL_REQUIRED: EXIT.refused,
  RATE_LIMITED: EXIT.refused,
  // KEY_IN_USE (a key still in use) is not the policy's refusal: a plain error, 1.
};

/** The exit status for a VaultError code; anything not listed is a plain error (1). */
export function exitCodeFor(code: ErrorCode): ExitCode {
  return BY_CODE[code] ?? EXIT.error;
}
