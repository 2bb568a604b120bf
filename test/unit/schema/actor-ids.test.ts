import { describe, expect, it } from 'vitest';
import { actorSkeleton, approvalActorSchema } from '../../../src/schema/actor-ids.js';

describe('approval actor ids', () => {
  it.each(['staff:cpo-li', 'staff:mod-wang', 'a', 'svc:app@host/1'])('accepts %s', (id) => {
    expect(approvalActorSchema.safeParse(id).success).toBe(true);
  });
  it.each(['Staff:cpo-li', 'staff:cpo-lі', 'staff:cpo-li.', 'staff::cpo', '-staff', 'staff cpo', ''])('refuses %j', (id) => {
    expect(approvalActorSchema.safeParse(id).success).toBe(false);
  });
  it('gives look-alikes one skeleton and different ids different ones', () => {
    const li = actorSkeleton('staff:cpo-li');
    for (const alike of ['staff:cpo-1i', 'staff:cpo-l1', 'staff-cpo-li', 'staff.cpo_li', 'STAFF:CPO-LI']) expect(actorSkeleton(alike)).toBe(li);
    expect(actorSkeleton('rnod')).toBe(actorSkeleton('mod'));
    expect(actorSkeleton('staff:c1ong')).toBe(actorSkeleton('staff:dong')); // c-one looks like d
    expect(actorSkeleton('staff:c1ong')).toBe(actorSkeleton('staff:cIong'.toLowerCase()));
    expect(actorSkeleton('staff:cpo-wang')).not.toBe(li);
  });
});
