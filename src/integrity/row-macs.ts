/**
 * Row MACs under the vault's integrity key:
 *
 *   mac = BLAKE2b-256(key = integrity key, encode("row/<table>", column_1, …, column_n))
 *
 * with the columns of the table's RowSpec in declaration order: text as UTF-8, integers as u64,
 * a null integer as the empty field (a present one is always 8 bytes), bytes as they are. The row's
 * identity (its id, subject tag, version, seq) is one of its columns, so a row moved to another
 * identity, or another subject, fails like an edited one.
 */
import { equalBytes, hashCanonical } from '../crypto/hash.js';
import type { SecretBytes } from '../crypto/secret-bytes.js';
import { VaultError } from '../errors.js';
import { u64, type CanonicalField } from '../format/canonical.js';
import type { AnyRowSpec, RowAuthenticator, RowOf } from '../store/rows.js';

const EMPTY = new Uint8Array(0);

function field(kind: string, value: unknown): CanonicalField {
  switch (kind) {
    case 'text':
      if (typeof value === 'string') return value;
      break;
    case 'int':
      if (typeof value === 'number') return u64(value);
      break;
    case 'int?':
      if (value === null) return EMPTY;
      if (typeof value === 'number') return u64(value);
      break;
    case 'bytes':
      if (value instanceof Uint8Array) return value;
      break;
  }
  // A stored value of the wrong type: the row was written by someone else (STRICT tables make it rare).
  throw new TypeError('row column of the wrong type');
}

/** The error for a row that fails authentication: names the table and row, never a value. */
export function tamperedRow(table: string, rowName: string): VaultError {
  return new VaultError(
    'INTEGRITY',
    `${table} row ${rowName} failed authentication: it was written or changed by someone without the vault's master key; nothing was done with it (see docs/audit.md, "Authenticated rows")`,
    { field: `${table}:${rowName}` },
  );
}

export class RowMacs implements RowAuthenticator {
  readonly #key: SecretBytes;

  /** Borrows `key` (the vault wipes it on close). */
  constructor(key: SecretBytes) {
    this.#key = key;
  }

  mac<S extends AnyRowSpec>(spec: S, row: RowOf<S>): Uint8Array {
    const values = row as Record<string, unknown>;
    return hashCanonical(
      `row/${spec.table}`,
      spec.names.map((name) => field(spec.columns[name] ?? '', values[name])),
      this.#key,
    );
  }

  check<S extends AnyRowSpec>(spec: S, row: RowOf<S>, mac: Uint8Array | null, rowName: string): RowOf<S> {
    let expected: Uint8Array;
    try {
      expected = this.mac(spec, row);
    } catch {
      throw tamperedRow(spec.table, rowName);
    }
    if (mac === null || !equalBytes(mac, expected)) throw tamperedRow(spec.table, rowName);
    return row;
  }
}
