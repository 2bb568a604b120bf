/**
 * Subject ids: opaque ids chosen by the service. An id that is itself personal data (a phone
 * number or e-mail address) is refused — it would sit in every caller's logs.
 */
import { z } from 'zod';
import { safe } from './zod-errors.js';

export const SUBJECT_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Seven or more digits and nothing else once separators are removed: the shape of a phone number
 * (7-15 digits), or of a national id number (a Chinese resident id is 17 digits and a digit or X,
 * and encodes the birth date).
 */
function looksLikePhoneOrIdNumber(id: string): boolean {
  const digits = id.replace(/[._:-]/g, '');
  return /^\d{7,}$/.test(digits) || /^\d{17}[Xx]$/.test(digits);
}

export const subjectIdSchema = z
  .string()
  .regex(SUBJECT_ID_PATTERN, safe('must be 1-128 characters of A-Z a-z 0-9 . _ : -'))
  .refine((id) => !looksLikePhoneOrIdNumber(id), safe('looks like a phone or ID number; use an opaque id (for example "u:" plus the account number)'));
