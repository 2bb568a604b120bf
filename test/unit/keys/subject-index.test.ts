import { beforeAll, describe, expect, it } from 'vitest';
import { blake2bKeyed } from '../../../src/crypto/hash.js';
import { SecretBytes } from '../../../src/crypto/secret-bytes.js';
import { loadSodium } from '../../../src/crypto/sodium.js';
import { encodeCanonical } from '../../../src/format/canonical.js';
import { subjectTag } from '../../../src/keys/subject-index.js';
import { hex } from '../../helpers/unit-bytes.js';

function indexKey(fill: number): SecretBytes {
  return new SecretBytes(new Uint8Array(32).fill(fill));
}

beforeAll(async () => {
  await loadSodium();
});

describe('subjectTag', () => {
  it('is the keyed BLAKE2b-256 of the canonical "subject-tag" encoding of the id', () => {
    const key = indexKey(1);
    const tag = subjectTag(key, 'u:1001');
    expect(tag.length).toBe(32);
    expect(hex(tag)).toBe(hex(blake2bKeyed(key, encodeCanonical('subject-tag', ['u:1001']))));
  });

  it('is stable for one key and id, and differs across ids and keys', () => {
    expect(hex(subjectTag(indexKey(1), 'u:1001'))).toBe(hex(subjectTag(indexKey(1), 'u:1001')));
    expect(hex(subjectTag(indexKey(1), 'u:1001'))).not.toBe(hex(subjectTag(indexKey(1), 'u:1002')));
    expect(hex(subjectTag(indexKey(1), 'u:1001'))).not.toBe(hex(subjectTag(indexKey(2), 'u:1001')));
  });

  it('does not contain the id', () => {
    const tag = subjectTag(indexKey(1), 'u:1001');
    expect(Buffer.from(tag).includes(Buffer.from('1001'))).toBe(false);
  });
});
