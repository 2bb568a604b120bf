/**
 * Categories: the typed sensitive fields the vault holds. The four built-in ones are the data the
 * court case names (face, voice, location, contact); services may add their own with a zod
 * schema. Every category has a finite retention.
 */
import { z } from 'zod';
import { VaultError } from '../errors.js';
import { safe } from './zod-errors.js';

export const MiB = 1024 * 1024;
export const DAY_MS = 86_400_000;
/** Largest image or audio blob the built-in categories accept. */
export const MAX_BLOB_BYTES = 64 * MiB;
/** Longest retention any category may declare (10 years). */
export const MAX_RETENTION_DAYS = 3653;

/** A category: its value schema and how long a value is kept after it is written. */
export interface CategoryDefinition<S extends z.ZodType = z.ZodType> {
  readonly schema: S;
  /** Days a value is kept after it is written; a positive whole number, at most 3653. */
  readonly retentionDays: number;
  /** One line for docs and `status`. */
  readonly description?: string;
}

export type CategoryMap = { readonly [name: string]: CategoryDefinition };

const bytes = (max: number) =>
  z.instanceof(Uint8Array, safe('must be a Uint8Array')).refine((b) => b.length > 0 && b.length <= max, safe(`must be 1 byte to ${max / MiB} MiB`));
/** An ISO 8601 time with Z or an offset, or a valid Date (stored as its ISO text, in UTC). */
const timestamp = z.union(
  [z.iso.datetime({ offset: true }), z.date().transform((d) => d.toISOString())],
  safe('must be an ISO 8601 time with Z or an offset (2026-11-01T08:00:00Z), or a valid Date'),
);
const vector = z.array(z.number()).min(1).max(4096);

export const faceSchema = z
  .strictObject({ image: bytes(MAX_BLOB_BYTES).optional(), embedding: vector.optional(), capturedAt: timestamp.optional() })
  .refine((v) => v.image !== undefined || v.embedding !== undefined, safe('needs an image or an embedding'));

export const voiceSchema = z
  .strictObject({ audio: bytes(MAX_BLOB_BYTES).optional(), voiceprint: vector.optional(), capturedAt: timestamp.optional() })
  .refine((v) => v.audio !== undefined || v.voiceprint !== undefined, safe('needs audio or a voiceprint'));

export const locationSchema = z.strictObject({
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
  accuracyM: z.number().min(0).max(1_000_000).optional(),
  capturedAt: timestamp,
});

/** E.164: a plus, a country code not starting with 0, up to 15 digits in all. */
export const E164_PATTERN = /^\+[1-9]\d{6,14}$/;

export const contactSchema = z
  .strictObject({
    phone: z.string().regex(E164_PATTERN, safe('must be an E.164 number such as +8613800000000')).optional(),
    email: z.email().max(254).optional(),
    address: z.string().min(1).max(500).optional(),
  })
  .refine((v) => v.phone !== undefined || v.email !== undefined || v.address !== undefined, safe('needs a phone, an email or an address'));

export type Face = z.output<typeof faceSchema>;
export type Voice = z.output<typeof voiceSchema>;
export type Location = z.output<typeof locationSchema>;
export type Contact = z.output<typeof contactSchema>;

/** The built-in categories with their default retention (a policy may shorten it). */
export const builtInCategories = {
  face: { schema: faceSchema, retentionDays: 365, description: 'face image and/or embedding' },
  voice: { schema: voiceSchema, retentionDays: 365, description: 'voice clip and/or voiceprint' },
  location: { schema: locationSchema, retentionDays: 30, description: 'precise geolocation' },
  contact: { schema: contactSchema, retentionDays: 365, description: 'phone, e-mail, postal address' },
} as const satisfies CategoryMap;

export type BuiltInCategories = typeof builtInCategories;

export const CATEGORY_NAME_PATTERN = /^[a-z][a-z0-9_]{0,31}$/;
/** A category name (whether the vault has that category is checked where it is used). */
export const categoryNameSchema = z.string().regex(CATEGORY_NAME_PATTERN, safe('is not a category name (a-z, 0-9, _)'));

/**
 * Why `schema` cannot define a category, or null. A zod 4 schema from any copy of zod 4 works
 * (checked by its shape, not `instanceof`, since a service may have its own copy); a zod 3 schema
 * is named as such, since its API differs. `import { z } from 'childvault'` gives the vault's own.
 */
function schemaProblem(schema: unknown): string | null {
  if (typeof schema !== 'object' || schema === null) return 'must be a zod schema';
  if (schema instanceof z.ZodType) return null;
  const parts = schema as { _zod?: unknown; _def?: unknown; safeParse?: unknown };
  if (typeof parts._zod === 'object' && parts._zod !== null && typeof parts.safeParse === 'function') return null;
  if (typeof parts._def === 'object' && parts._def !== null) return "is a zod 3 schema; childvault needs zod 4 (^4.0.0): use import { z } from 'childvault', or install zod@4";
  return 'must be a zod schema';
}

/**
 * Merges extra categories into the built-in ones, refusing bad names, overrides and retentions.
 * The result has no prototype: a category named `constructor` or `toString` is looked up as itself,
 * never as Object.prototype's function.
 */
export function resolveCategories<Extra extends CategoryMap>(extra: Extra | undefined): BuiltInCategories & Extra {
  const merged: Record<string, CategoryDefinition> = Object.assign(Object.create(null) as Record<string, CategoryDefinition>, builtInCategories);
  for (const [name, def] of Object.entries(extra ?? {})) {
    const field = `categories.${name}`;
    if (!CATEGORY_NAME_PATTERN.test(name)) {
      throw new VaultError('VALIDATION', `${field}: category names are 1-32 characters of a-z 0-9 _ starting with a letter`, { field });
    }
    if (Object.hasOwn(builtInCategories, name)) throw new VaultError('VALIDATION', `${field}: cannot redefine a built-in category`, { field });
    const problem = typeof def !== 'object' || def === null ? 'must be a zod schema' : schemaProblem(def.schema);
    if (problem !== null) throw new VaultError('VALIDATION', `${field}.schema: ${problem}`, { field: `${field}.schema` });
    if (!Number.isInteger(def.retentionDays) || def.retentionDays < 1 || def.retentionDays > MAX_RETENTION_DAYS) {
      throw new VaultError('VALIDATION', `${field}.retentionDays: must be a whole number of days from 1 to ${MAX_RETENTION_DAYS} (retention must be finite)`, { field: `${field}.retentionDays` });
    }
    merged[name] = def;
  }
  return merged as BuiltInCategories & Extra;
}
