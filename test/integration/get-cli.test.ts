/**
 * `childvault get` (the built CLI as a child process): the view a grant gives, values only with
 * --reveal, an approval created from the CLI used from it, "nothing held" apart from a refusal;
 * and errors said in the flags the user typed.
 */
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/fixtures.js';
import { EXAMPLE_POLICY_PATH } from '../helpers/policy.js';
import { runCli } from '../helpers/processes.js';

const moderator = ['--actor', 'staff:mod-wang', '--role', 'moderator', '--purpose', 'safety-review'];

/** A profiled folder holding u:1001's location and contact, and an approval for the moderator. */
async function setup() {
  const dir = tempDir();
  copyFileSync(EXAMPLE_POLICY_PATH, join(dir, 'policy.json'));
  expect((await runCli(['init', '--db', 'pool.db', '--new-key-file', 'master.key', '--policy', 'policy.json', '--write-config'], {}, dir)).code).toBe(0);
  const lines = [
    { subject: 'u:1001', category: 'location', value: { lat: 30.27412, lon: 120.15519, capturedAt: '2026-11-01T08:00:00Z' } },
    { subject: 'u:1001', category: 'contact', value: { phone: '+8613800138000', email: 'parent@example.com' } },
  ];
  writeFileSync(join(dir, 'kids.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n'));
  expect((await runCli(['import', 'kids.jsonl'], {}, dir)).code).toBe(0);
  const approval = await runCli(
    ['approval', 'create', '--actor', 'staff:cpo-li', '--for', 'staff:mod-wang', '--purpose', 'safety-review', '--subjects', 'u:1001,u:2002', '--categories', 'location,contact,face', '--reason', 'report 9', '--expires', '1d', '--reads', '5', '--json'],
    {},
    dir,
  );
  expect(approval.code).toBe(0);
  const id = (JSON.parse(approval.stdout) as { id: string }).id;
  return { dir, get: (...args: string[]) => runCli(['get', ...args], {}, dir), approval: ['--approval', id] };
}

describe('childvault get', () => {
  it('shows what is held and in which view, values redacted unless --reveal', async () => {
    const { get, approval } = await setup();
    const shown = await get('u:1001', '--categories', 'location,contact,face', ...moderator, ...approval);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/location\s+coarse\s+redacted \(give --reveal to print it\)/);
    expect(shown.stdout).toMatch(/contact\s+masked\s+redacted/);
    expect(shown.stdout).toContain('not held: face');
    expect(shown.stdout).not.toContain('30.27');
    const revealed = await get('u:1001', '--categories', 'location,contact', ...moderator, ...approval, '--reveal', '--json');
    expect(JSON.parse(revealed.stdout)).toEqual({
      subject: 'u:1001',
      held: {
        location: { view: 'coarse', value: { lat: 30.3, lon: 120.2, accuracyM: 5566, capturedAt: '2026-11-01T08:00:00Z' } },
        contact: { view: 'masked', value: { phone: '+86*******8000', email: 'p***@example.com' } },
      },
      absent: [],
    });
  });

  it('asks for a narrower view with --view', async () => {
    const { get, approval } = await setup();
    const presence = await get('u:1001', '--categories', 'location', ...moderator, ...approval, '--view', 'location=presence', '--reveal', '--json');
    expect(JSON.parse(presence.stdout)).toEqual({ subject: 'u:1001', held: { location: { view: 'presence', present: true } }, absent: [] });
    const bad = await get('u:1001', '--categories', 'location', ...moderator, ...approval, '--view', 'location=blurry');
    expect([bad.code, bad.stderr]).toEqual([2, 'childvault: --view takes CATEGORY=VIEW pairs separated by commas, VIEW one of full, masked, coarse, presence (e.g. --view location=coarse) [USAGE]\n']);
    const wrong = await get('u:1001', '--categories', 'location', ...moderator, ...approval, '--view', 'location=masked');
    expect(wrong.stderr).toBe('childvault: --view: the masked view applies to contact only [VALIDATION]\n');
  });

  it('answers "nothing held" with exit 0, and a refusal with exit 4 and its code', async () => {
    const { get, approval } = await setup();
    const nothing = await get('u:2002', '--categories', 'location', ...moderator, ...approval);
    expect([nothing.code, nothing.stdout]).toEqual([0, 'nothing held about u:2002 in location\n']);
    const noApproval = await get('u:1001', '--categories', 'location', ...moderator);
    expect(noApproval.code).toBe(4);
    expect(noApproval.stderr).toMatch(/\[APPROVAL_REQUIRED\]\n$/);
    const noConsent = await get('u:1001', '--categories', 'location', '--role', 'service', '--purpose', 'location-sharing');
    expect(noConsent.code).toBe(4);
    expect(noConsent.stderr).toMatch(/no active guardian consent .*\[CONSENT_REQUIRED\]/);
  });

  it('names the flags the user typed in errors', async () => {
    const { get, dir } = await setup();
    const category = await get('u:1001', '--categories', 'location,fingerprint');
    expect(category.stderr).toMatch(/^childvault: --categories item 2: unknown category \(known: face, voice, location, contact\) \[VALIDATION\]\n$/);
    const actor = await get('u:1001', '--categories', 'location', '--actor', 'bad actor');
    expect(actor.stderr).toMatch(/^childvault: --actor must start with a letter or digit/);
    const consent = await runCli(['consent', 'grant', 'u:1001', '--for', 'account', '--categories', 'contact,face', '--guardian', 'g:1', '--verification', 'sms-code', '--notice', '2026-09'], {}, dir);
    expect(consent.stderr).toBe('childvault: --categories item 2: purpose account does not cover this category [VALIDATION]\n');
    const notice = await runCli(['consent', 'grant', 'u:1001', '--for', 'account', '--categories', 'contact', '--guardian', 'g:1', '--verification', 'sms-code', '--notice', '2020-01'], {}, dir);
    expect(notice.stderr).toMatch(/^childvault: --notice: not a notice version of the policy \(it has [^)]*2026-09[^)]*; the current one is [\d-]+\) \[VALIDATION\]\n$/);
  });

  it('lists every required option that is missing, in the one-line form', async () => {
    const { dir } = await setup();
    const result = await runCli(['approval', 'create', '--for', 'staff:mod-wang'], {}, dir);
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')[0]).toBe("childvault: required options '--subjects <list>', '--categories <list>', '--reason <text>', '--expires <time>', '--reads <n>' not specified [USAGE]");
  });
});
