import { describe, expect, it } from 'vitest';
import { VaultError } from '../../../src/errors.js';
import { callMatcher } from '../../../src/scan/matcher-errors.js';
import { quoteIdentifier, sqliteScanError } from '../../../src/scan/sqlite-scan.js';

const sqliteError = (code: string): Error => Object.assign(new Error(`low-level ${code}`), { code });

describe('sqliteScanError', () => {
  it('maps SQLite failures to one-line, actionable errors naming the file', () => {
    const cases: [string, string, RegExp][] = [
      ['SQLITE_BUSY', 'BUSY', /locked by another process for 2.5s/],
      ['SQLITE_BUSY_SNAPSHOT', 'BUSY', /retry when it ends, or scan a copy/],
      ['SQLITE_NOTADB', 'CORRUPT', /not a readable database/],
      ['SQLITE_CORRUPT_INDEX', 'CORRUPT', /\.recover/],
      ['SQLITE_CANTOPEN', 'STORAGE', /cannot open it read-only/],
      ['SQLITE_READONLY_RECOVERY', 'STORAGE', /cannot open it read-only/],
      ['SQLITE_IOERR_READ', 'STORAGE', /I\/O error/],
    ];
    for (const [code, expected, message] of cases) {
      const error = sqliteScanError(sqliteError(code), '/data/app.db', 2500);
      expect(error).toBeInstanceOf(VaultError);
      expect(error.code).toBe(expected);
      expect(error.message).toMatch(/^scanning \/data\/app\.db: /);
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain('\n');
      expect(error.message).not.toContain('low-level');
    }
  });

  it('passes VaultErrors (a closed vault matcher) through, and lets programming errors surface', () => {
    const closed = new VaultError('CLOSED', 'the vault is closed');
    expect(sqliteScanError(closed, 'x.db', 1)).toBe(closed);
    expect(() => sqliteScanError(new TypeError('bug'), 'x.db', 1)).toThrow(TypeError);
  });
});

describe('sqliteScanError and the matcher', () => {
  it('rethrows an error of the matcher itself (the vault\'s own SQLite) unchanged, never as the scanned file\'s', () => {
    const own = sqliteError('SQLITE_IOERR_READ');
    expect(() => callMatcher(() => {
      throw own;
    })).toThrow(own);
    expect(() => sqliteScanError(own, 'x.db', 1)).toThrow(own);
    // The same kind of error from the scanned file itself is still the file's.
    expect(sqliteScanError(sqliteError('SQLITE_IOERR_READ'), 'x.db', 1).message).toMatch(/^scanning x\.db: /);
  });
});

describe('quoteIdentifier', () => {
  it('quotes any name, doubling its quotes', () => {
    expect(quoteIdentifier('my table')).toBe('"my table"');
    expect(quoteIdentifier('we"ird')).toBe('"we""ird"');
  });
});
