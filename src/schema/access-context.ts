/**
 * The access context every call carries: who (actor, role) does it and why (purpose), with the
 * officer approval it relies on and the caller's request id for correlation.
 */
import { z } from 'zod';
import { safe } from './zod-errors.js';

/**
 * Names of actors, roles and purposes: letters and digits first (so no exported CSV cell can start
 * a spreadsheet formula with = + - @), then letters, digits and . _ : @ / + -.
 */
const NAME = /^[\p{L}\p{N}][\p{L}\p{N}._:@/+-]*$/u;
export const nameSchema = z.string().min(1).max(128).regex(NAME, safe('must start with a letter or digit and hold letters, digits and . _ : @ / + - only'));

export const accessContextSchema = z.strictObject({
  actor: nameSchema,
  role: nameSchema,
  purpose: nameSchema,
  approval: z.string().min(1).max(64).regex(NAME, safe('must start with a letter or digit and hold letters, digits and . _ : @ / + - only')).optional(),
  requestId: z.string().min(1).max(128).regex(/^[A-Za-z0-9][\x21-\x7e]*$/, safe('must be printable ASCII without spaces, starting with a letter or digit')).optional(),
});

/**
 * Who does an operation and why. Validated on every call; the access-control layer decides on it
 * and the audit log records it.
 */
export type AccessContext = z.input<typeof accessContextSchema>;
