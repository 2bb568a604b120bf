/**
 * Data minimisation (PIPL art. 6): the vault computes the view a grant allows before a value
 * leaves it, so a caller never receives more than its role and purpose need.
 *
 * - `full`: the value as stored.
 * - `masked` (contact): phone keeps its country code and last 4 digits, e-mail its first letter
 *   and domain, address only its last part (the city, by convention) — or `***` when the address
 *   has no clear parts.
 * - `coarse` (location): latitude and longitude rounded to the policy's precision; accuracy
 *   widened to match; the time kept.
 * - `presence`: nothing but the fact that a value exists (the value is not even decrypted).
 */
import { VIEW_RANK, type View } from '../schema/policy.js';

const KM_PER_DEGREE = 111.32;

function maskPhone(phone: string): string {
  // E.164: "+" country code (1-3 digits) and subscriber number; keep the first 3 characters and last 4 digits.
  if (phone.length <= 7) return `${phone.slice(0, 1)}${'*'.repeat(Math.max(0, phone.length - 1))}`;
  return `${phone.slice(0, 3)}${'*'.repeat(phone.length - 7)}${phone.slice(-4)}`;
}

function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at < 1) return '***';
  return `${email.slice(0, 1)}***${email.slice(at)}`;
}

/**
 * The last part of an address when it clearly has parts (separated by , ， or 、) and the part is
 * short — by convention the city. Otherwise nothing: an address that cannot be reduced with
 * confidence (Chinese addresses often have no separator) is hidden, not shown whole.
 */
function reduceAddress(address: string): string {
  const parts = address.split(/[,，、]/).map((p) => p.trim()).filter((p) => p !== '');
  const last = parts[parts.length - 1];
  return parts.length >= 2 && last !== undefined && last.length <= 32 ? last : '***';
}

function roundTo(value: number, precision: number): number {
  return Number((Math.round(value / precision) * precision).toFixed(6));
}

/** Applies `view` to a decrypted value of `category`. `presence` is handled before decryption. */
export function applyView(category: string, view: Exclude<View, 'presence'>, value: unknown, coarsePrecisionDegrees: number): unknown {
  if (view === 'full' || typeof value !== 'object' || value === null) return value;
  const v = value as Record<string, unknown>;
  if (view === 'masked' && category === 'contact') {
    return {
      ...(typeof v['phone'] === 'string' ? { phone: maskPhone(v['phone']) } : {}),
      ...(typeof v['email'] === 'string' ? { email: maskEmail(v['email']) } : {}),
      ...(typeof v['address'] === 'string' ? { address: reduceAddress(v['address']) } : {}),
    };
  }
  if (view === 'coarse' && category === 'location') {
    const radiusM = Math.round((coarsePrecisionDegrees * KM_PER_DEGREE * 1000) / 2);
    return {
      lat: roundTo(v['lat'] as number, coarsePrecisionDegrees),
      lon: roundTo(v['lon'] as number, coarsePrecisionDegrees),
      accuracyM: Math.max(radiusM, typeof v['accuracyM'] === 'number' ? v['accuracyM'] : 0),
      capturedAt: v['capturedAt'],
    };
  }
  // The policy loader refuses masked/coarse on other categories; fail closed if one slips through.
  throw new Error(`view ${view} does not apply to ${category}`);
}

/** The views to serve when a caller asks for narrower ones than its grant: per category, the narrower. */
export function narrowViews(granted: ReadonlyMap<string, View>, asked: ReadonlyMap<string, View>): Map<string, View> {
  const served = new Map(granted);
  for (const [category, view] of asked) {
    const grant = served.get(category) ?? 'presence';
    if (VIEW_RANK[view] < VIEW_RANK[grant]) served.set(category, view);
  }
  return served;
}
