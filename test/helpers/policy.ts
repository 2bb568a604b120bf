/**
 * Policies for tests. `testPolicy` lets the fixture context (`svc:test`, role `service`, purpose
 * `account`) do everything on every category without consent, so tests of storage, crypto and the
 * audit log are not about access control; test/integration/access*.test.ts use the example policy.
 */
import { fileURLToPath } from 'node:url';
import type { PolicyInput } from '../../src/index.js';

export const EXAMPLE_POLICY_PATH = fileURLToPath(new URL('../../docs/policy.example.json', import.meta.url));

export const testPolicy: PolicyInput = {
  version: 1,
  purposes: {
    account: {
      categories: { face: 'full', voice: 'full', location: 'full', contact: 'full' },
      consent: 'exempt',
      legalBasis: 'test fixture',
      impactAssessment: 'PIA-TEST',
    },
  },
  roles: {
    service: { grants: [{ purpose: 'account', actions: ['put', 'get', 'erase', 'export', 'import', 'consent', 'approval', 'status', 'audit', 'keys', 'retention', 'guard'] }] },
  },
  officers: ['staff:officer'],
  notices: [{ version: 'v1', changedPurposes: [] }],
};

/** Everything allowed for the fixture context on the given categories (for custom-category tests). */
export function permissivePolicy(categories: readonly string[]): PolicyInput {
  return {
    ...testPolicy,
    purposes: { account: { categories: Object.fromEntries(categories.map((c) => [c, 'full'])), consent: 'exempt', legalBasis: 'test fixture', impactAssessment: 'PIA-TEST' } },
  };
}
