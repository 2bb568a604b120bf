/**
 * The leak matcher for guard and scanner tests: the vault's REAL `BlindIndexMatcher`
 * (src/guard/blind-index.ts) over an in-memory index. Entries are computed the way the vault
 * computes them when it stores a record (`blindEntries` under a fixed test key), so the tests
 * exercise the production normalisation, candidate extraction, base64 decoding and digests; only
 * the SQLite table (and its prefilter) is replaced by a Map.
 *
 * Importing this module loads libsodium (top-level await), so `testMatcher` can be called at a
 * test file's top level.
 */
import { loadSodium } from '../../src/crypto/sodium.js';
import { SecretBytes } from '../../src/crypto/secret-bytes.js';
import { blindEntries, BlindIndexMatcher, type BlindEntry, type DigestLookup } from '../../src/guard/blind-index.js';
import type { IndexedField, LeakMatch, LeakMatcher } from '../../src/guard/leak-types.js';

await loadSodium();

/** Values stored as they would be written into records (any written form the schemas accept). */
export interface IndexedValues {
  readonly phones?: readonly string[];
  readonly emails?: readonly string[];
  readonly addresses?: readonly string[];
  /** Stored as `face` records: they match as `face.image`. */
  readonly faces?: readonly Uint8Array[];
  /** Stored as `voice` records: they match as `voice.audio`. */
  readonly voices?: readonly Uint8Array[];
}

/** Children's values, and the canaries' (whose matches have kind 'canary'). */
export interface StoredValues extends IndexedValues {
  readonly canary?: IndexedValues;
}

export interface CountingMatcher extends LeakMatcher {
  /** Calls made by the code under test (not the matcher's own matchText → matchBytes for base64). */
  readonly calls: { text: number; bytes: number };
}

/** A fresh copy of the fixed test key (SecretBytes takes ownership of its bytes). */
export function testKey(): SecretBytes {
  return new SecretBytes(new Uint8Array(32).fill(9));
}

/** The blind-index entries the vault would store for `values`; throws if a value yields none. */
function entriesOf(key: SecretBytes, values: IndexedValues): BlindEntry[] {
  const out: BlindEntry[] = [];
  const add = (category: string, value: Record<string, unknown>, written: string): void => {
    const entries = blindEntries(key, category, value);
    if (entries.length === 0) throw new Error(`testMatcher: ${written} gives no blind-index entry (not a valid ${category} value)`);
    out.push(...entries);
  };
  for (const phone of values.phones ?? []) add('contact', { phone }, `phone ${JSON.stringify(phone)}`);
  for (const email of values.emails ?? []) add('contact', { email }, `e-mail ${JSON.stringify(email)}`);
  for (const address of values.addresses ?? []) add('contact', { address }, `address ${JSON.stringify(address)}`);
  for (const image of values.faces ?? []) add('face', { image }, 'a face image');
  for (const audio of values.voices ?? []) add('voice', { audio }, 'a voice clip');
  return out;
}

const keyOf = (field: IndexedField, digest: Uint8Array): string => `${field}:${Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength).toString('hex')}`;

/** A lookup over an in-memory index of `values` (a canary entry wins over a child's equal one). */
export function testLookup(key: SecretBytes, values: StoredValues): DigestLookup {
  const index = new Map<string, { readonly canary: boolean }>();
  for (const e of entriesOf(key, values)) index.set(keyOf(e.field, e.digest), { canary: false });
  for (const e of entriesOf(key, values.canary ?? {})) index.set(keyOf(e.field, e.digest), { canary: true });
  return (field, digest) => index.get(keyOf(field, digest));
}

/** The real blind-index matcher over `values`, counting the calls made to it. */
export function testMatcher(values: StoredValues): CountingMatcher {
  const key = testKey();
  const real = new BlindIndexMatcher(key, testLookup(key, values));
  const calls = { text: 0, bytes: 0 };
  return {
    calls,
    matchText(text: string): LeakMatch[] {
      calls.text++;
      return real.matchText(text);
    },
    matchBytes(bytes: Uint8Array): LeakMatch[] {
      calls.bytes++;
      return real.matchBytes(bytes);
    },
  };
}
