import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { hashCanonical } from '../../../src/crypto/hash.js';
import { loadSodium } from '../../../src/crypto/sodium.js';
import { SecretBytes } from '../../../src/crypto/secret-bytes.js';
import { blindDigest, blindEntries, BlindIndexMatcher, type DigestLookup } from '../../../src/guard/blind-index.js';
import type { IndexedField } from '../../../src/guard/leak-types.js';
import { testKey, testLookup, testMatcher, type StoredValues } from '../../helpers/leak-matcher.js';

const PHONE = '+8613800138000';
const EMAIL = 'xiaoming2015@qq.com';
const ADDRESS = '12 Main St., Apt 3';
const HAN_ADDRESS = '浙江省杭州市西湖区文三路100号';
const CANARY_PHONE = '+8613912345678';
const CANARY_EMAIL = 'canary.7f3a@example.org';
/** A "face photo": JPEG magic, then bytes (random: base64 of it uses the whole alphabet). */
const FACE = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, ...randomBytes(60)]);
const VOICE = new Uint8Array([...Buffer.from('OggS'), ...randomBytes(96)]);
const CANARY_FACE = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, ...randomBytes(60)]);

const FIELDS: readonly IndexedField[] = ['contact.phone', 'contact.email', 'contact.address', 'face.image', 'voice.audio'];
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

beforeAll(async () => {
  await loadSodium();
});

describe('blindEntries', () => {
  const key = testKey();
  const digestOf = (category: string, value: unknown): string[] => blindEntries(key, category, value).map((e) => `${e.field}:${hex(e.digest)}`);

  it.each([
    ['phone', ['+8613800138000', '+86 138 0013 8000', '+86-138-0013-8000', '(+86) 138 0013 8000', '0086 138 0013 8000', '13800138000', ' 138-0013-8000 ']],
    ['email', ['xiaoming2015@qq.com', 'XiaoMing2015@QQ.com', '  XIAOMING2015@QQ.COM ']],
    ['address', ['12 Main St., Apt 3', '12  main st apt 3', '１２ Ｍａｉｎ St, Apt #3', '12 MAIN ST. - APT. 3']],
  ])('gives every written form of one %s the same digest', (name, forms) => {
    const digests = forms.map((form) => digestOf('contact', { [name]: form }));
    expect(digests[0]).toHaveLength(1);
    expect(digests[0]![0]).toMatch(new RegExp(`^contact\\.${name}:[0-9a-f]{64}$`));
    for (const d of digests) expect(d).toEqual(digests[0]);
  });

  it('gives one entry per contact field, in order, and different values different digests', () => {
    const entries = blindEntries(key, 'contact', { phone: PHONE, email: EMAIL, address: ADDRESS });
    expect(entries.map((e) => e.field)).toEqual(['contact.phone', 'contact.email', 'contact.address']);
    for (const e of entries) expect(e.digest).toHaveLength(32);
    expect(digestOf('contact', { phone: '+8613800138001' })).not.toEqual(digestOf('contact', { phone: PHONE }));
    expect(digestOf('contact', { email: 'xiaoming2016@qq.com' })).not.toEqual(digestOf('contact', { email: EMAIL }));
  });

  it('indexes face images and voice clips as bytes', () => {
    expect(blindEntries(key, 'face', { image: FACE, capturedAt: 1 }).map((e) => e.field)).toEqual(['face.image']);
    expect(blindEntries(key, 'voice', { audio: VOICE }).map((e) => e.field)).toEqual(['voice.audio']);
  });

  it('separates fields: one string or one blob gives a different digest in each field', () => {
    const same = '12 main st apt 3';
    const digests = FIELDS.map((field) => hex(blindDigest(key, field, same)));
    expect(new Set(digests).size).toBe(FIELDS.length);
    const asFace = blindEntries(key, 'face', { image: FACE });
    const asVoice = blindEntries(key, 'voice', { audio: FACE });
    expect(hex(asFace[0]!.digest)).not.toBe(hex(asVoice[0]!.digest));
    // A string and its UTF-8 bytes are the same field input: the domain is the field, not the type.
    expect(hex(blindDigest(key, 'face.image', same))).toBe(hex(blindDigest(key, 'face.image', Buffer.from(same))));
  });

  it('is keyed: another key gives other digests', () => {
    const other = new SecretBytes(new Uint8Array(32).fill(10));
    expect(digestOf('contact', { phone: PHONE })).not.toEqual(blindEntries(other, 'contact', { phone: PHONE }).map((e) => `${e.field}:${hex(e.digest)}`));
  });

  it.each([
    ['location', { lat: 30.27, lon: 120.15 }],
    ['presence', { phone: PHONE }],
    ['unknown', { email: EMAIL, image: FACE }],
    ['contact', {}],
    ['contact', { phone: 13800138000, email: null, address: ['12 Main St'] }],
    ['contact', { phone: 'not a phone', email: 'not an e-mail', address: '--' }],
    ['face', { embedding: [0.1, 0.2] }],
    ['face', { image: Buffer.from(FACE).toString('base64') }],
    ['face', { audio: FACE }],
    ['voice', { image: VOICE }],
  ])('gives no entries for %s %j', (category, value) => {
    expect(blindEntries(key, category, value)).toEqual([]);
  });

  it('matches a known answer: keyed BLAKE2b of the canonical (field, normalised value)', () => {
    const [phone, email, address] = blindEntries(key, 'contact', { phone: '+86 138 0013 8000', email: 'XiaoMing2015@QQ.com', address: '１２ Ｍａｉｎ St., Apt #3' });
    expect(hex(phone!.digest)).toBe(hex(hashCanonical('blind-index', ['contact.phone', '+8613800138000'], key)));
    expect(hex(email!.digest)).toBe(hex(hashCanonical('blind-index', ['contact.email', 'xiaoming2015@qq.com'], key)));
    expect(hex(address!.digest)).toBe(hex(hashCanonical('blind-index', ['contact.address', '12 main st apt 3'], key)));
    expect(hex(blindEntries(key, 'face', { image: FACE })[0]!.digest)).toBe(hex(hashCanonical('blind-index', ['face.image', FACE], key)));
    expect(hex(blindEntries(key, 'voice', { audio: VOICE })[0]!.digest)).toBe(hex(hashCanonical('blind-index', ['voice.audio', VOICE], key)));
    // Pinned: a stored index must stay valid across releases.
    expect(hex(phone!.digest)).toBe('067e31c2d729ff63290464778c7e4a648d1faffa548cd9e69dda4acea91fc872');
  });
});

/** A matcher over `values` whose lookups are recorded, by field. */
function spied(values: StoredValues): { matcher: BlindIndexMatcher; lookups: IndexedField[] } {
  const key = testKey();
  const lookup = testLookup(key, values);
  const lookups: IndexedField[] = [];
  const spy: DigestLookup = (field, digest) => {
    lookups.push(field);
    return lookup(field, digest);
  };
  return { matcher: new BlindIndexMatcher(key, spy), lookups };
}

const STORED: StoredValues = {
  phones: [PHONE],
  emails: [EMAIL],
  addresses: [ADDRESS, HAN_ADDRESS],
  faces: [FACE],
  voices: [VOICE],
  canary: { phones: [CANARY_PHONE], emails: [CANARY_EMAIL], faces: [CANARY_FACE] },
};
const matcher = testMatcher(STORED);

const child = (field: IndexedField): unknown => ({ kind: 'subject-data', field });
const canary = (field: IndexedField): unknown => ({ kind: 'canary', field });

describe('BlindIndexMatcher.matchText', () => {
  it.each([PHONE, '+86 138 0013 8000', '13800138000', '0086-138-0013-8000', 'call me at +86 138 0013 8000 after school', '微信 13800138000 联系', 'tel:138.0013.8000;', 'a: 13800138000, b: 13700001111'])(
    'finds the phone in %j',
    (text) => {
      expect(matcher.matchText(text)).toEqual([child('contact.phone')]);
    },
  );

  it('reports a phone written twice in one string once, after one lookup', () => {
    const { matcher: m, lookups } = spied(STORED);
    expect(m.matchText('call +86 138 0013 8000 or 138-0013-8000')).toEqual([child('contact.phone')]);
    expect(lookups.filter((f) => f === 'contact.phone')).toHaveLength(1);
  });

  it.each([EMAIL, ' XiaoMing2015@QQ.com ', 'write to XIAOMING2015@qq.com.', 'from: "Ming" <xiaoming2015@qq.com>, cc: parent@example.com', 'mailto:xiaoming2015@qq.com?subject=hi'])(
    'finds the e-mail in %j',
    (text) => {
      expect(matcher.matchText(text)).toEqual([child('contact.email')]);
    },
  );

  it.each([ADDRESS, '12 main st apt 3', '１２ Ｍａｉｎ St, Apt #3', '  12 MAIN ST. APT. 3 ', HAN_ADDRESS])('finds the whole-string address %j', (text) => {
    expect(matcher.matchText(text)).toEqual([child('contact.address')]);
  });

  it('finds several values in one string, each with its field', () => {
    expect(matcher.matchText(`Ming ${PHONE} ${EMAIL}`)).toEqual([child('contact.phone'), child('contact.email')]);
  });

  it('finds base64 and data: URLs of a stored face or voice clip', () => {
    const b64 = Buffer.from(FACE).toString('base64');
    expect(b64.length).toBeGreaterThanOrEqual(64);
    expect(matcher.matchText(b64)).toEqual([child('face.image')]);
    expect(matcher.matchText(`  ${b64}\n`)).toEqual([child('face.image')]);
    expect(matcher.matchText(b64.replace(/=+$/, ''))).toEqual([child('face.image')]);
    expect(matcher.matchText(`data:image/jpeg;base64,${b64}`)).toEqual([child('face.image')]);
    expect(matcher.matchText(`data:audio/ogg;base64,${Buffer.from(VOICE).toString('base64')}`)).toEqual([child('voice.audio')]);
  });

  it('matches a blob by the category it was stored under, and under both when stored as both', () => {
    expect(matcher.matchBytes(FACE)).toEqual([child('face.image')]);
    expect(matcher.matchBytes(VOICE)).toEqual([child('voice.audio')]);
    const both = testMatcher({ faces: [FACE], voices: [FACE] });
    expect(both.matchBytes(FACE)).toEqual([child('face.image'), child('voice.audio')]);
    expect(both.matchBytes(FACE.subarray(1))).toEqual([]);
  });

  it('reports canaries as canaries', () => {
    expect(matcher.matchText('+86 139 1234 5678')).toEqual([canary('contact.phone')]);
    expect(matcher.matchText(`ping ${CANARY_EMAIL.toUpperCase()}`)).toEqual([canary('contact.email')]);
    expect(matcher.matchText(Buffer.from(CANARY_FACE).toString('base64'))).toEqual([canary('face.image')]);
    expect(matcher.matchBytes(CANARY_FACE)).toEqual([canary('face.image')]);
    expect(matcher.matchText(`${CANARY_PHONE} and ${PHONE}`)).toEqual(expect.arrayContaining([canary('contact.phone'), child('contact.phone')]));
  });

  it.each([
    '+8613700001111',
    'parent.wang@example.com',
    '12 Main St., Apt 4',
    'I live at 12 Main St., Apt 3 now', // an address is matched as a whole value only
    '2024-05-01T10:30:00.000Z',
    '550e8400-e29b-41d4-a716-446655440000',
    'version 1.2.3',
    'paid ¥12.50 on 2024-05-01',
    'icon@2x.png',
    Buffer.from(FACE.subarray(1)).toString('base64'),
    '',
  ])("finds nothing in %j (adults' values and ordinary text)", (text) => {
    expect(matcher.matchText(text)).toEqual([]);
  });

  it.each(['ok', '2024', 'B12', '2026-11-28T02:00:00.000Z', 'hello', 'v1.2.3', 'node@20', 'Main Street', '文三路', '1717171717171'])(
    'makes no address lookup for %j',
    (text) => {
      const { matcher: m, lookups } = spied(STORED);
      expect(m.matchText(text)).toEqual([]);
      expect(lookups.filter((f) => f === 'contact.address')).toEqual([]);
    },
  );

  it.each(['ok', '2024', 'B12', 'hello world', '2026-11-28T02:00:00.000Z', 'x'.repeat(63), 'hello world, '.repeat(20)])('makes no lookup at all for %j', (text) => {
    const { matcher: m, lookups } = spied(STORED);
    m.matchText(text);
    expect(lookups).toEqual([]);
  });

  it('looks up short blobs not at all, and base64 only from 64 characters (48 bytes) on', () => {
    const { matcher: m, lookups } = spied({ faces: [FACE.subarray(0, 15), FACE.subarray(0, 48)] });
    expect(m.matchBytes(FACE.subarray(0, 15))).toEqual([]);
    expect(lookups).toEqual([]);
    expect(m.matchText(Buffer.from(FACE.subarray(0, 48)).toString('base64'))).toEqual([child('face.image')]);
    expect(m.matchBytes(FACE.subarray(0, 48))).toEqual([child('face.image')]);
  });
});

// V8's regexp backtracking stack overflowed on ~5.6 million characters (address and base64
// checks); matchText must answer for any length the scanner hands it (pieces up to 16 MiB).
describe('BlindIndexMatcher.matchText on long strings', () => {
  it('answers for a 6-million-character log text (no RangeError)', () => {
    expect(matcher.matchText(`${'row 1 ok; '.repeat(600_000)}${PHONE}`)).toEqual([child('contact.phone')]);
  });

  it('finds base64 of a stored 4.5 MB face (no RangeError)', () => {
    const big = new Uint8Array(4_500_000).fill(0x5a);
    big.set(FACE);
    expect(testMatcher({ faces: [big] }).matchText(Buffer.from(big).toString('base64'))).toEqual([child('face.image')]);
  });

  it('looks up Han addresses without Arabic numerals, and not ordinary Chinese sentences', () => {
    const lookups: string[] = [];
    const spy = new BlindIndexMatcher(testKey(), (field) => {
      lookups.push(field);
      return undefined;
    });
    spy.matchText('北京市海淀区中关村大街');
    expect(lookups).toEqual(['contact.address']);
    lookups.length = 0;
    spy.matchText('今天天气很好');
    expect(lookups).toEqual([]);
  });
});
