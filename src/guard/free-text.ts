/**
 * Text the vault keeps forever — the audit log's actor, role, purpose and request id, an approval's
 * reason and staff actor — must never carry a child's contact: the log cannot be erased, so a
 * phone number written there would outlive the child's erasure. Names (and free text) are refused
 * when they hold a phone number or e-mail address at all; a request id (often a UUID, whose digit
 * groups can look like a number) when it is one as a whole; and any of them when it holds a stored
 * child's value or a canary (blind index).
 */
import { VaultError } from '../errors.js';
import type { LeakMatcher } from './leak-types.js';
import { emailsIn, normalizeEmail, normalizePhone, phonesIn } from './text-candidates.js';

/** How a field is checked: `name` and `text` anywhere in the text, `id` as a whole. */
export type FreeTextKind = 'name' | 'text' | 'id';

export interface FreeTextField {
  /** The field as the caller named it (`ctx.actor`, `approval.reason`). */
  readonly field: string;
  readonly value: string | undefined;
  readonly kind: FreeTextKind;
}

function contactShaped(value: string, kind: FreeTextKind): boolean {
  if (kind === 'id') return normalizePhone(value) !== undefined || normalizeEmail(value) !== undefined;
  return phonesIn(value).length > 0 || emailsIn(value).length > 0;
}

/** Refuses the first field that holds a contact: VALIDATION for its shape, PLAINTEXT_LEAK for a stored child's value. */
export function assertNoContactIn(fields: readonly FreeTextField[], matcher: LeakMatcher): void {
  for (const { field, value, kind } of fields) {
    if (value === undefined) continue;
    if (contactShaped(value, kind)) {
      throw new VaultError('VALIDATION', `${field}: looks like a phone number or e-mail address; it would stay in the audit log for good, so use an opaque id`, { field });
    }
    if (matcher.matchText(value).some((m) => m.kind === 'subject-data' || m.kind === 'canary')) {
      throw new VaultError('PLAINTEXT_LEAK', `${field}: holds a stored child's contact; it would stay in the audit log for good, so use an opaque id`, { field });
    }
  }
}
