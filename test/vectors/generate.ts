/**
 * Generates childvault's known-answer vectors (docs/format.md) into test/vectors/*.json.
 *
 *   npx tsx test/vectors/generate.ts            # rewrite the committed vectors
 *   npx tsx test/vectors/generate.ts <outDir>   # write them elsewhere (to compare)
 *
 * Independence: this script imports nothing from src/. It re-implements the canonical encoding
 * (§2) and the value frame (§5) from the format document, and calls RAW libsodium-wrappers-sumo
 * with FIXED keys and nonces, so the output is byte-for-byte reproducible and a change to src/
 * that alters a stored format shows up as a failing test/unit/vectors.test.ts rather than
 * passing silently. Regenerate only when the format version changes on purpose.
 *
 * Files written:
 *   canonical.json    the canonical encoding of every AAD / hash domain src uses
 *   subject-tag.json  keyed BLAKE2b-256 subject tags
 *   sealed-boxes.json version 1 sealed boxes (0x01 ‖ nonce ‖ XChaCha20-Poly1305 ciphertext ‖ tag):
 *                     master check, wrapped KEK, wrapped subject-index key, wrapped DEK, and
 *                     single-format (format 1) records whose plaintext is a value frame
 *   tampered.json     variants that must fail with INTEGRITY: flipped bits, a bad version byte,
 *                     truncation, a box presented under another binding (copied to another row),
 *                     and authentic boxes whose plaintext is not a valid frame
 *
 * Every byte string is lower-case hex. Every vector has a one-line "description".
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import libsodium from 'libsodium-wrappers-sumo';

type Sodium = typeof libsodium;

// ---- fixed inputs (none of these is ever a real key) --------------------------------------------

/** `n` bytes counting up from `start`: recognisable in a hex dump, and clearly not random. */
function counting(start: number, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);
}

function fromHex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'hex'));
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export const INPUTS = {
  masterKey: counting(0x00, 32),
  kek: counting(0x20, 32),
  dek: counting(0x40, 32),
  subjectIndexKey: counting(0x60, 32),
  /** UUIDv7 layout: 2024-05-01T08:00:00Z, version 7, variant 10. */
  vaultId: fromHex('018f32cbb4007abc8def0123456789ab'),
  dekId: fromHex('018f32cbb4017cde9f0123456789abcd'),
  subjectId: 'u:1001',
  otherSubjectId: 'u:1002',
  category: 'face',
  kekVersion: 1,
  writtenAt: 1_714_550_400_000, // 2024-05-01T08:00:00Z
  nonces: {
    masterCheck: counting(0x80, 24),
    kek: counting(0x98, 24),
    subjectIndexKey: counting(0xb0, 24),
    dek: counting(0xc8, 24),
    faceRecord: counting(0xe0, 24),
    locationRecord: counting(0x10, 24),
    badFrame: counting(0x28, 24),
  },
} as const;

// ---- the canonical encoding (docs/format.md §2), written independently of src -----------------

type Field = { type: 'bytes'; hex: string } | { type: 'string'; value: string } | { type: 'u32'; value: number } | { type: 'u64'; value: number };

function fieldBytes(field: Field): Uint8Array {
  switch (field.type) {
    case 'bytes':
      return fromHex(field.hex);
    case 'string':
      return new TextEncoder().encode(field.value);
    case 'u32': {
      const out = new Uint8Array(4);
      new DataView(out.buffer).setUint32(0, field.value);
      return out;
    }
    case 'u64': {
      const out = new Uint8Array(8);
      new DataView(out.buffer).setBigUint64(0, BigInt(field.value));
      return out;
    }
  }
}

function lp(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + bytes.length);
  new DataView(out.buffer).setUint32(0, bytes.length);
  out.set(bytes, 4);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

function canonical(domain: string, fields: readonly Field[]): Uint8Array {
  return concat(lp(new TextEncoder().encode(`childvault/${domain}`)), ...fields.map((f) => lp(fieldBytes(f))));
}

const bytesField = (b: Uint8Array): Field => ({ type: 'bytes', hex: hex(b) });
const stringField = (value: string): Field => ({ type: 'string', value });
const u32Field = (value: number): Field => ({ type: 'u32', value });
const u64Field = (value: number): Field => ({ type: 'u64', value });

// ---- the value frame (docs/format.md §5), written independently of src -------------------------

/** A value as stored in the JSON files: blobs are `{ "$bytes": "<hex>" }`. */
type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

function frame(value: JsonValue, version = 1): Uint8Array {
  const blobs: [(string | number)[], Uint8Array][] = [];
  const skeleton = (v: JsonValue, path: (string | number)[]): JsonValue => {
    if (Array.isArray(v)) return v.map((item, i) => skeleton(item, [...path, i]));
    if (typeof v === 'object' && v !== null) {
      const bytes = v.$bytes;
      if (typeof bytes === 'string') {
        blobs.push([path, fromHex(bytes)]);
        return null;
      }
      return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, skeleton(item, [...path, k])]));
    }
    return v;
  };
  const v = skeleton(value, []);
  const header = new TextEncoder().encode(JSON.stringify({ v, b: blobs.map(([p, b]) => [p, b.length]) }));
  const prefix = new Uint8Array(5);
  prefix[0] = version;
  new DataView(prefix.buffer).setUint32(1, header.length);
  return concat(prefix, header, ...blobs.map(([, b]) => b));
}

// ---- building the vectors --------------------------------------------------------------------

interface Binding {
  vaultId: string;
  subjectTag: string;
  category: string;
  dekId: string;
}

function sealedBox(s: Sodium, key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(1), nonce, s.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, aad, null, nonce, key));
}

function flip(bytes: Uint8Array, index: number, mask = 0x01): Uint8Array {
  const out = bytes.slice();
  out[index] = (out[index] ?? 0) ^ mask;
  return out;
}

/** Builds every vector file's content. Deterministic: the same output on every run. */
export function buildVectors(s: Sodium): Record<string, unknown> {
  const I = INPUTS;
  const tagFields = [stringField(I.subjectId)];
  const tagInput = canonical('subject-tag', tagFields);
  const subjectTag = s.crypto_generichash(32, tagInput, I.subjectIndexKey);
  const otherTagInput = canonical('subject-tag', [stringField(I.otherSubjectId)]);
  const otherSubjectTag = s.crypto_generichash(32, otherTagInput, I.subjectIndexKey);

  const binding: Binding = { vaultId: hex(I.vaultId), subjectTag: hex(subjectTag), category: I.category, dekId: hex(I.dekId) };
  const dekFields = (b: Binding, kekVersion: number): Field[] => [
    bytesField(fromHex(b.vaultId)),
    bytesField(fromHex(b.subjectTag)),
    stringField(b.category),
    bytesField(fromHex(b.dekId)),
    u32Field(kekVersion),
  ];
  const recordFields = (b: Binding, format: number, writtenAt: number): Field[] => [
    bytesField(fromHex(b.vaultId)),
    bytesField(fromHex(b.subjectTag)),
    stringField(b.category),
    bytesField(fromHex(b.dekId)),
    u32Field(format),
    u64Field(writtenAt),
  ];

  const domains: { name: string; description: string; domain: string; fields: Field[] }[] = [
    { name: 'master-check', description: 'AAD of the master-key check value: the vault id', domain: 'master-check', fields: [bytesField(I.vaultId)] },
    { name: 'kek', description: 'AAD of KEK v1 wrapped by the master key: vault id, version (u32)', domain: 'kek', fields: [bytesField(I.vaultId), u32Field(I.kekVersion)] },
    {
      name: 'vault-key',
      description: 'AAD of the subject-index key wrapped by the master key: vault id, name',
      domain: 'vault-key',
      fields: [bytesField(I.vaultId), stringField('subject-index')],
    },
    { name: 'dek', description: 'AAD of a DEK wrapped by KEK v1: vault id, subject tag, category, DEK id, KEK version (u32)', domain: 'dek', fields: dekFields(binding, I.kekVersion) },
    {
      name: 'record',
      description: 'AAD of a format-1 record: vault id, subject tag, category, DEK id, format (u32), written at (u64)',
      domain: 'record',
      fields: recordFields(binding, 1, I.writtenAt),
    },
    { name: 'subject-tag', description: 'input of the keyed subject-tag hash: the subject id', domain: 'subject-tag', fields: tagFields },
  ];
  const canonicalFile = {
    description: 'Canonical encodings (docs/format.md §2): lp(utf8("childvault/" + domain)) ‖ lp(field)…, lp(x) = u32be(len) ‖ x',
    vectors: domains.map((d) => ({ ...d, encoded: hex(canonical(d.domain, d.fields)) })),
  };

  const subjectTagFile = {
    description: 'Subject tags (docs/format.md §4): BLAKE2b-256 keyed with the subject-index key over encode("subject-tag", id)',
    vectors: [
      { name: 'subject', description: 'the tag of the subject the other vectors bind to', key: hex(I.subjectIndexKey), subjectId: I.subjectId, input: hex(tagInput), tag: hex(subjectTag) },
      { name: 'other-subject', description: 'another subject under the same key: a different tag', key: hex(I.subjectIndexKey), subjectId: I.otherSubjectId, input: hex(otherTagInput), tag: hex(otherSubjectTag) },
    ],
  };

  const masterCheckAad = canonical('master-check', [bytesField(I.vaultId)]);
  const kekAad = canonical('kek', [bytesField(I.vaultId), u32Field(I.kekVersion)]);
  const indexKeyAad = canonical('vault-key', [bytesField(I.vaultId), stringField('subject-index')]);
  const dekAad = canonical('dek', dekFields(binding, I.kekVersion));
  const recordAad = canonical('record', recordFields(binding, 1, I.writtenAt));

  const faceValue: JsonValue = { image: { $bytes: '89504e470d0a1a0a0000000d49484452' }, embedding: [0.125, -0.5, 1], capturedAt: '2024-05-01T08:00:00Z' };
  const locationValue: JsonValue = { lat: 30.2741, lon: 120.1551, accuracyM: 12.5, capturedAt: '2024-05-01T08:00:00+08:00' };
  const faceFrame = frame(faceValue);
  const locationFrame = frame(locationValue);

  const masterCheckBox = sealedBox(s, I.masterKey, I.nonces.masterCheck, new Uint8Array(32), masterCheckAad);
  const kekBox = sealedBox(s, I.masterKey, I.nonces.kek, I.kek, kekAad);
  const indexKeyBox = sealedBox(s, I.masterKey, I.nonces.subjectIndexKey, I.subjectIndexKey, indexKeyAad);
  const dekBox = sealedBox(s, I.kek, I.nonces.dek, I.dek, dekAad);
  const faceBox = sealedBox(s, I.dek, I.nonces.faceRecord, faceFrame, recordAad);
  const locationBox = sealedBox(s, I.dek, I.nonces.locationRecord, locationFrame, recordAad);

  const sealedFile = {
    description: 'Version 1 sealed boxes (docs/format.md §3): 0x01 ‖ nonce(24) ‖ XChaCha20-Poly1305-IETF(key, nonce, plaintext, aad)',
    binding,
    kekVersion: I.kekVersion,
    writtenAt: I.writtenAt,
    vectors: [
      { name: 'master-check', kind: 'master-check', description: '32 zero bytes wrapped by the master key', key: hex(I.masterKey), nonce: hex(I.nonces.masterCheck), aad: hex(masterCheckAad), plaintext: hex(new Uint8Array(32)), box: hex(masterCheckBox) },
      { name: 'wrapped-kek', kind: 'kek', description: 'KEK v1 wrapped by the master key', key: hex(I.masterKey), nonce: hex(I.nonces.kek), aad: hex(kekAad), plaintext: hex(I.kek), box: hex(kekBox) },
      { name: 'wrapped-subject-index-key', kind: 'vault-key', description: 'the subject-index key wrapped by the master key', key: hex(I.masterKey), nonce: hex(I.nonces.subjectIndexKey), aad: hex(indexKeyAad), plaintext: hex(I.subjectIndexKey), box: hex(indexKeyBox) },
      { name: 'wrapped-dek', kind: 'dek', description: 'a DEK wrapped by KEK v1, bound to the vault, subject tag, category "face" and DEK id', key: hex(I.kek), nonce: hex(I.nonces.dek), aad: hex(dekAad), plaintext: hex(I.dek), box: hex(dekBox) },
      { name: 'face-record', kind: 'record', description: 'a format-1 face record: a value frame with one blob (image) sealed by the DEK', key: hex(I.dek), nonce: hex(I.nonces.faceRecord), aad: hex(recordAad), value: faceValue, plaintext: hex(faceFrame), box: hex(faceBox) },
      { name: 'location-record', kind: 'record', description: 'a format-1 record whose frame has no blobs (a location, stored under the same binding)', key: hex(I.dek), nonce: hex(I.nonces.locationRecord), aad: hex(recordAad), value: locationValue, plaintext: hex(locationFrame), box: hex(locationBox) },
    ],
  };

  const otherBinding: Binding = { ...binding, subjectTag: hex(otherSubjectTag) };
  const badVersionFrame = frame(locationValue, 2);
  const truncatedFrame = locationFrame.subarray(0, locationFrame.length - 1);
  const tamperedFile = {
    description: 'Variants that must fail to open with the one opaque INTEGRITY error. "kind" says how to open: dek = unwrap a DEK under the KEK; record = open a format-1 record under the DEK.',
    kek: hex(I.kek),
    dek: hex(I.dek),
    vectors: [
      { name: 'dek-ciphertext-bit', kind: 'dek', description: 'wrapped DEK with one ciphertext bit flipped', box: hex(flip(dekBox, 25)), binding, kekVersion: I.kekVersion },
      { name: 'dek-tag-bit', kind: 'dek', description: 'wrapped DEK with the last tag bit flipped', box: hex(flip(dekBox, dekBox.length - 1, 0x80)), binding, kekVersion: I.kekVersion },
      { name: 'dek-nonce-bit', kind: 'dek', description: 'wrapped DEK with one nonce bit flipped', box: hex(flip(dekBox, 1)), binding, kekVersion: I.kekVersion },
      { name: 'dek-version-2', kind: 'dek', description: 'wrapped DEK with an unknown version byte (2)', box: hex(concat(Uint8Array.of(2), dekBox.subarray(1))), binding, kekVersion: I.kekVersion },
      { name: 'dek-truncated', kind: 'dek', description: 'wrapped DEK missing its last byte', box: hex(dekBox.subarray(0, dekBox.length - 1)), binding, kekVersion: I.kekVersion },
      { name: 'dek-other-subject', kind: 'dek', description: 'an intact wrapped DEK copied to another subject\'s row', box: hex(dekBox), binding: otherBinding, kekVersion: I.kekVersion },
      { name: 'dek-other-category', kind: 'dek', description: 'an intact wrapped DEK copied to another category', box: hex(dekBox), binding: { ...binding, category: 'voice' }, kekVersion: I.kekVersion },
      { name: 'dek-other-kek-version', kind: 'dek', description: 'an intact wrapped DEK presented as wrapped by KEK v2', box: hex(dekBox), binding, kekVersion: 2 },
      { name: 'record-ciphertext-bit', kind: 'record', description: 'face record with one ciphertext bit flipped', box: hex(flip(faceBox, 40)), binding, format: 1, writtenAt: I.writtenAt },
      { name: 'record-other-subject', kind: 'record', description: 'an intact face record copied to another subject', box: hex(faceBox), binding: otherBinding, format: 1, writtenAt: I.writtenAt },
      { name: 'record-other-written-at', kind: 'record', description: 'an intact face record whose written_at was changed by 1 ms (to dodge expiry)', box: hex(faceBox), binding, format: 1, writtenAt: I.writtenAt + 1 },
      { name: 'record-format-2-aad', kind: 'record', description: 'an intact face record opened with the AAD of format 2 (a format swap)', box: hex(faceBox), binding, format: 1, aadFormat: 2, writtenAt: I.writtenAt },
      {
        name: 'record-frame-version-2',
        kind: 'record',
        description: 'an authentic box (right key and AAD) whose plaintext frame has an unknown version byte (2)',
        box: hex(sealedBox(s, I.dek, I.nonces.badFrame, badVersionFrame, recordAad)),
        binding,
        format: 1,
        writtenAt: I.writtenAt,
      },
      {
        name: 'record-frame-truncated',
        kind: 'record',
        description: 'an authentic box whose plaintext frame is missing its last byte',
        box: hex(sealedBox(s, I.dek, I.nonces.badFrame, truncatedFrame, recordAad)),
        binding,
        format: 1,
        writtenAt: I.writtenAt,
      },
    ],
  };

  return {
    'canonical.json': canonicalFile,
    'subject-tag.json': subjectTagFile,
    'sealed-boxes.json': sealedFile,
    'tampered.json': tamperedFile,
  };
}

/** The JSON text written for one file (stable formatting, trailing newline). */
export function renderVectorFile(content: unknown): string {
  return `${JSON.stringify(content, null, 2)}\n`;
}

async function main(): Promise<void> {
  await libsodium.ready;
  const outDir = resolve(process.argv[2] ?? fileURLToPath(new URL('.', import.meta.url)));
  mkdirSync(outDir, { recursive: true });
  for (const [name, content] of Object.entries(buildVectors(libsodium))) {
    writeFileSync(join(outDir, name), renderVectorFile(content));
    console.log(`wrote ${join(outDir, name)}`);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await main();
}
