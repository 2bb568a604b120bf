/**
 * Subject ids: opaque ids chosen by the service. An id that is itself personal data (a phone
 * number or e-mail address) is refused — it would sit in every caller's logs.
 */
import { z } from 'zod';
import { safe } from './zod-errors.js';

export const SUBJECT_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** Digits (7 to 15 once separators are removed) and nothing else: the shape of a phone number. */
function looksLikePhoneNumber(id: string): boolean {
  const digits = id.replace(/[.:-]/g, '');
  return /^\d{7,15}$/.test(digits);
}

export const subjectIdSchema = z
  .string()
  .regex(SUBJECT_ID_PATTERN, safe('must be 1-128 characters of A-Z a-z 0-9 . _ : -'))
  .refine((id) => !looksLikePhoneNumber(id), safe('looks like a phone number; use an opaque id (for example "u:" plus the account number)'));
