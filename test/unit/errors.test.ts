import { describe, expect, it } from 'vitest';
import { ERROR_CODES, VaultError, integrityError, isVaultError, needs } from '../../src/errors.js';
import { expectVaultError } from '../helpers/unit-errors.js';

describe('VaultError', () => {
  it('carries a stable code, an optional field and an optional cause', () => {
    const cause = new Error('inner');
    const error = new VaultError('NOT_FOUND', 'subject u:1 has no face', { field: 'subject', cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('VaultError');
    expect(error.code).toBe('NOT_FOUND');
    expect(error.field).toBe('subject');
    expect(error.cause).toBe(cause);
    expect(new VaultError('USAGE', 'x').field).toBeUndefined();
    expect('cause' in new VaultError('USAGE', 'x')).toBe(false);
  });

  it('has unique codes', () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
  });
});

describe('isVaultError', () => {
  it('recognises VaultErrors, optionally of one code', () => {
    const error = new VaultError('INTEGRITY', 'x');
    expect(isVaultError(error)).toBe(true);
    expect(isVaultError(error, 'INTEGRITY')).toBe(true);
    expect(isVaultError(error, 'CORRUPT')).toBe(false);
    expect(isVaultError(new Error('x'))).toBe(false);
    expect(isVaultError({ code: 'INTEGRITY' })).toBe(false);
  });
});

describe('needs', () => {
  it('passes when the condition holds and throws the given code, message and field otherwise', () => {
    expect(() => {
      needs(1, 'VALIDATION', 'never');
    }).not.toThrow();
    const error = expectVaultError(() => {
      needs(0, 'VALIDATION', 'lat must be finite', 'lat');
    }, 'VALIDATION');
    expect(error.message).toBe('lat must be finite');
    expect(error.field).toBe('lat');
  });
});

describe('integrityError', () => {
  it('names the object and gives the same explanation whatever the cause', () => {
    const error = integrityError('face record');
    expect(error.code).toBe('INTEGRITY');
    expect(error.message).toBe('face record failed authentication: the vault file was modified, corrupted, or a row was copied from elsewhere');
  });
});
