/**
 * Policies for the benchmark. `benchPolicy` is test/helpers/policy.ts `testPolicy` (copied: the
 * bench does not import from test/) for the bench's context: role `service` may do every action
 * the policy schema knows (data, audit, status …) on every category for the consent-exempt
 * purpose `bench`, with no approval and no read limit, so the access decision is the role grant
 * and the purpose check only.
 *
 * `examplePolicy` is docs/policy.example.json with the `service` role's read limit raised to the
 * schema's maximum: the limit is still checked and counted on every read (the cost is the same),
 * but a long benchmark run cannot hit it.
 */
import { readFileSync } from 'node:fs';
import type { AccessContext, PolicyInput } from '../src/index.js';
import { POLICY_ACTIONS } from '../src/schema/policy.js';

export const benchCtx: AccessContext = { actor: 'svc:bench', role: 'service', purpose: 'bench' };

export const benchPolicy: PolicyInput = {
  version: 1,
  purposes: {
    bench: {
      categories: { face: 'full', voice: 'full', location: 'full', contact: 'full' },
      consent: 'exempt',
      legalBasis: 'benchmark fixture',
      impactAssessment: 'PIA-BENCH',
    },
  },
  roles: {
    service: { grants: [{ purpose: 'bench', actions: [...POLICY_ACTIONS] }] },
  },
  officers: ['staff:officer'],
  notices: [{ version: 'v1', changedPurposes: [] }],
};

export const EXAMPLE_POLICY_URL = new URL('../docs/policy.example.json', import.meta.url);
/** The schema's maximum for `maxReadsPerHour`. */
export const MAX_READS_PER_HOUR = 10_000_000;

interface ExampleRoles {
  roles: Record<string, { maxReadsPerHour?: number }>;
}

export function examplePolicy(): PolicyInput {
  const policy = JSON.parse(readFileSync(EXAMPLE_POLICY_URL, 'utf8')) as PolicyInput & ExampleRoles;
  const service = policy.roles['service'];
  if (service?.maxReadsPerHour === undefined) throw new Error('bench: docs/policy.example.json no longer limits the service role; update bench/policy.ts');
  service.maxReadsPerHour = MAX_READS_PER_HOUR;
  return policy;
}
