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
import { equalBytes, HASH_BYTES, hashCanonicalInto } from '../crypto/hash.js';
import type { SecretBytes } from '../crypto/secret-bytes.js';
import { VaultError } from '../errors.js';
import { readU32, writeU64, type CanonicalField } from '../format/canonical.js';
import { phonesIn } from '../guard/text-candidates.js';
import type { AnyRowSpec, RowAuthenticator, RowOf } from '../store/rows.js';

const EMPTY = new Uint8Array(0);

/** A column as a canonical field; `slot` is an 8-byte array of the caller's for an integer (reused, never kept). */
function field(kind: string, value: unknown, slot: Uint8Array): CanonicalField {
  switch (kind) {
    case 'text':
      if (typeof value === 'string') return value;
      break;
    case 'int':
      if (typeof value === 'number') return writeU64(slot, value);
      break;
    case 'int?':
      if (value === null) return EMPTY;
      if (typeof value === 'number') return writeU64(slot, value);
      break;
    case 'bytes':
      if (value instanceof Uint8Array) return value;
      break;
  }
  // A stored value of the wrong type: the row was written by someone else (STRICT tables make it rare).
  throw new TypeError('row column of the wrong type');
}

/**
 * A row's name as an error (and the failure's audit entry, kept for good) may show it. Ids of a
 * forged row are the attacker's text: anything but a short plain id, or one that holds a phone
 * number, is withheld.
 */
function printableRowName(name: string): string {
  return name.length <= 64 && /^[\w:. -]+$/.test(name) && phonesIn(name).length === 0 ? name : '(an id that cannot be shown)';
}

/** The error for a row that fails authentication: names the table and row, never a value. */
export function tamperedRow(table: string, rowName: string): VaultError {
  const name = printableRowName(rowName);
  return new VaultError(
    'INTEGRITY',
    `${table} row ${name} failed authentication: it was written or changed by someone without the vault's master key; nothing was done with it (see docs/audit.md, "Authenticated rows")`,
    { field: `${table}:${name}` },
  );
}

/** 53 bits of a MAC, as a number: the memo's key (the whole MAC is compared on a hit). */
function macKey(mac: Uint8Array): number {
  return readU32(mac, 0) * 0x200000 + (readU32(mac, 4) >>> 11);
}

/** Rows remembered as authentic (this process checked them, or wrote one to read back), at most this many per table. */
const REMEMBERED_PER_TABLE = 4096;

function sameRow(spec: AnyRowSpec, a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): boolean {
  for (const name of spec.names) {
    const x = a[name];
    const y = b[name];
    if (x instanceof Uint8Array && y instanceof Uint8Array ? !equalBytes(x, y) : x !== y) return false;
  }
  return true;
}

export class RowMacs implements RowAuthenticator {
  readonly #key: SecretBytes;
  /**
   * Rows this process already checked (or wrote, for tables read back after writing), by table and
   * MAC. A row read again with the same MAC and the same columns is authentic without hashing
   * again (a MAC costs ~1.3 µs; the vault reads the same consent, KEK and counter rows on every
   * call). Sound because only this process's memory holds it: a changed column is hashed and checked.
   */
  readonly #known = new Map<AnyRowSpec, Map<number, { readonly mac: Uint8Array; readonly row: Readonly<Record<string, unknown>> }>>();
  /** Scratch of #compute: the fields, an 8-byte slot per integer column, the MAC a check compares. */
  readonly #fields: CanonicalField[] = [];
  readonly #slots: Uint8Array[] = [];
  readonly #expected = new Uint8Array(HASH_BYTES);

  /** Borrows `key` (the vault wipes it on close). */
  constructor(key: SecretBytes) {
    this.#key = key;
  }

  mac<S extends AnyRowSpec>(spec: S, row: RowOf<S>): Uint8Array {
    const mac = this.#compute(spec, row);
    if (spec.rereadAfterWrite) this.#remember(spec, row, mac);
    return mac;
  }

  check<S extends AnyRowSpec>(spec: S, row: RowOf<S>, mac: Uint8Array | null, rowName: string, scan?: 'scan'): RowOf<S> {
    if (mac === null) throw tamperedRow(spec.table, rowName);
    const known = this.#known.get(spec)?.get(macKey(mac));
    if (known !== undefined && equalBytes(known.mac, mac) && sameRow(spec, known.row, row)) return row;
    try {
      this.#compute(spec, row, this.#expected);
    } catch {
      throw tamperedRow(spec.table, rowName);
    }
    if (!equalBytes(mac, this.#expected)) throw tamperedRow(spec.table, rowName);
    if (scan === undefined) this.#remember(spec, row, mac);
    return row;
  }

  /**
   * The MAC of `row` into `out`. Integer columns are written into slots kept from call to call:
   * allocating a typed array per integer cost more than the hash itself (most rows hold several).
   */
  #compute(spec: AnyRowSpec, row: unknown, out: Uint8Array = new Uint8Array(HASH_BYTES)): Uint8Array {
    const values = row as Record<string, unknown>;
    const fields = this.#fields;
    fields.length = 0;
    spec.names.forEach((name, i) => {
      fields.push(field(spec.columns[name] ?? '', values[name], (this.#slots[i] ??= new Uint8Array(8))));
    });
    hashCanonicalInto(out, `row/${spec.table}`, fields, this.#key);
    return out;
  }

  #remember(spec: AnyRowSpec, row: unknown, mac: Uint8Array): void {
    let table = this.#known.get(spec);
    if (table === undefined) {
      table = new Map<number, { readonly mac: Uint8Array; readonly row: Readonly<Record<string, unknown>> }>();
      this.#known.set(spec, table);
    }
    // Bounded per table, so that rows replaced on every call (read counters) never push out
    // the consents and records read again and again.
    if (table.size >= REMEMBERED_PER_TABLE) table.clear();
    table.set(macKey(mac), { mac, row: row as Readonly<Record<string, unknown>> });
  }
}
