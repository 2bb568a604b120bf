/**
 * What the public API offers without a vault, called as a regulator's or reviewer's script would:
 * in a fresh process that imports only the built package and opens no vault first (so nothing
 * has initialised libsodium for it), and what the CLI needs from the package.
 */
import { writeFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshVault, ctx } from '../helpers/fixtures.js';
import { EXAMPLE_POLICY_PATH } from '../helpers/policy.js';
import { runScript } from '../helpers/processes.js';

let exportPath: string;
let publicKey: string;
let close: () => Promise<void>;

beforeAll(async () => {
  const { dir, vault } = await freshVault();
  close = () => vault.close();
  await vault.put('u:1', { location: { lat: 30.2, lon: 120.1, accuracyM: 10, capturedAt: new Date() } }, ctx);
  let text = '';
  const out = new PassThrough();
  out.on('data', (d: Buffer) => (text += d.toString()));
  await vault.audit.export(out, {}, ctx);
  exportPath = join(dir, 'audit.jsonl');
  writeFileSync(exportPath, text);
  publicKey = vault.audit.publicKey;
});

afterAll(async () => close());

describe('in a fresh process, with no vault opened', () => {
  it('verifyAuditExportFile verifies an export, and refuses one signed by another key', async () => {
    const script = (key: string) => `import { verifyAuditExportFile } from 'childvault';
const report = await verifyAuditExportFile(${JSON.stringify(exportPath)}, Buffer.from(${JSON.stringify(key)}, 'hex'));
console.log(JSON.stringify({ ok: report.ok, entries: report.entries }));`;
    const good = await runScript(script(publicKey));
    expect(good.stderr).toBe('');
    expect(JSON.parse(good.stdout)).toEqual({ ok: true, entries: expect.any(Number) as number });
    const other = await runScript(script('11'.repeat(32)));
    expect(other.stderr).toBe('');
    expect(JSON.parse(other.stdout)).toMatchObject({ ok: false });
  });

  it('reviewPolicyFile loads and describes a policy, with the digest the vault records', async () => {
    const result = await runScript(`import { reviewPolicyFile } from 'childvault';
const review = await reviewPolicyFile(${JSON.stringify(EXAMPLE_POLICY_PATH)});
console.log(JSON.stringify({ digest: review.digest, roles: review.roles.map((r) => r.role) }));`);
    expect(result.stderr).toBe('');
    const review = JSON.parse(result.stdout) as { digest: string; roles: string[] };
    expect(review.digest).toMatch(/^[0-9a-f]{16}$/);
    expect(review.roles).toContain('officer');
  });

  it('reviewPolicyFile refuses a policy the vault would refuse, naming the field', async () => {
    const { dir } = await freshVault();
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ roles: { service: { grants: [{ purpose: 'nope', actions: ['get'] }] } } }));
    const result = await runScript(`import { reviewPolicyFile } from 'childvault';
try { await reviewPolicyFile(${JSON.stringify(bad)}); console.log('accepted'); } catch (e) { console.log(JSON.stringify({ code: e.code, field: e.field })); }`);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toMatchObject({ code: 'VALIDATION' });
  });
});
