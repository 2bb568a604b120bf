/**
 * Subject tags: the vault stores a child's id only as BLAKE2b-256 keyed with the vault's
 * subject-index key, so the file alone (or a stolen backup) does not say which accounts are
 * children, and rows are found by recomputing the tag.
 */
import { hashCanonical } from '../crypto/hash.js';
import type { SecretBytes } from '../crypto/secret-bytes.js';

export const SUBJECT_INDEX_KEY = 'subject-index';

export function subjectTag(indexKey: SecretBytes, subjectId: string): Uint8Array {
  return hashCanonical('subject-tag', [subjectId], indexKey);
}
