/**
 * Blind indexes: keyed BLAKE2b-256 digests of the values that must not appear outside the vault —
 * contact fields (normalised) and face/voice blobs — so a guard or the scanner can recognise a
 * stored child's value without the vault keeping it in the clear. The key (vault key
 * "blind-index") is wrapped by the master key; each field is its own domain, so a phone number's
 * digest says nothing about an equal string stored as an address.
 */
import { hashCanonical } from '../crypto/hash.js';
import type { SecretBytes } from '../crypto/secret-bytes.js';
import type { IndexedField, LeakMatch, LeakMatcher } from './leak-types.js';
import { emailsIn, normalizeAddress, normalizeEmail, normalizePhone, phonesIn } from './text-candidates.js';

export const BLIND_INDEX_KEY = 'blind-index';

export interface BlindEntry {
  readonly field: IndexedField;
  readonly digest: Uint8Array;
}

/** What the index knows of a digest: whether it is a canary's. */
export type DigestLookup = (field: IndexedField, digest: Uint8Array) => { readonly canary: boolean } | undefined;

export function blindDigest(key: SecretBytes, field: IndexedField, normalized: string | Uint8Array): Uint8Array {
  return hashCanonical('blind-index', [field, normalized], key);
}

/** The index entries of a (validated) value of a built-in category; none for other categories. */
export function blindEntries(key: SecretBytes, category: string, value: unknown): BlindEntry[] {
  const v = value as Record<string, unknown>;
  const out: BlindEntry[] = [];
  const add = (field: IndexedField, normalized: string | Uint8Array | undefined): void => {
    if (normalized !== undefined) out.push({ field, digest: blindDigest(key, field, normalized) });
  };
  if (category === 'contact') {
    if (typeof v['phone'] === 'string') add('contact.phone', normalizePhone(v['phone']));
    if (typeof v['email'] === 'string') add('contact.email', normalizeEmail(v['email']));
    if (typeof v['address'] === 'string') add('contact.address', normalizeAddress(v['address']));
  } else if (category === 'face' && v['image'] instanceof Uint8Array) {
    add('face.image', v['image']);
  } else if (category === 'voice' && v['audio'] instanceof Uint8Array) {
    add('voice.audio', v['audio']);
  }
  return out;
}

const NON_ASCII = /[\u0080-\uffff]/;
/** A timestamp (`2026-11-28T02:00:00.000Z`): the commonest digit-heavy string a service writes, and no phone. */
const ISO_TIME = /^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:\.\d{1,9})?)?(?:Z|[+-]\d\d:?\d\d)?$/;
/** NFKC of longer text would copy megabytes per call; such text is matched as it is. */
const MAX_NORMALIZE = 64 * 1024;
/** normalizeAddress refuses longer text: no stored address can match it. */
const MAX_ADDRESS_TEXT = 2000;
/**
 * Worth an address lookup: letters and a number (the street number) with words apart or in Han
 * script ("No. 1 Test Road", "文三路12号"), or Han text with an address word ("中关村大街").
 * "ok", "2024", "B12" and ISO timestamps are not.
 */
const ADDRESS_LIKE = /^(?=.*\p{N})(?=.*\p{L})(?=.*(?:\s|\p{Script=Han})).{6,}$/su;
const HAN_ADDRESS = /[省市区县镇乡村路街道巷弄号楼幢室]/u;
/** A data: URL's prefix, before its base64 body. */
const DATA_URL = /^data:[\w/+.-]{1,100};base64,/;
/** Base64 shorter than this is no photo or clip (48 bytes). */
const MIN_BASE64 = 64;

/** The base64 body of `text` (bare, or a data: URL), if it is one; checked by a loop, not a regex, since it may be 90 MB. */
function base64Body(text: string): string | undefined {
  const trimmed = text.trim();
  const start = trimmed.startsWith('data:') ? (DATA_URL.exec(trimmed.slice(0, 120))?.[0].length ?? -1) : 0;
  if (start < 0 || trimmed.length - start < MIN_BASE64) return undefined;
  let end = trimmed.length;
  if (trimmed.charCodeAt(end - 1) === 61) end--; // '='
  if (trimmed.charCodeAt(end - 1) === 61) end--;
  for (let i = start; i < end; i++) {
    const c = trimmed.charCodeAt(i);
    const ok = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47;
    if (!ok) return undefined;
  }
  return trimmed.slice(start);
}

function addressLike(text: string): boolean {
  if (text.length > MAX_ADDRESS_TEXT) return false;
  return ADDRESS_LIKE.test(text) || (text.length >= 4 && HAN_ADDRESS.test(text) && /\p{Script=Han}{2}/u.test(text));
}

/** Smallest blob worth a lookup (the built-in schemas accept 1 byte, but no photo is that small). */
const MIN_BLOB = 16;

/** Recognises stored children's values (and canaries) in strings and bytes, through `lookup`. */
export class BlindIndexMatcher implements LeakMatcher {
  readonly #key: SecretBytes;
  readonly #lookup: DigestLookup;

  constructor(key: SecretBytes, lookup: DigestLookup) {
    this.#key = key;
    this.#lookup = lookup;
  }

  matchText(raw: string): LeakMatch[] {
    const out: LeakMatch[] = [];
    // Full-width digits and ＠ (how Chinese input methods type them) become ASCII.
    const text = NON_ASCII.test(raw) && raw.length <= MAX_NORMALIZE ? raw.normalize('NFKC') : raw;
    // The cheap exits first: most strings a service writes hold no phone, no @, no address.
    // phonesIn finds a whole-string number too, each number once, and exits early on < 7 digits.
    if (!ISO_TIME.test(text)) for (const phone of phonesIn(text)) this.#check('contact.phone', phone, out);
    if (text.includes('@')) {
      const emails = new Set(emailsIn(text));
      const email = normalizeEmail(text);
      if (email !== undefined) emails.add(email);
      for (const e of emails) this.#check('contact.email', e, out);
    }
    if (addressLike(text)) {
      const address = normalizeAddress(text);
      if (address !== undefined) this.#check('contact.address', address, out);
    }
    const base64 = text.length >= MIN_BASE64 ? base64Body(text) : undefined;
    if (base64 !== undefined) out.push(...this.matchBytes(Buffer.from(base64, 'base64')));
    return out;
  }

  matchBytes(bytes: Uint8Array): LeakMatch[] {
    if (bytes.length < MIN_BLOB) return [];
    const out: LeakMatch[] = [];
    this.#check('face.image', bytes, out);
    this.#check('voice.audio', bytes, out);
    return out;
  }

  #check(field: IndexedField, normalized: string | Uint8Array, out: LeakMatch[]): void {
    const hit = this.#lookup(field, blindDigest(this.#key, field, normalized));
    if (hit !== undefined) out.push({ kind: hit.canary ? 'canary' : 'subject-data', field });
  }
}
