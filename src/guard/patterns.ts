/**
 * Opt-in pattern detectors: phone numbers, e-mail addresses, coordinate pairs, image and audio
 * bytes. They cannot tell a child's data from an adult's, so they warn; only blind-index and
 * canary matches refuse.
 */
import { emailsIn, phonesIn } from './text-candidates.js';
import type { LeakMatch, PatternName } from './leak-types.js';

/** "30.274085, 120.15507": two decimals with at least 3 places, within latitude/longitude range. */
const COORDINATE_PAIR = /(?<![\d.])(-?\d{1,2}\.\d{3,})[ \t]{0,3}[,;/ ][ \t]{0,3}(-?\d{1,3}\.\d{3,})(?![\d.])/g;

const pattern = (name: PatternName): LeakMatch => ({ kind: 'pattern', pattern: name });

/** A fraction of zeros only ("1.000"): a formatted round number, not a measured position. */
const ROUND = /\.0+$/;

function hasCoordinatePair(text: string): boolean {
  for (const m of text.matchAll(COORDINATE_PAIR)) {
    const [, latText = '', lonText = ''] = m;
    const lat = Number(latText);
    const lon = Number(lonText);
    if (Math.abs(lat) > 90 || Math.abs(lon) > 180) continue;
    // "0.912, 0.873" (scores, ratios) and "1.000, 0.000" (matrices) are not places.
    if ((Math.abs(lat) < 1 && Math.abs(lon) < 1) || ROUND.test(latText) || ROUND.test(lonText)) continue;
    return true;
  }
  return false;
}

/** Pattern matches in a string, each pattern at most once. */
export function textPatterns(text: string): LeakMatch[] {
  const out: LeakMatch[] = [];
  if (phonesIn(text).length > 0) out.push(pattern('phone'));
  if (emailsIn(text).length > 0) out.push(pattern('email'));
  if (hasCoordinatePair(text)) out.push(pattern('coordinates'));
  return out;
}

const startsWith = (b: Uint8Array, at: number, ascii: string): boolean => {
  if (b.length < at + ascii.length) return false;
  for (let i = 0; i < ascii.length; i++) if (b[at + i] !== ascii.charCodeAt(i)) return false;
  return true;
};

/** What the magic bytes at the start say the bytes are: an image, audio, or neither. */
export function mediaKind(b: Uint8Array): 'image' | 'audio' | undefined {
  if (b.length < 4) return undefined;
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image'; // JPEG
  if (startsWith(b, 0, '\x89PNG') || startsWith(b, 0, 'GIF8') || startsWith(b, 0, 'BM')) return 'image';
  if (startsWith(b, 0, 'RIFF') && startsWith(b, 8, 'WEBP')) return 'image';
  if (startsWith(b, 0, 'RIFF') && startsWith(b, 8, 'WAVE')) return 'audio';
  if (startsWith(b, 4, 'ftyp')) {
    if (startsWith(b, 8, 'heic') || startsWith(b, 8, 'heix') || startsWith(b, 8, 'mif1') || startsWith(b, 8, 'avif')) return 'image';
    if (startsWith(b, 8, 'M4A ') || startsWith(b, 8, '3gp')) return 'audio';
  }
  if (startsWith(b, 0, 'ID3') || startsWith(b, 0, 'OggS') || startsWith(b, 0, 'fLaC') || startsWith(b, 0, '#!AMR')) return 'audio';
  if (b[0] === 0xff && ((b[1] ?? 0) & 0xe0) === 0xe0) return 'audio'; // MPEG audio frame sync
  return undefined;
}

/** Pattern matches in raw bytes: image or audio magic numbers. */
export function bytePatterns(bytes: Uint8Array): LeakMatch[] {
  const kind = mediaKind(bytes);
  return kind === undefined ? [] : [pattern(kind)];
}
