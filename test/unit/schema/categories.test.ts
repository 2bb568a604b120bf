import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { z as reexportedZ } from '../../../src/index.js';
import {
  E164_PATTERN,
  MAX_BLOB_BYTES,
  MAX_RETENTION_DAYS,
  builtInCategories,
  contactSchema,
  faceSchema,
  locationSchema,
  resolveCategories,
  voiceSchema,
} from '../../../src/schema/categories.js';
import { parseOrThrow } from '../../../src/schema/zod-errors.js';
import { expectVaultError } from '../../helpers/unit-errors.js';

const CAPTURED = '2024-05-01T08:00:00+08:00';
const PLANTED = 'kid-planted-value-5f1e';

function refuse(schema: z.ZodType, input: unknown, prefix = 'values.x') {
  return expectVaultError(() => parseOrThrow(schema, input, prefix), 'VALIDATION');
}

describe('locationSchema', () => {
  it('accepts a position inside the ranges, with or without accuracy', () => {
    expect(parseOrThrow(locationSchema, { lat: 30.27, lon: 120.15, capturedAt: CAPTURED }, 'l')).toEqual({ lat: 30.27, lon: 120.15, capturedAt: CAPTURED });
    expect(parseOrThrow(locationSchema, { lat: -90, lon: 180, accuracyM: 0, capturedAt: '2024-05-01T00:00:00Z' }, 'l').lat).toBe(-90);
    // A Date is taken as well, and stored as its ISO text; an invalid one is refused.
    expect(parseOrThrow(locationSchema, { lat: 30.27, lon: 120.15, capturedAt: new Date(CAPTURED) }, 'l').capturedAt).toBe(new Date(CAPTURED).toISOString());
    expect(parseOrThrow(faceSchema, { embedding: [0.1], capturedAt: new Date(CAPTURED) }, 'f').capturedAt).toBe(new Date(CAPTURED).toISOString());
    expectVaultError(() => parseOrThrow(locationSchema, { lat: 30.27, lon: 120.15, capturedAt: new Date('not a time') }, 'l'), 'VALIDATION');
  });

  it.each([
    ['lat 91', { lat: 91, lon: 0, capturedAt: CAPTURED }, 'values.location.lat', 'must be at most 90'],
    ['lat -90.5', { lat: -90.5, lon: 0, capturedAt: CAPTURED }, 'values.location.lat', 'must be at least -90'],
    ['lon -181', { lat: 0, lon: -181, capturedAt: CAPTURED }, 'values.location.lon', 'must be at least -180'],
    ['lon 180.01', { lat: 0, lon: 180.01, capturedAt: CAPTURED }, 'values.location.lon', 'must be at most 180'],
    ['lat NaN', { lat: Number.NaN, lon: 0, capturedAt: CAPTURED }, 'values.location.lat', 'expected number'],
    ['lon Infinity', { lat: 0, lon: Number.POSITIVE_INFINITY, capturedAt: CAPTURED }, 'values.location.lon', 'expected number'],
    ['a negative accuracy', { lat: 0, lon: 0, accuracyM: -1, capturedAt: CAPTURED }, 'values.location.accuracyM', 'must be at least 0'],
    ['a missing capturedAt', { lat: 0, lon: 0 }, 'values.location.capturedAt', 'must be an ISO 8601 time with Z or an offset (2026-11-01T08:00:00Z), or a valid Date'],
    ['a capturedAt that is not ISO 8601', { lat: 0, lon: 0, capturedAt: 'yesterday' }, 'values.location.capturedAt', 'is not a valid datetime'],
    ['an unknown field', { lat: 0, lon: 0, capturedAt: CAPTURED, speed: 3 }, 'values.location', 'has unknown field(s) speed'],
  ])('refuses %s, naming the field', (_what, input, field, rule) => {
    const error = refuse(locationSchema, input, 'values.location');
    expect(error.field).toBe(field);
    expect(error.message).toContain(`${field} ${rule}`);
  });

  it('never echoes the coordinates it refuses', () => {
    const error = refuse(locationSchema, { lat: 91.123456, lon: -181.654321, capturedAt: PLANTED });
    expect(error.message).not.toContain('91.123456');
    expect(error.message).not.toContain('181.654321');
    expect(error.message).not.toContain(PLANTED);
  });
});

describe('contactSchema', () => {
  it('accepts an E.164 phone, an e-mail or an address', () => {
    expect(parseOrThrow(contactSchema, { phone: '+8613800138000' }, 'c')).toEqual({ phone: '+8613800138000' });
    expect(parseOrThrow(contactSchema, { email: 'guardian@example.com' }, 'c')).toEqual({ email: 'guardian@example.com' });
    expect(parseOrThrow(contactSchema, { address: '1 West Lake Rd' }, 'c')).toEqual({ address: '1 West Lake Rd' });
  });

  it.each(['13800138000', '+0861380013800', '+86 138 0013 8000', '+12345', '+1234567890123456', '+86-138-0013-8000'])(
    'refuses the non-E.164 phone %s without echoing it',
    (phone) => {
      expect(E164_PATTERN.test(phone)).toBe(false);
      const error = refuse(contactSchema, { phone }, 'values.contact');
      expect(error.field).toBe('values.contact.phone');
      expect(error.message).toBe('values.contact.phone must be an E.164 number such as +8613800000000');
      expect(error.message).not.toContain(phone);
      expect(error.message).not.toContain(phone.replace(/\D/g, ''));
    },
  );

  it.each(['not-an-email', 'kid@', '@example.com', 'kid @example.com'])('refuses the e-mail %s without echoing it', (email) => {
    const error = refuse(contactSchema, { email }, 'values.contact');
    expect(error.field).toBe('values.contact.email');
    expect(error.message).toContain('values.contact.email is not a valid email');
    expect(error.message).not.toContain(email);
  });

  it('refuses an empty contact with the rule that one field is needed', () => {
    const error = refuse(contactSchema, {}, 'values.contact');
    expect(error.message).toBe('values.contact needs a phone, an email or an address');
  });

  it('refuses an empty or over-long address', () => {
    expect(refuse(contactSchema, { address: '' }, 'c').message).toContain('c.address must be at least 1 characters');
    expect(refuse(contactSchema, { address: 'x'.repeat(501) }, 'c').message).toContain('c.address must be at most 500 characters');
  });
});

describe('faceSchema and voiceSchema', () => {
  it('accept an image or an embedding, and audio or a voiceprint', () => {
    expect(parseOrThrow(faceSchema, { image: Uint8Array.of(1) }, 'f').image).toEqual(Uint8Array.of(1));
    expect(parseOrThrow(faceSchema, { embedding: [0.1, 0.2], capturedAt: CAPTURED }, 'f').embedding).toEqual([0.1, 0.2]);
    expect(parseOrThrow(voiceSchema, { audio: Uint8Array.of(1) }, 'v').audio).toEqual(Uint8Array.of(1));
    expect(parseOrThrow(voiceSchema, { voiceprint: [1] }, 'v').voiceprint).toEqual([1]);
  });

  it('refuse an empty face and an empty voice with the rule that explains what is needed', () => {
    expect(refuse(faceSchema, {}, 'values.face').message).toBe('values.face needs an image or an embedding');
    expect(refuse(voiceSchema, { capturedAt: CAPTURED }, 'values.voice').message).toBe('values.voice needs audio or a voiceprint');
  });

  it('refuse an empty image and an image that is not a Uint8Array', () => {
    expect(refuse(faceSchema, { image: new Uint8Array(0) }, 'f').message).toBe('f.image must be 1 byte to 64 MiB');
    expect(refuse(faceSchema, { image: [1, 2, 3] }, 'f').message).toBe('f.image must be a Uint8Array');
    expect(refuse(voiceSchema, { audio: PLANTED }, 'v').message).not.toContain(PLANTED);
  });

  it('refuse an empty embedding and one longer than 4096 numbers', () => {
    expect(refuse(faceSchema, { embedding: [] }, 'f').message).toContain('f.embedding must be at least 1 items');
    expect(refuse(faceSchema, { embedding: new Array<number>(4097).fill(0) }, 'f').message).toContain('f.embedding must be at most 4096 items');
  });

  it('accept an image of exactly 64 MiB and refuse one byte more', () => {
    expect(MAX_BLOB_BYTES).toBe(64 * 1024 * 1024);
    const big = new Uint8Array(MAX_BLOB_BYTES + 1);
    expect(refuse(faceSchema, { image: big }, 'f').message).toBe('f.image must be 1 byte to 64 MiB');
    expect(parseOrThrow(faceSchema, { image: big.subarray(0, MAX_BLOB_BYTES) }, 'f').image?.length).toBe(MAX_BLOB_BYTES);
  });
});

describe('resolveCategories', () => {
  const extra = { school: { schema: z.object({ name: z.string() }), retentionDays: 90 } };

  it('returns the built-in categories when given none', () => {
    expect(Object.keys(resolveCategories(undefined))).toEqual(['face', 'voice', 'location', 'contact']);
    expect(resolveCategories({})).toEqual(builtInCategories);
  });

  it('adds valid extra categories after the built-in ones', () => {
    const merged = resolveCategories(extra);
    expect(Object.keys(merged)).toEqual(['face', 'voice', 'location', 'contact', 'school']);
    expect(merged.school.retentionDays).toBe(90);
  });

  it('gives every built-in category a finite retention', () => {
    for (const def of Object.values(builtInCategories)) {
      expect(Number.isInteger(def.retentionDays)).toBe(true);
      expect(def.retentionDays).toBeGreaterThan(0);
      expect(def.retentionDays).toBeLessThanOrEqual(MAX_RETENTION_DAYS);
    }
  });

  it.each(['School', '1st', '_x', 'with-dash', 'a'.repeat(33), '', 'naïve'])('refuses the category name %j', (name) => {
    const error = expectVaultError(() => resolveCategories({ [name]: { schema: z.string(), retentionDays: 1 } }), 'VALIDATION');
    expect(error.field).toBe(`categories.${name}`);
    expect(error.message).toContain('category names are 1-32 characters');
  });

  it.each(['face', 'voice', 'location', 'contact'])('refuses to redefine the built-in category %s', (name) => {
    const error = expectVaultError(() => resolveCategories({ [name]: { schema: z.string(), retentionDays: 1 } }), 'VALIDATION');
    expect(error.message).toBe(`categories.${name}: cannot redefine a built-in category`);
  });

  it.each([
    ['infinite', Number.POSITIVE_INFINITY],
    ['zero', 0],
    ['negative', -1],
    ['fractional', 1.5],
    ['NaN', Number.NaN],
    ['over ten years', MAX_RETENTION_DAYS + 1],
  ])('refuses a %s retention', (_what, retentionDays) => {
    const error = expectVaultError(() => resolveCategories({ school: { schema: z.string(), retentionDays } }), 'VALIDATION');
    expect(error.field).toBe('categories.school.retentionDays');
    expect(error.message).toContain('retention must be finite');
  });

  it('accepts the longest retention, ten years', () => {
    expect(resolveCategories({ school: { schema: z.string(), retentionDays: MAX_RETENTION_DAYS } }).school.retentionDays).toBe(3653);
  });

  it.each([
    ['no schema', { retentionDays: 1 }],
    ['a schema that is not zod', { schema: { parse: () => 1 }, retentionDays: 1 }],
    ['null', null],
  ])('refuses a definition with %s', (_what, def) => {
    const error = expectVaultError(() => resolveCategories({ school: def } as never), 'VALIDATION');
    expect(error.field).toBe('categories.school.schema');
  });

  it('names a zod 3 schema as such, and refuses what is no schema', () => {
    // The shape of a zod 3 schema: `_def`, no `_zod` (zod 3's API differs, so it cannot be used).
    const zod3 = { _def: { typeName: 'ZodString' }, parse: () => '', safeParse: () => ({ success: true }) };
    const error = expectVaultError(() => resolveCategories({ school: { schema: zod3 as never, retentionDays: 1 } }), 'VALIDATION');
    expect(error.field).toBe('categories.school.schema');
    expect(error.message).toContain("is a zod 3 schema; childvault needs zod 4 (^4.0.0): use import { z } from 'childvault'");
    for (const schema of [null, 'z.string()', { safeParse: () => ({ success: true }) }]) {
      expect(expectVaultError(() => resolveCategories({ school: { schema: schema as never, retentionDays: 1 } }), 'VALIDATION').message).toContain('must be a zod schema');
    }
  });

  it('takes a schema built with the z the package re-exports', () => {
    const merged = resolveCategories({ school: { schema: reexportedZ.object({ name: reexportedZ.string() }), retentionDays: 30 } });
    expect(merged.school.schema.safeParse({ name: 'No. 2 Primary' }).success).toBe(true);
  });
});
