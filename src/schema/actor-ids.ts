/**
 * Ids of the actors on either side of an approval: the officers of the policy and the staff they
 * approve. An officer must not approve themself, and so must not approve an id that only looks
 * different — `Staff:cpo-li`, `staff:cpo-lі` (Cyrillic і), `staff:cpo-li.`, `staff:cpo-1i` — and
 * then read as it. So these ids use a narrow alphabet (lower-case ASCII letters and digits, single
 * separators between them: no case, script or trailing-punctuation variants exist), and two ids are
 * told apart by their confusable skeleton (UTS #39's idea, for this alphabet): ids whose skeletons
 * match are one actor.
 */
import { z } from 'zod';
import { safe } from './zod-errors.js';

const APPROVAL_ACTOR = /^[a-z0-9]+(?:[._:@/+-][a-z0-9]+)*$/;

export const approvalActorSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(APPROVAL_ACTOR, safe('must be lower-case a-z and 0-9, with single . _ : @ / + - between them (officers and approved staff use one spelling)'));

/** Single characters of this alphabet that look alike, mapped to one of them. */
const CONFUSABLE_CHARS: readonly [RegExp, string][] = [
  [/[1i]/g, 'l'],
  [/0/g, 'o'],
  [/5/g, 's'],
  [/[._:@/+-]/g, '-'],
];
/** Pairs that look like one letter (after the single characters are mapped: `c1` is `cl`). */
const CONFUSABLE_PAIRS: readonly [RegExp, string][] = [
  [/rn/g, 'm'],
  [/vv/g, 'w'],
  [/cl/g, 'd'],
];

/**
 * The id as it looks: two ids with the same skeleton name the same actor. Characters first, then
 * pairs, until nothing changes (a replaced pair can form another).
 */
export function actorSkeleton(id: string): string {
  let s = id.normalize('NFKC').toLowerCase();
  for (const [pattern, to] of CONFUSABLE_CHARS) s = s.replace(pattern, to);
  for (let before = ''; before !== s; ) {
    before = s;
    for (const [pattern, to] of CONFUSABLE_PAIRS) s = s.replace(pattern, to);
  }
  return s;
}
