/**
 * `childvault policy check FILE`, run as the built CLI with a clean environment: no vault, key or
 * --db. A policy the vault accepts is described role by role (text and --json, checked against
 * the file); one it refuses exits 1 with VALIDATION naming the field, never the value; a file
 * that cannot be read exits 1 naming it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PolicyInput } from '../../src/index.js';
import { tempDir } from '../helpers/fixtures.js';
import { EXAMPLE_POLICY_PATH } from '../helpers/policy.js';
import { runCli } from '../helpers/processes.js';

const example = JSON.parse(readFileSync(EXAMPLE_POLICY_PATH, 'utf8')) as PolicyInput;

/** The example policy changed by `edit`, written to a fresh folder; returns its path. */
function policyFile(edit: (policy: PolicyInput) => void): string {
  const policy = structuredClone(example);
  edit(policy);
  const path = join(tempDir(), 'policy.json');
  writeFileSync(path, JSON.stringify(policy, null, 2));
  return path;
}

interface CheckJson {
  file: string;
  valid: boolean;
  digest: string;
  currentNotice: string;
  roles: {
    role: string;
    requiresApproval: boolean;
    maxReadsPerHour: number | null;
    grants: { purpose: string; actions: string[]; views: { category: string; view: string }[]; consent: string; steps: Record<string, string[]> }[];
  }[];
  purposes: { purpose: string; consent: string; categories: { category: string; views: string[] }[]; grantedTo: string[] }[];
  categories: { category: string; retentionDays: number }[];
  protections: { protection: string; liftedBy: string | null }[];
  officers: string[];
}

describe('childvault policy check', () => {
  it('describes a valid policy role by role, with no vault, key or --db', async () => {
    const result = await runCli(['policy', 'check', EXAMPLE_POLICY_PATH], {}, tempDir());
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^policy .+ is valid \(digest [0-9a-f]{16}, current notice 2026-09\)$/m);
    for (const role of Object.keys(example.roles)) expect(result.stdout).toContain(`\nrole ${role} — `);
    // The moderator: the views the file gives, an officer's approval and the file's read limit.
    expect(example.roles['moderator']?.grants[0]?.views).toEqual({ face: 'full', voice: 'full', location: 'coarse', contact: 'masked' });
    expect(result.stdout).toMatch(/\n {2}safety-review +get +face full, voice full, location coarse, contact masked +get: purpose, approval, read-limit\n/);
    expect(result.stdout).toContain(`every read needs an officer's approval; at most ${example.roles['moderator']?.maxReadsPerHour} reads per actor in any 60 minutes`);
    // A grant without views is served the narrowest its purpose allows; consent purposes are decided by consent.
    expect(example.purposes['personalised-recommendation']?.categories).toEqual({ location: 'coarse' });
    expect(result.stdout).toMatch(/\n {2}personalised-recommendation +get +location coarse +get: purpose, consent, read-limit\n/);
    // Erasure and consent management need only the grant.
    expect(result.stdout).toMatch(/\n {2}guardian-access +get export erase consent +face full, voice full, location full, contact full +get, export: purpose, read-limit; erase, consent: grant only\n/);
    expect(result.stdout).toContain('same-city-feed: location reads are refused while locationConcealed is on (lifted by consent to location-sharing)');
    expect(result.stdout).toMatch(/\n {2}real-name-registration +exempt +contact masked +- +retains data against a withdrawal\n/);
    expect(result.stdout).toMatch(/\n {2}face +180 d \(shortened by the policy\)\n/);
    expect(result.stdout).toContain('officers: staff:cpo-li');
    expect(result.stdout).not.toMatch(/ +$/m);
  });

  it('--json gives the same description as one object, matching the file', async () => {
    const result = await runCli(['policy', 'check', EXAMPLE_POLICY_PATH, '--json'], {}, tempDir());
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as CheckJson;
    expect(json).toMatchObject({ file: EXAMPLE_POLICY_PATH, valid: true, currentNotice: '2026-09' });
    expect(json.digest).toMatch(/^[0-9a-f]{16}$/);
    expect(json.roles.map((r) => r.role)).toEqual(Object.keys(example.roles));
    for (const role of json.roles) {
      const declared = example.roles[role.role];
      expect(role.requiresApproval).toBe(declared?.requiresApproval === true);
      expect(role.maxReadsPerHour).toBe(declared?.maxReadsPerHour ?? null);
      role.grants.forEach((grant, i) => {
        const g = declared?.grants[i];
        expect(grant.purpose).toBe(g?.purpose);
        expect([...grant.actions].sort()).toEqual([...(g?.actions ?? [])].sort());
        for (const [category, view] of Object.entries(g?.views ?? {})) expect(grant.views).toContainEqual({ category, view });
        expect(grant.views.map((v) => v.category)).toEqual(Object.keys(example.purposes[grant.purpose]?.categories ?? {}));
        expect(grant.consent).toBe(example.purposes[grant.purpose]?.consent);
      });
    }
    const legal = json.roles.find((r) => r.role === 'legal')?.grants[0];
    expect(legal?.steps).toEqual({ get: ['purpose', 'approval', 'read-limit'], export: ['purpose', 'approval', 'read-limit'] });
    expect(json.purposes.map((p) => p.purpose)).toEqual(Object.keys(example.purposes));
    expect(json.purposes.find((p) => p.purpose === 'safety-review')?.categories).toContainEqual({ category: 'location', views: ['coarse', 'presence'] });
    expect(json.categories).toContainEqual({ category: 'location', retentionDays: 30, shortenedByPolicy: false });
    expect(json.protections).toContainEqual({ protection: 'noSameCityFeed', liftedBy: 'same-city-feed' });
    expect(json.officers).toEqual(example.officers);
  });

  it('prints a description holding control characters on one line, without them', async () => {
    const file = policyFile((p) => {
      const role = p.roles['legal'];
      if (role !== undefined) role.description = 'line one\nrole fake — injected\u001b[2J';
    });
    const result = await runCli(['policy', 'check', file]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('role legal — line one role fake — injected [2J\n');
    expect(result.stdout).not.toContain('\u001b');
  });

  it('refuses a policy the vault would refuse: exit 1, VALIDATION naming the field path, never the value', async () => {
    const badView = policyFile((p) => {
      const grant = p.roles['moderator']?.grants[0];
      if (grant !== undefined) grant.views = { ...grant.views, contact: 'everything-visible-4821' as 'full' };
    });
    const result = await runCli(['policy', 'check', badView]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`childvault: policy file ${badView}: policy.roles.moderator.grants[0].views.contact is not one of the allowed values [VALIDATION]\n`);
    expect(result.stderr).not.toContain('everything-visible-4821');

    const json = await runCli(['policy', 'check', badView, '--json']);
    expect(json.code).toBe(1);
    expect(json.stdout).toBe('');
    expect(JSON.parse(json.stderr)).toEqual({ error: { code: 'VALIDATION', message: expect.stringContaining('views.contact') as unknown, field: 'policy.roles.moderator.grants[0].views.contact' } });

    // A rule across fields: a grant wider than its purpose allows.
    const tooWide = policyFile((p) => {
      const grant = p.roles['moderator']?.grants[0];
      if (grant !== undefined) grant.views = { ...grant.views, contact: 'full' };
    });
    const wide = await runCli(['policy', 'check', tooWide]);
    expect(wide.code).toBe(1);
    expect(wide.stderr).toContain('policy.roles.moderator.grants[0].views.contact: the purpose safety-review allows masked, presence for contact [VALIDATION]');

    // A value that is someone's data (a phone number as an officer id) is not repeated.
    const phoneOfficer = policyFile((p) => {
      p.officers = ['Guardian:13800138000'];
    });
    const officer = await runCli(['policy', 'check', phoneOfficer]);
    expect(officer.code).toBe(1);
    expect(officer.stderr).toContain('policy.officers[0]');
    expect(officer.stderr).toContain('[VALIDATION]');
    expect(officer.stderr).not.toContain('13800138000');
  });

  it('refuses a file that is not JSON (VALIDATION) and one that cannot be read (NOT_FOUND), naming the file; exit 1', async () => {
    const dir = tempDir();
    const notJson = join(dir, 'policy.json');
    writeFileSync(notJson, '{ "version": 1, ');
    const bad = await runCli(['policy', 'check', notJson]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(`childvault: policy file ${notJson} is not valid JSON [VALIDATION]\n`);

    const missing = join(dir, 'no-such-policy.json');
    const result = await runCli(['policy', 'check', missing]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`childvault: policy file ${missing} cannot be read [NOT_FOUND]\n`);

    const none = await runCli(['policy', 'check']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("missing required argument 'file' [USAGE]");
  });
});
