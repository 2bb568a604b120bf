/**
 * Checks src against the known-answer vectors in test/vectors/ (made by test/vectors/generate.ts
 * with raw libsodium and an independent encoder): src must produce exactly the expected AAD,
 * tags, frames and boxes, open every sealed box to its plaintext, and refuse every tampered
 * variant with the one INTEGRITY error.
 */
import { readFileSync } from 'node:fs';
import libsodium from 'libsodium-wrappers-sumo';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { open } from '../../src/crypto/aead.js';
import { RECORD_FORMAT_SINGLE, openRecord, sealRecord } from '../../src/crypto/record-cipher.js';
import { SecretBytes } from '../../src/crypto/secret-bytes.js';
import { loadSodium } from '../../src/crypto/sodium.js';
import { integrityError } from '../../src/errors.js';
import { encodeCanonical, u64, type CanonicalField } from '../../src/format/canonical.js';
import { encodeFrame, frameToBytes } from '../../src/format/value-codec.js';
import { dekAad, recordAad, unwrapDek, wrapDek, type DekBinding } from '../../src/keys/data-keys.js';
import { kekAad } from '../../src/keys/keyring.js';
import { envKey } from '../../src/keys/master-key.js';
import { SUBJECT_INDEX_KEY, subjectTag } from '../../src/keys/subject-index.js';
import { masterCheckAad, vaultKeyAad } from '../../src/keys/unlock.js';
import { fromHex, hex } from '../helpers/unit-bytes.js';
import { expectVaultError } from '../helpers/unit-errors.js';
import { buildVectors, renderVectorFile } from '../vectors/generate.js';

// Lets a test dictate the next nonce, so src's seal can be compared byte for byte.
const nonceQueue = vi.hoisted(() => ({ next: [] as Uint8Array[] }));
vi.mock('../../src/crypto/random.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/crypto/random.js')>();
  return {
    ...real,
    fillRandom(target: Uint8Array): Uint8Array {
      const fixed = nonceQueue.next.shift();
      if (fixed === undefined) return real.fillRandom(target);
      if (fixed.length !== target.length) throw new Error(`queued ${fixed.length} bytes for a ${target.length}-byte request`);
      target.set(fixed);
      return target;
    },
  };
});

// ---- vector file shapes -------------------------------------------------------------------------

type Field = { type: 'bytes'; hex: string } | { type: 'string'; value: string } | { type: 'u32'; value: number } | { type: 'u64'; value: number };
type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
interface HexBinding {
  vaultId: string;
  subjectTag: string;
  category: string;
  dekId: string;
}
interface CanonicalFile {
  vectors: { name: string; description: string; domain: string; fields: Field[]; encoded: string }[];
}
interface SubjectTagFile {
  vectors: { name: string; description: string; key: string; subjectId: string; input: string; tag: string }[];
}
interface SealedVector {
  name: string;
  kind: 'master-check' | 'kek' | 'vault-key' | 'dek' | 'record';
  description: string;
  key: string;
  nonce: string;
  aad: string;
  plaintext: string;
  box: string;
  value?: JsonValue;
}
interface SealedFile {
  binding: HexBinding;
  kekVersion: number;
  writtenAt: number;
  vectors: SealedVector[];
}
interface TamperedVector {
  name: string;
  kind: 'dek' | 'record';
  description: string;
  box: string;
  binding: HexBinding;
  kekVersion?: number;
  format?: number;
  aadFormat?: number;
  writtenAt?: number;
}
interface TamperedFile {
  kek: string;
  dek: string;
  vectors: TamperedVector[];
}

const VECTOR_FILES = ['canonical.json', 'subject-tag.json', 'sealed-boxes.json', 'tampered.json'] as const;

function readText(name: string): string {
  return readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8');
}

const canonicalFile = JSON.parse(readText('canonical.json')) as CanonicalFile;
const tagFile = JSON.parse(readText('subject-tag.json')) as SubjectTagFile;
const sealedFile = JSON.parse(readText('sealed-boxes.json')) as SealedFile;
const tamperedFile = JSON.parse(readText('tampered.json')) as TamperedFile;

function byName<T extends { name: string }>(list: readonly T[], name: string): T {
  const found = list.find((v) => v.name === name);
  if (found === undefined) throw new Error(`vector ${name} is missing`);
  return found;
}

function srcField(field: Field): CanonicalField {
  switch (field.type) {
    case 'bytes':
      return fromHex(field.hex);
    case 'string':
      return field.value;
    case 'u32':
      return field.value;
    case 'u64':
      return u64(field.value);
  }
}

function binding(b: HexBinding): DekBinding {
  return { vaultId: fromHex(b.vaultId), subjectTag: fromHex(b.subjectTag), category: b.category, dekId: fromHex(b.dekId) };
}

/** A vector value with `{ "$bytes": hex }` blobs turned into Uint8Arrays. */
function storable(value: JsonValue): unknown {
  if (Array.isArray(value)) return value.map(storable);
  if (typeof value === 'object' && value !== null) {
    const bytes = value.$bytes;
    if (typeof bytes === 'string') return fromHex(bytes);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, storable(v)]));
  }
  return value;
}

function secret(hexKey: string): SecretBytes {
  return new SecretBytes(fromHex(hexKey));
}

const vaultId = fromHex(sealedFile.binding.vaultId);

beforeAll(async () => {
  await loadSodium();
  await libsodium.ready;
});

afterEach(() => {
  nonceQueue.next.length = 0;
});

describe('the vector files', () => {
  it.each(VECTOR_FILES)('%s is exactly what generate.ts produces (no hand edits, reproducible)', (name) => {
    expect(readText(name)).toBe(renderVectorFile(buildVectors(libsodium)[name]));
  });

  it('give every vector a description', () => {
    const all = [...canonicalFile.vectors, ...tagFile.vectors, ...sealedFile.vectors, ...tamperedFile.vectors];
    expect(all.length).toBeGreaterThan(20);
    for (const v of all) expect(v.description.length).toBeGreaterThan(10);
  });
});

describe('canonical encodings', () => {
  it.each(canonicalFile.vectors.map((v) => [v.name, v] as const))('encodeCanonical reproduces the %s vector', (_name, v) => {
    expect(hex(encodeCanonical(v.domain, v.fields.map(srcField)))).toBe(v.encoded);
  });

  it('covers every AAD and hash domain src uses', () => {
    expect(canonicalFile.vectors.map((v) => v.domain).sort()).toEqual(['dek', 'kek', 'master-check', 'record', 'subject-tag', 'vault-key']);
  });

  it("src's AAD builders produce exactly the vector bytes", () => {
    const b = binding(sealedFile.binding);
    const encoded = (name: string) => byName(canonicalFile.vectors, name).encoded;
    expect(hex(masterCheckAad(vaultId))).toBe(encoded('master-check'));
    expect(hex(kekAad(vaultId, sealedFile.kekVersion))).toBe(encoded('kek'));
    expect(hex(vaultKeyAad(vaultId, SUBJECT_INDEX_KEY))).toBe(encoded('vault-key'));
    expect(hex(dekAad(b, sealedFile.kekVersion))).toBe(encoded('dek'));
    expect(hex(recordAad(b, RECORD_FORMAT_SINGLE, sealedFile.writtenAt))).toBe(encoded('record'));
  });

  it('the sealed-box vectors use the same AAD bytes as the canonical vectors', () => {
    for (const kind of ['master-check', 'kek', 'vault-key', 'dek', 'record'] as const) {
      const box = sealedFile.vectors.find((v) => v.kind === kind);
      expect(box?.aad).toBe(byName(canonicalFile.vectors, kind).encoded);
    }
  });
});

describe('subject tags', () => {
  it.each(tagFile.vectors.map((v) => [v.name, v] as const))('subjectTag reproduces the %s vector', (_name, v) => {
    expect(hex(encodeCanonical('subject-tag', [v.subjectId]))).toBe(v.input);
    expect(hex(subjectTag(secret(v.key), v.subjectId))).toBe(v.tag);
  });

  it('the binding of the other vectors uses the subject vector\'s tag', () => {
    expect(sealedFile.binding.subjectTag).toBe(byName(tagFile.vectors, 'subject').tag);
  });
});

describe('sealed boxes', () => {
  it.each(sealedFile.vectors.map((v) => [v.name, v] as const))('open() recovers the plaintext of %s', (_name, v) => {
    expect(hex(open(secret(v.key), fromHex(v.box), fromHex(v.aad), v.name))).toBe(v.plaintext);
  });

  const keyBoxes = sealedFile.vectors.filter((v) => v.kind === 'dek' || v.kind === 'record');
  const masterBoxes = sealedFile.vectors.filter((v) => v.kind !== 'dek' && v.kind !== 'record');

  it.each(keyBoxes.map((v) => [v.name, v] as const))('src seals %s byte for byte when given the vector nonce', (_name, v) => {
    const b = binding(sealedFile.binding);
    nonceQueue.next.push(fromHex(v.nonce));
    const box =
      v.kind === 'dek'
        ? wrapDek(secret(v.key), secret(v.plaintext), b, sealedFile.kekVersion)
        : sealRecord(secret(v.key), RECORD_FORMAT_SINGLE, recordAad(b, RECORD_FORMAT_SINGLE, sealedFile.writtenAt), encodeFrame(storable(v.value ?? null))).body;
    expect(nonceQueue.next).toEqual([]); // the nonce was used
    expect(hex(box)).toBe(v.box);
  });

  it.each(masterBoxes.map((v) => [v.name, v] as const))('the built-in master-key provider wraps %s byte for byte and unwraps it', async (_name, v) => {
    const aad = v.kind === 'kek' ? kekAad(vaultId, sealedFile.kekVersion) : v.kind === 'vault-key' ? vaultKeyAad(vaultId, SUBJECT_INDEX_KEY) : masterCheckAad(vaultId);
    const variable = `CHILDVAULT_VECTOR_${process.pid}`;
    process.env[variable] = Buffer.from(fromHex(v.key)).toString('base64');
    const provider = envKey(variable);
    try {
      await provider.attach?.(null);
    } finally {
      Reflect.deleteProperty(process.env, variable);
    }
    nonceQueue.next.push(fromHex(v.nonce));
    expect(hex(await provider.wrap(fromHex(v.plaintext), aad))).toBe(v.box);
    expect(nonceQueue.next).toEqual([]);
    expect(hex(await provider.unwrap(fromHex(v.box), aad))).toBe(v.plaintext);
    provider.close?.();
  });

  it('unwrapDek recovers the DEK from the wrapped-dek vector', () => {
    const v = byName(sealedFile.vectors, 'wrapped-dek');
    const dek = unwrapDek(secret(v.key), fromHex(v.box), binding(sealedFile.binding), sealedFile.kekVersion);
    expect(dek.use(hex)).toBe(v.plaintext);
  });

  it.each(['face-record', 'location-record'])('encodeFrame gives the %s frame, and openRecord opens the box to its value', (name) => {
    const v = byName(sealedFile.vectors, name);
    const value = storable(v.value ?? null);
    expect(hex(frameToBytes(encodeFrame(value)))).toBe(v.plaintext);
    const aad = recordAad(binding(sealedFile.binding), RECORD_FORMAT_SINGLE, sealedFile.writtenAt);
    expect(openRecord(secret(v.key), RECORD_FORMAT_SINGLE, aad, fromHex(v.box), [], name)).toEqual(value);
  });
});

describe('tampered vectors', () => {
  const message = (what: string) => integrityError(what).message;

  it('include every kind of tampering the format promises to detect', () => {
    expect(tamperedFile.vectors.length).toBeGreaterThanOrEqual(14);
    expect(new Set(tamperedFile.vectors.map((v) => v.kind))).toEqual(new Set(['dek', 'record']));
  });

  it.each(tamperedFile.vectors.map((v) => [v.name, v.description, v] as const))('refuse %s (%s) with the one INTEGRITY error', (_name, _description, v) => {
    if (v.kind === 'dek') {
      const error = expectVaultError(() => unwrapDek(secret(tamperedFile.kek), fromHex(v.box), binding(v.binding), v.kekVersion ?? 1), 'INTEGRITY');
      expect(error.message).toBe(message('data key'));
    } else {
      const aad = recordAad(binding(v.binding), v.aadFormat ?? v.format ?? RECORD_FORMAT_SINGLE, v.writtenAt ?? 0);
      const error = expectVaultError(() => openRecord(secret(tamperedFile.dek), v.format ?? RECORD_FORMAT_SINGLE, aad, fromHex(v.box), [], 'face record'), 'INTEGRITY');
      expect(error.message).toBe(message('face record'));
    }
  });

  it('the intact counterparts of the tampered vectors open (the failures come from the tampering)', () => {
    const b = binding(sealedFile.binding);
    const wrapped = byName(sealedFile.vectors, 'wrapped-dek');
    expect(unwrapDek(secret(tamperedFile.kek), fromHex(wrapped.box), b, sealedFile.kekVersion).use(hex)).toBe(tamperedFile.dek);
    const record = byName(sealedFile.vectors, 'face-record');
    expect(() => openRecord(secret(tamperedFile.dek), RECORD_FORMAT_SINGLE, recordAad(b, 1, sealedFile.writtenAt), fromHex(record.box), [], 'face record')).not.toThrow();
  });
});
