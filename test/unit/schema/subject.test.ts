import { describe, expect, it } from 'vitest';
import { SUBJECT_ID_PATTERN, subjectIdSchema } from '../../../src/schema/subject.js';
import { parseOrThrow } from '../../../src/schema/zod-errors.js';
import { expectVaultError } from '../../helpers/unit-errors.js';

function refusal(id: unknown): string {
  const error = expectVaultError(() => parseOrThrow(subjectIdSchema, id, 'subject'), 'VALIDATION');
  expect(error.field).toBe('subject');
  if (typeof id === 'string' && id.length > 0) expect(error.message).not.toContain(id);
  return error.message;
}

describe('subjectIdSchema', () => {
  it.each(['u:1001', 'a', 'child-42', 'Tenant.A:user_7', 'x'.repeat(128), 'u:13800138000', 'acct:8613800138000', '123456', 'ab123456789'])(
    'accepts the opaque id %s',
    (id) => {
      expect(parseOrThrow(subjectIdSchema, id, 'subject')).toBe(id);
    },
  );

  it.each([
    ['empty', ''],
    ['too long (129 characters)', 'x'.repeat(129)],
    ['with a space', 'u 1001'],
    ['with a slash', 'u/1001'],
    ['with an @ (an e-mail)', 'kid@example.com'],
    ['with non-ASCII letters', 'ü:1001'],
    ['with a newline', 'u:1\n'],
    ['with a plus (an international number)', '+8613800138000'],
  ])('refuses an id %s', (_what, id) => {
    refusal(id);
  });

  it.each(['13800138000', '138-0013-8000', '138.0013.8000', '138:0013:8000', '1234567', '8613800138000', '123456789012345', '0-1-2-3-4-5-6'])(
    'refuses the phone-number-like id %s, saying why without echoing it',
    (id) => {
      const message = refusal(id);
      expect(message).toContain('looks like a phone or ID number');
    },
  );

  it.each([123, null, undefined, {}, ['u:1']])('refuses a non-string id (%s)', (id) => {
    const message = refusal(id);
    // A missing id is required; any other non-string is the wrong type.
    expect(message).toContain(id === undefined ? 'is required' : 'expected string');
  });

  it('explains the allowed characters for a malformed id', () => {
    expect(SUBJECT_ID_PATTERN.test('u:1001')).toBe(true);
    expect(refusal('u 1001')).toBe('subject must be 1-128 characters of A-Z a-z 0-9 . _ : -');
    expect(refusal('x'.repeat(129))).toBe('subject must be 1-128 characters of A-Z a-z 0-9 . _ : -');
  });
});
