/**
 * Normalisation of contact values and the extraction of phone numbers and e-mail addresses from
 * free text. The blind index stores digests of normalised values, so a value written elsewhere
 * matches whatever its spacing, case or punctuation.
 */
import { E164_PATTERN } from '../schema/categories.js';

/**
 * Phone-like runs: an optional +, then 7–15 digits with spaces, dots, dashes or parentheses
 * between; glued to letters is fine (`user13800138000`), glued to more digits is not.
 */
const PHONE_RUN = /(?<![\d+])\+?\(?\d[\d\s().-]{5,22}\d(?![\d@])/g;
const EMAIL = /[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}/g;
/** Mainland China mobile numbers written without the country code (the case's jurisdiction). */
const CN_MOBILE = /^1[3-9]\d{9}$/;
/** The same with the country code but no plus. */
const CN_MOBILE_86 = /^861[3-9]\d{9}$/;

/**
 * The E.164 form of a phone number written with separators, or with a leading 00, or as a
 * Chinese mobile number without +86; undefined if it is not one.
 */
export function normalizePhone(text: string): string | undefined {
  const trimmed = text.trim();
  let digits = trimmed.replace(/[\s().-]/g, '');
  if (digits.startsWith('00')) digits = `+${digits.slice(2)}`;
  if (CN_MOBILE.test(digits)) digits = `+86${digits}`;
  else if (CN_MOBILE_86.test(digits)) digits = `+${digits}`;
  return E164_PATTERN.test(digits) ? digits : undefined;
}

/** Lower-cased and trimmed; undefined unless it looks like exactly one address. */
export function normalizeEmail(text: string): string | undefined {
  const trimmed = text.trim().toLowerCase();
  if (trimmed.length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(trimmed)) return undefined;
  return trimmed;
}

/**
 * An address reduced to its words: Unicode-normalised (NFKC), lower-cased, punctuation dropped,
 * whitespace collapsed ("12 Main St., Apt 3" and "12 main st apt 3" agree). Undefined when nothing
 * of a plausible address remains.
 */
export function normalizeAddress(text: string): string | undefined {
  if (text.length > 2000) return undefined;
  const words = text.normalize('NFKC').toLowerCase().match(/[\p{L}\p{N}]+/gu);
  if (words === null) return undefined;
  const joined = words.join(' ');
  return joined.length >= 4 && joined.length <= 500 ? joined : undefined;
}

/** Fewer digits than the shortest E.164 number: the text holds no phone number. */
const MIN_PHONE_DIGITS = 7;

/** Whether `text` has enough digits to hold a phone number (a cheap exit before the regex). */
function mayHoldPhone(text: string): boolean {
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57 && ++digits >= MIN_PHONE_DIGITS) return true;
  }
  return false;
}

/**
 * A run that is no one number may be several side by side ("13800138000 13900139000") or one with
 * neighbours: from each group on, the longest stretch of up to five space-separated groups that is
 * a number ("+86 138 0013 8000", not its prefix "+86 138 0013").
 */
function phonesInRun(run: string): string[] {
  const groups = run.trim().split(/\s+/);
  if (groups.length < 2) return [];
  const out: string[] = [];
  for (let i = 0; i < groups.length; i++) {
    for (let j = Math.min(groups.length, i + 5); j > i; j--) {
      const phone = normalizePhone(groups.slice(i, j).join(' '));
      if (phone !== undefined) {
        out.push(phone);
        i = j - 1; // continue after this number
        break;
      }
    }
  }
  return out;
}

/** Every phone number (E.164) written in `text`, each once. */
export function phonesIn(text: string): string[] {
  if (!mayHoldPhone(text)) return [];
  const found = new Set<string>();
  for (const m of text.matchAll(PHONE_RUN)) {
    const phone = normalizePhone(m[0]);
    if (phone !== undefined) found.add(phone);
    else for (const p of phonesInRun(m[0])) found.add(p);
  }
  return [...found];
}

/**
 * File extensions that are not top-level domains: "icon@2x.png" is a retina image name, not an
 * address. (.zip and .mov are real TLDs, so they are not here.)
 */
const FILE_EXTENSION = /\.(?:png|jpe?g|gif|webp|svg|bmp|ico|avif|heic|tiff?|mp3|mp4|m4a|wav|ogg|webm|pdf|txt|json|ya?ml|html?|css|scss|less|m?js|cjs|jsx|tsx?|map)$/i;

/** Every e-mail address (lower-cased) written in `text`, each once. */
export function emailsIn(text: string): string[] {
  if (!text.includes('@')) return [];
  const found = new Set<string>();
  for (const m of text.matchAll(EMAIL)) if (!FILE_EXTENSION.test(m[0])) found.add(m[0].toLowerCase());
  return [...found];
}
