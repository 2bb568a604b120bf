import { describe, expect, it } from 'vitest';
import { bytePatterns, mediaKind, textPatterns } from '../../../src/guard/patterns.js';
import { emailsIn, normalizeAddress, normalizeEmail, normalizePhone, phonesIn } from '../../../src/guard/text-candidates.js';

const ascii = (text: string): number[] => Array.from({ length: text.length }, (_, i) => text.charCodeAt(i));
const bytes = (...parts: (number | string)[]): Uint8Array => new Uint8Array(parts.flatMap((p) => (typeof p === 'string' ? ascii(p) : [p])));
const patternsOf = (text: string): string[] => textPatterns(text).map((m) => (m.kind === 'pattern' ? m.pattern : m.kind));

/** Ordinary text that must not look like minor data. */
const ORDINARY = [
  '2024-05-01',
  'on 2024-05-01 at 10:30',
  '2024-05-01T10:30:00.000Z',
  '2024-05-01T10:30:00+08:00',
  '2024/05/01 12:00',
  '2024.05.01',
  'Fri, 01 May 2024 10:30:00 GMT',
  'Mon May 01 2024 10:30:00 GMT+0800 (China Standard Time)',
  'version 1.2.3',
  '1.0.0-beta.1',
  '10.0.19045.1234',
  'node@20.11.1',
  'price $1,234.56',
  '¥ 12,345.00',
  'total 1299.000, 15.500',
  '550e8400-e29b-41d4-a716-446655440000',
  'ISBN 978-3-16-148410-0',
  '192.168.1.100',
  'id 1234567',
  'order 20240501123456',
  'ts 1717171717171',
  'range 1000000-2000000',
  '(555) 123-4567',
  'card 4111 1111 1111 1111',
  'size 1920x1080',
  'rgba(12, 34, 56, 0.5)',
  'scores 0.912, 0.873',
  'matrix(1.000, 0.000, 0.000, 1.000)',
  'icon@2x.png',
  'see logo@3x.webp and bg@2x.jpg',
  'temp +20.5, +15 minutes, UTC+08:00',
  '',
];

describe('normalizePhone', () => {
  it.each([
    ['+8613800138000', '+8613800138000'],
    ['+86 138 0013 8000', '+8613800138000'],
    ['+86-138-0013-8000', '+8613800138000'],
    ['(+86) 138 0013 8000', '+8613800138000'],
    ['+86 (138) 0013.8000', '+8613800138000'],
    ['0086 138 0013 8000', '+8613800138000'],
    ['008613800138000', '+8613800138000'],
    ['13800138000', '+8613800138000'],
    ['138-0013-8000', '+8613800138000'],
    ['  +1 (415) 555-2671 ', '+14155552671'],
  ])('normalises %j to %s', (written, e164) => {
    expect(normalizePhone(written)).toBe(e164);
  });

  it.each(['12345', '2024-05-01', '1.2.3', '+0123456789', '12800138000', 'phone', '+86 138 0013 800a', ''])('rejects %j', (text) => {
    expect(normalizePhone(text)).toBeUndefined();
  });
});

describe('phonesIn', () => {
  it('finds numbers in free text, each once, in E.164', () => {
    expect(phonesIn('call me at +86 138 0013 8000 or 138-0013-8000, else +1 (415) 555-2671.')).toEqual(['+8613800138000', '+14155552671']);
    expect(phonesIn('微信 13800138000 联系')).toEqual(['+8613800138000']);
  });

  it('does not take a number out of a longer number, but does out of a word (an id like user13800138000)', () => {
    expect(phonesIn('213800138000 138001380001')).toEqual([]);
    expect(phonesIn('x13800138000 13800138000x')).toEqual(['+8613800138000']);
  });

  it('takes numbers written side by side apart', () => {
    expect(phonesIn('call 13800138000 13900139000 or +86 137 0013 7000')).toEqual(['+8613800138000', '+8613900139000', '+8613700137000']);
    expect(phonesIn('13800138000 +86 137 0013 7000')).toEqual(['+8613800138000', '+8613700137000']);
  });

  it.each(ORDINARY)('finds none in %j', (text) => {
    expect(phonesIn(text)).toEqual([]);
  });
});

describe('e-mail', () => {
  it('normalises case and blanks, and rejects non-addresses', () => {
    expect(normalizeEmail('  XiaoMing2015@QQ.Com ')).toBe('xiaoming2015@qq.com');
    expect(normalizeEmail('not an address')).toBeUndefined();
    expect(normalizeEmail('a@b')).toBeUndefined();
    expect(normalizeEmail('two@a.com three@b.com')).toBeUndefined();
  });

  it('finds addresses in free text, lower-cased, each once', () => {
    expect(emailsIn('mail Foo.Bar@Example.COM, foo.bar@example.com or x_y+tag@sub.mail.cn.')).toEqual(['foo.bar@example.com', 'x_y+tag@sub.mail.cn']);
  });

  it.each(ORDINARY)('finds none in %j', (text) => {
    expect(emailsIn(text)).toEqual([]);
  });
});

describe('normalizeAddress', () => {
  it('agrees whatever the case, punctuation, spacing and width', () => {
    const expected = '12 main st apt 3';
    expect(normalizeAddress('12 Main St., Apt 3')).toBe(expected);
    expect(normalizeAddress('  12  main st apt 3 ')).toBe(expected);
    expect(normalizeAddress('１２ Ｍａｉｎ St, Apt #3')).toBe(expected);
    expect(normalizeAddress('浙江省杭州市西湖区文三路100号')).toBe('浙江省杭州市西湖区文三路100号');
  });

  it('rejects what is too short, too long, or has no words', () => {
    expect(normalizeAddress('ab')).toBeUndefined();
    expect(normalizeAddress('---')).toBeUndefined();
    expect(normalizeAddress('a'.repeat(2001))).toBeUndefined();
  });
});

describe('textPatterns', () => {
  it('reports each pattern once', () => {
    expect(patternsOf('call +86 138 0013 8000 or 13900000000, mail a@b.cn, at 30.274085, 120.15507')).toEqual(['phone', 'email', 'coordinates']);
  });

  it.each(['30.274085, 120.15507', '-33.8688;151.2093', 'lat/lon 48.8584 2.2945', '[39.9042,116.4074]'])('finds coordinates in %j', (text) => {
    expect(patternsOf(text)).toEqual(['coordinates']);
  });

  it.each(['95.1234, 10.1234', '10.1234, 190.1234', '30.27, 120.15', '1.2.3.4, 5.6'])('rejects out-of-range or imprecise pairs %j', (text) => {
    expect(patternsOf(text)).toEqual([]);
  });

  it.each(ORDINARY)('finds no pattern in %j', (text) => {
    expect(patternsOf(text)).toEqual([]);
  });
});

describe('mediaKind and bytePatterns', () => {
  it.each([
    ['JPEG', bytes(0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 'JFIF'), 'image'],
    ['PNG', bytes(0x89, 'PNG', 0x0d, 0x0a, 0x1a, 0x0a), 'image'],
    ['GIF', bytes('GIF89a', 1, 0), 'image'],
    ['WebP', bytes('RIFF', 0, 0, 0, 0, 'WEBPVP8 '), 'image'],
    ['HEIC', bytes(0, 0, 0, 0x18, 'ftypheic'), 'image'],
    ['WAV', bytes('RIFF', 0x24, 0, 0, 0, 'WAVEfmt '), 'audio'],
    ['MP3 (ID3)', bytes('ID3', 4, 0, 0), 'audio'],
    ['MP3 (frame sync)', bytes(0xff, 0xfb, 0x90, 0x64), 'audio'],
    ['OGG', bytes('OggS', 0, 2), 'audio'],
    ['FLAC', bytes('fLaC', 0, 0, 0, 0x22), 'audio'],
    ['M4A', bytes(0, 0, 0, 0x20, 'ftypM4A '), 'audio'],
  ])('recognises %s', (_name, b, kind) => {
    expect(mediaKind(b)).toBe(kind);
    expect(bytePatterns(b)).toEqual([{ kind: 'pattern', pattern: kind }]);
  });

  it.each([
    ['empty', bytes()],
    ['too short', bytes(0xff, 0xd8)],
    ['text', bytes('hello world')],
    ['JSON', bytes('{"a":1}')],
    ['zeros', new Uint8Array(32)],
    ['RIFF of another kind', bytes('RIFF', 0, 0, 0, 0, 'AVI LIST')],
  ])('finds nothing in %s', (_name, b) => {
    expect(mediaKind(b)).toBeUndefined();
    expect(bytePatterns(b)).toEqual([]);
  });
});
