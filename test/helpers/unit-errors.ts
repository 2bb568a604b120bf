/**
 * Assertion helpers for unit tests: a call must fail with a VaultError of a given code. They
 * return the error so the caller can check its message, and they fail (never pass silently)
 * when nothing is thrown or when something other than a VaultError is.
 */
import { expect } from 'vitest';
import { isVaultError, VaultError, type ErrorCode } from '../../src/errors.js';

/** Runs `fn`, which must throw synchronously a VaultError with `code`; returns the error. */
export function expectVaultError(fn: () => unknown, code: ErrorCode): VaultError {
  let caught: unknown = undefined;
  let threw = false;
  try {
    fn();
  } catch (error) {
    threw = true;
    caught = error;
  }
  expect(threw, `expected a VaultError ${code}, but nothing was thrown`).toBe(true);
  expect(caught).toBeInstanceOf(VaultError);
  const error = caught as VaultError;
  expect(error.code).toBe(code);
  return error;
}

/** Awaits `promise`, which must reject with a VaultError with `code`; returns the error. */
export async function expectVaultRejection(promise: Promise<unknown>, code: ErrorCode): Promise<VaultError> {
  await expect(promise).rejects.toBeInstanceOf(VaultError);
  let caught: unknown = undefined;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  const error = caught as VaultError;
  expect(error.code).toBe(code);
  return error;
}

/** Runs `fn`, which must throw synchronously; returns what it threw (for non-VaultError checks). */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  expect.fail('expected the call to throw, but it returned');
}

/** Awaits `promise`, which must reject with a VaultError (of any code); returns it. */
export async function errorOf(promise: Promise<unknown>): Promise<VaultError> {
  try {
    await promise;
  } catch (error) {
    if (isVaultError(error)) return error;
    throw error;
  }
  throw new Error('expected the operation to fail');
}
