import { describe, expect, it } from 'vitest';
import { accessContextSchema } from '../../../src/schema/access-context.js';
import { parseOrThrow } from '../../../src/schema/zod-errors.js';
import { expectVaultError } from '../../helpers/unit-errors.js';

const base = { actor: 'svc:profile', role: 'service', purpose: 'account' };

function refuse(input: unknown) {
  return expectVaultError(() => parseOrThrow(accessContextSchema, input, 'ctx'), 'VALIDATION');
}

describe('accessContextSchema', () => {
  it('accepts actor, role and purpose, with an optional approval and request id', () => {
    expect(parseOrThrow(accessContextSchema, base, 'ctx')).toEqual(base);
    const full = { ...base, approval: 'apr-2024/17', requestId: 'req-9f2c:1' };
    expect(parseOrThrow(accessContextSchema, full, 'ctx')).toEqual(full);
  });

  it('accepts names in any script, e-mail-like actors and slashes', () => {
    expect(parseOrThrow(accessContextSchema, { actor: 'officer@corp', role: '保护专员', purpose: 'safety/review' }, 'ctx').role).toBe('保护专员');
  });

  it.each(['actor', 'role', 'purpose'] as const)('requires %s', (field) => {
    const input = Object.fromEntries(Object.entries(base).filter(([k]) => k !== field));
    const error = refuse(input);
    expect(error.field).toBe(`ctx.${field}`);
    expect(error.message).toBe(`ctx.${field} is required`);
  });

  it('says a present field of the wrong type is the wrong type, not missing', () => {
    expect(refuse({ ...base, role: 7 }).message).toBe('ctx.role expected string');
  });

  it.each([
    ['an empty actor', { actor: '' }, 'ctx.actor'],
    ['an actor with a space', { actor: 'svc profile' }, 'ctx.actor'],
    ['a role over 128 characters', { role: 'r'.repeat(129) }, 'ctx.role'],
    ['a purpose with a newline', { purpose: 'account\n' }, 'ctx.purpose'],
    ['an approval over 64 characters', { approval: 'a'.repeat(65) }, 'ctx.approval'],
    ['an empty approval', { approval: '' }, 'ctx.approval'],
    ['a request id with a space', { requestId: 'req 1' }, 'ctx.requestId'],
    ['a request id with non-ASCII', { requestId: 'réq' }, 'ctx.requestId'],
    ['a request id over 128 characters', { requestId: 'x'.repeat(129) }, 'ctx.requestId'],
  ])('refuses %s', (_what, change, field) => {
    expect(refuse({ ...base, ...change }).field).toBe(field);
  });

  it('says which characters a name may hold', () => {
    expect(refuse({ ...base, actor: 'svc profile' }).message).toBe('ctx.actor must start with a letter or digit and hold letters, digits and . _ : @ / + - only');
    expect(refuse({ ...base, requestId: 'req 1' }).message).toBe('ctx.requestId must be printable ASCII without spaces, starting with a letter or digit');
  });

  it('refuses names that would start a spreadsheet formula in a CSV export', () => {
    for (const bad of ['=cmd', '+1', '-x', '@sum']) {
      expect(refuse({ ...base, actor: bad }).field).toBe('ctx.actor');
      expect(refuse({ ...base, requestId: bad }).field).toBe('ctx.requestId');
    }
  });

  it('refuses unknown fields (a typo must not be ignored)', () => {
    const error = refuse({ ...base, purpos: 'x' });
    expect(error.message).toBe('ctx has unknown field(s) purpos');
  });

  it('refuses a context that is not an object', () => {
    expect(refuse(null).message).toBe('ctx expected object');
    expect(refuse('svc').message).toBe('ctx expected object');
  });

  it('never echoes the values it refuses', () => {
    const planted = 'kid 13800138000 planted';
    const error = refuse({ actor: planted, role: planted, purpose: planted, approval: planted, requestId: planted });
    expect(error.message).not.toContain('13800138000');
    expect(error.message).toContain('(and ');
  });
});
