/**
 * The access context every call carries: who (actor, role) does it and why (purpose), with the
 * officer approval it relies on and the caller's request id for correlation.
 */
import { z } from 'zod';
import { safe } from './zod-errors.js';

const NAME = /^[\p{L}\p{N}._:@/+-]+$/u;
const name = z.string().min(1).max(128).regex(NAME, safe('may hold letters, digits and . _ : @ / + - only'));

export const accessContextSchema = z.strictObject({
  actor: name,
  role: name,
  purpose: name,
  approval: z.string().min(1).max(64).regex(NAME, safe('may hold letters, digits and . _ : @ / + - only')).optional(),
  requestId: z.string().min(1).max(128).regex(/^[\x21-\x7e]+$/, safe('must be printable ASCII without spaces')).optional(),
});

/**
 * Who does an operation and why. Validated on every call; the access-control layer decides on it
 * and the audit log records it.
 */
export type AccessContext = z.input<typeof accessContextSchema>;
