/**
 * `childvault subject erase` tells the truth about what it did (issue 10): a subject the vault
 * holds nothing about is reported as such, never as a destroyed pseudonym key; an erasure warns
 * that later scans are blind to the erased values (and they are); and `audit export --subject`
 * says on stderr what it cannot link after an erasure. The built CLI on real files.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/fixtures.js';
import { EXAMPLE_POLICY_PATH } from '../helpers/policy.js';
import { runCli } from '../helpers/processes.js';

const PHONE = '+8613800138000';

async function vaultWithChild() {
  const dir = tempDir();
  const db = join(dir, 'pool.db');
  const key = join(dir, 'master.key');
  expect((await runCli(['init', '--db', db, '--new-key-file', key])).code).toBe(0);
  const args = ['--db', db, '--key-file', key, '--policy', EXAMPLE_POLICY_PATH];
  const file = join(dir, 'in.jsonl');
  writeFileSync(file, `${JSON.stringify({ subject: 'u:1', category: 'contact', value: { phone: PHONE } })}\n`);
  const imported = await runCli(['import', file, ...args]);
  expect(imported.code).toBe(0);
  // A log that still holds the child's phone number.
  const log = join(dir, 'app.log');
  writeFileSync(log, `2026-11-27 login ok for ${PHONE}\n`);
  return { dir, args, log };
}

describe('childvault subject erase', () => {
  it('warns on stderr that later scans cannot find the erased values, and they cannot', async () => {
    const { args, log } = await vaultWithChild();
    expect((await runCli(['scan', log, ...args])).code).toBe(5);
    const erase = await runCli(['subject', 'erase', 'u:1', ...args]);
    expect(erase.code).toBe(0);
    expect(erase.stdout).toMatch(/^erased contact at \S+\nthe audit pseudonym key is destroyed: past entries no longer link to this id\n$/);
    expect(erase.stderr).toBe(
      'childvault: warning: later `childvault scan` runs cannot find the erased values any more (their blind-index digests went with them); scan logs and other stores for copies before erasing\n',
    );
    // The warning is true: the same log now scans clean.
    expect((await runCli(['scan', log, ...args])).code).toBe(0);
  });

  it('says the vault held nothing about a subject it never saw (exit 0), without claiming a pseudonym key was destroyed', async () => {
    const { args } = await vaultWithChild();
    const nobody = await runCli(['subject', 'erase', 'u:nobody', ...args]);
    expect(nobody.code).toBe(0);
    expect(nobody.stdout).toBe('the vault held nothing about this subject (no value, consent, approval scope or audit pseudonym): nothing was erased\n');
    expect(nobody.stderr).toBe('');
    const json = await runCli(['subject', 'erase', 'u:nobody', '--json', ...args]);
    expect(JSON.parse(json.stdout)).toMatchObject({ erased: [], found: false, pseudonymDestroyed: false });
    // An erasure retried finds nothing left, and says so the same way.
    expect((await runCli(['subject', 'erase', 'u:1', ...args])).code).toBe(0);
    const again = await runCli(['subject', 'erase', 'u:1', '--json', ...args]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ erased: [], found: false, pseudonymDestroyed: false });
    // A category erase of a known subject found it, but destroys no pseudonym key.
    const { args: other } = await vaultWithChild();
    const categories = await runCli(['subject', 'erase', 'u:1', '--categories', 'location', '--json', ...other]);
    expect(JSON.parse(categories.stdout)).toMatchObject({ erased: [], found: true, pseudonymDestroyed: false });
  });
});

describe('childvault audit export --subject', () => {
  it('notes on stderr (not in the export) what it cannot link after an erasure; an erased subject is NOT_FOUND', async () => {
    const { dir, args } = await vaultWithChild();
    const out = join(dir, 'u1.jsonl');
    const before = await runCli(['audit', 'export', '--subject', 'u:1', '--out', out, ...args]);
    expect(before.code).toBe(0);
    expect(before.stderr).toMatch(/^childvault: --subject found the 1 entry linked to the subject's current audit pseudonym; if the subject was erased, its entries from before the erasure carry a pseudonym whose key the erasure destroyed: they are unlinkable to it by design, and not shown\n$/);
    expect(readFileSync(out, 'utf8')).not.toContain('unlinkable');
    expect((await runCli(['subject', 'erase', 'u:1', ...args])).code).toBe(0);
    const after = await runCli(['audit', 'export', '--subject', 'u:1', ...args]);
    expect(after.code).toBe(1);
    expect(after.stdout).toBe('');
    expect(after.stderr).toMatch(/it was never seen, or it was erased \(its pseudonym key is destroyed\) \[NOT_FOUND\]\n$/);
    // A later operation on the id starts a new pseudonym: the export finds only what came after, and says why.
    expect((await runCli(['subject', 'protections', 'u:1', ...args])).code).toBe(0);
    const split = await runCli(['audit', 'export', '--subject', 'u:1', ...args]);
    expect(split.code).toBe(0);
    expect(split.stdout.split('\n').filter((l) => l.startsWith('{"type":"entry"'))).toHaveLength(1);
    expect(split.stdout).toContain('"action":"protections"');
    expect(split.stderr).toContain('if the subject was erased, its entries from before the erasure carry a pseudonym whose key the erasure destroyed');
  });
});
