/** The built CLI, run as a real child process. */
import { spawn } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateKeyFile } from '../../src/index.js';
import { expectDemoRan } from '../helpers/demo.js';
import { tempDir } from '../helpers/fixtures.js';
import { EXAMPLE_POLICY_PATH } from '../helpers/policy.js';
import { CLI, runCli } from '../helpers/processes.js';

async function initVault() {
  const dir = tempDir();
  const db = join(dir, 'pool.db');
  const key = join(dir, 'master.key');
  const init = await runCli(['init', '--db', db, '--new-key-file', key]);
  expect(init.stderr).toBe('');
  expect(init.code).toBe(0);
  return { dir, db, key, args: ['--db', db, '--key-file', key, '--policy', EXAMPLE_POLICY_PATH] };
}

const line = (subject: string, category: string, value: unknown) => JSON.stringify({ subject, category, value });
const location = (lat: number) => ({ lat, lon: 120.15, capturedAt: '2026-11-01T08:00:00Z' });

describe('childvault init', () => {
  it('creates the vault and a 0600 key file, and refuses to overwrite either', async () => {
    const { dir, db, key } = await initVault();
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(statSync(db).mode & 0o777).toBe(0o600);
    const again = await runCli(['init', '--db', db, '--new-key-file', join(dir, 'other.key')]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists.*\[CONFLICT\]\n$/);
    expect(existsSync(join(dir, 'other.key'))).toBe(false);
    const keyAgain = await runCli(['init', '--db', join(dir, 'second.db'), '--new-key-file', key]);
    expect(keyAgain.code).toBe(1);
    expect(keyAgain.stderr).toContain('refusing to overwrite a master key');
    expect(existsSync(join(dir, 'second.db'))).toBe(false);
  });

  it('creates a vault locked by a passphrase from the environment', async () => {
    const dir = tempDir();
    const env = { CHILDVAULT_PASSPHRASE: 'correct horse battery staple', CHILDVAULT_DB: join(dir, 'p.db') };
    const init = await runCli(['init', '--json'], env);
    expect(init.code).toBe(0);
    expect(JSON.parse(init.stdout)).toMatchObject({ masterKeyProvider: 'passphrase' });
    const wrong = await runCli(['status'], { ...env, CHILDVAULT_PASSPHRASE: 'wrong horse battery staple', CHILDVAULT_POLICY: EXAMPLE_POLICY_PATH });
    expect(wrong.code).toBe(3);
  });
});

describe('childvault status', () => {
  it('reports identity, counts and keys, as text and JSON', async () => {
    const { args } = await initVault();
    const text = await runCli(['status', ...args]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('(verified)');
    expect(text.stdout).toMatch(/v1\s+active\s+0/);
    const json = await runCli(['status', '--json', ...args]);
    const parsed = JSON.parse(json.stdout) as { vaultId: string; keks: { version: number; state: string }[]; categories: { name: string }[] };
    expect(parsed.vaultId).toMatch(/^[0-9a-f-]{36}$/);
    expect(parsed.keks).toEqual([expect.objectContaining({ version: 1, state: 'active', dataKeys: 0 })]);
    expect(parsed.categories.map((c) => c.name)).toEqual(['face', 'voice', 'location', 'contact']);
  });

  it('exits 3 with one line for a wrong key', async () => {
    const { db, dir } = await initVault();
    await generateKeyFile(join(dir, 'wrong.key'));
    const result = await runCli(['status', '--db', db, '--key-file', join(dir, 'wrong.key'), '--policy', EXAMPLE_POLICY_PATH]);
    expect(result.code).toBe(3);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('[WRONG_MASTER_KEY]');
  });

  it('exits 3 for a file that is not a vault', async () => {
    const { dir, key } = await initVault();
    const junk = join(dir, 'junk.db');
    writeFileSync(junk, Buffer.alloc(8192, 7));
    const result = await runCli(['status', '--db', junk, '--key-file', key, '--policy', EXAMPLE_POLICY_PATH]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('[CORRUPT]');
  });
});

describe('usage errors exit 2', () => {
  it.each([
    ['an unknown command', ['frobnicate']],
    ['an unknown flag', ['status', '--frobnicate']],
    ['no vault file', ['status', '--key-file', '/nonexistent']],
  ])('%s', async (_label, args) => {
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expect(result.stderr.length).toBeGreaterThan(0);
  });

  it('no master key, and several master keys', async () => {
    const { db, key } = await initVault();
    const none = await runCli(['status', '--db', db]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no master key');
    const two = await runCli(['status', '--db', db, '--key-file', key], { CHILDVAULT_PASSPHRASE: 'a long passphrase here' });
    expect(two.code).toBe(2);
    expect(two.stderr).toContain('exactly one');
  });

  it('a bad option value, named without echoing it', async () => {
    const { args, dir } = await initVault();
    const file = join(dir, 'in.jsonl');
    writeFileSync(file, `${line('u:1', 'location', location(1))}\n`);
    const result = await runCli(['import', file, '--batch-size', 'lots', ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--batch-size');
    expect(result.stderr).not.toContain('lots');
  });
});

describe('help', () => {
  it.each(['init', 'status', 'import', 'demo'])('`%s --help` shows an example and exits 0', async (command) => {
    const result = await runCli([command, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Example');
  });

  it('takes no secret on the command line', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toMatch(/--(passphrase|master-key)\b/);
  });
});

describe('childvault import', () => {
  it('imports a valid file in batches and reports a summary', async () => {
    const { args, dir } = await initVault();
    const file = join(dir, 'in.jsonl');
    const lines = Array.from({ length: 25 }, (_, i) => line(`u:${i}`, 'location', location(i)));
    lines.push(line('u:0', 'face', { image: { $base64: Buffer.from('fake-jpeg-bytes').toString('base64') } }));
    writeFileSync(file, `${lines.join('\n')}\n\n`);
    const result = await runCli(['import', file, '--batch-size', '10', ...args]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/imported 26 values for 25 subjects in 3 batches/);
    const status = JSON.parse((await runCli(['status', '--json', ...args])).stdout) as { categories: { name: string; values: number }[] };
    expect(status.categories.find((c) => c.name === 'location')?.values).toBe(25);
    expect(status.categories.find((c) => c.name === 'face')?.values).toBe(1);
  });

  it('reports every bad line by number and field, imports nothing, and never echoes values', async () => {
    const { args, dir } = await initVault();
    const file = join(dir, 'in.jsonl');
    writeFileSync(
      file,
      [
        line('u:1', 'location', location(1)),
        line('u:2', 'location', location(91.5)),
        '{"subject": "u:3", "category": "contact", "value": {"phone": "+8613800138000"', // broken JSON
        line('13800138000', 'contact', { phone: '+8613800138000' }),
        line('u:5', 'contact', { phone: '555-SECRET-0199' }),
        line('u:6', 'pets', { name: 'Rex' }),
        line('u:7', 'face', { image: { $base64: '!!not base64!!' } }),
      ].join('\n'),
    );
    const result = await runCli(['import', file, ...args]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('6 invalid lines');
    expect(result.stdout).toContain('line 2: value.lat must be at most 90');
    expect(result.stdout).toContain('line 3: not valid JSON');
    expect(result.stdout).toContain('line 4: subject looks like a phone or ID number');
    expect(result.stdout).toContain('line 5: value.phone must be an E.164 number');
    expect(result.stdout).toContain('line 6: category: unknown category');
    expect(result.stdout).toContain('line 7: value.image.$base64 is not valid base64');
    for (const secret of ['91.5', '555-SECRET-0199', '13800138000', 'Rex', 'not base64!!']) {
      expect(result.stdout + result.stderr).not.toContain(secret);
    }
    const status = JSON.parse((await runCli(['status', '--json', ...args])).stdout) as { categories: { values: number }[] };
    expect(status.categories.every((c) => c.values === 0)).toBe(true);

    // The valid line is imported, but lines were left behind: a script must notice (exit 1).
    const skipping = await runCli(['import', file, '--skip-invalid', ...args]);
    expect(skipping.code).toBe(1);
    expect(skipping.stdout).toContain('imported 1 value for 1 subject');
    expect(skipping.stdout).toContain('skipped 6 invalid lines');
    expect(skipping.stderr).toMatch(/^childvault: skipped 6 invalid lines of .* \(listed above\); the valid lines were imported\. Fix the skipped lines and import them \[VALIDATION\]\n$/);
    const after = JSON.parse((await runCli(['status', '--json', ...args])).stdout) as { categories: { name: string; values: number }[] };
    expect(after.categories.find((c) => c.name === 'location')?.values).toBe(1);
  });

  it('reports a missing file', async () => {
    const { args, dir } = await initVault();
    const result = await runCli(['import', join(dir, 'nope.jsonl'), ...args]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('[NOT_FOUND]');
  });
});

describe('childvault demo', () => {
  it('runs end to end, finds no plaintext in the vault file, and exits 0', async () => {
    const result = await runCli(['demo']);
    expectDemoRan(result);
    // The guard steps: a refused log line and photo, canaries, and the scan's two findings.
    expect(result.stdout).toContain('assertNoMinorData(logLine) → refused: PLAINTEXT_LEAK');
    expect(result.stdout).toContain("guarded INSERT of the child's face photo → refused: PLAINTEXT_LEAK");
    expect(result.stdout).toContain('found: service.db tickets.photo rowid 2 — child\'s data face.image');
  });
});

describe('the CLI as a shell and a script see it', () => {
  it('with no arguments prints its help on stdout and exits 2 (usage)', async () => {
    const result = await runCli([]);
    expect(result.code).toBe(2);
    expect(result.stdout).toContain('Usage: childvault');
    expect(result.stderr).toBe('');
  });

  it('finishes quietly when its reader closes the pipe early (status | head)', async () => {
    const { args } = await initVault();
    const child = spawn(process.execPath, [CLI, 'status', ...args], { env: { PATH: process.env['PATH'] ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    // The reader goes away before the vault is open, so every line status writes meets a closed pipe.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('names the flag when --db holds no vault, creates nothing, and with --json says it as JSON on stderr', async () => {
    const { dir, key } = await initVault();
    const typo = join(dir, 'typo.db');
    const text = await runCli(['status', '--db', typo, '--key-file', key, '--policy', EXAMPLE_POLICY_PATH]);
    expect(text.code).toBe(1);
    expect(text.stderr).toBe(`childvault: --db: ${typo} holds no vault; create one with \`childvault init\` [NOT_FOUND]\n`);
    expect(existsSync(typo)).toBe(false);
    const json = await runCli(['status', '--json', '--key-file', key], { CHILDVAULT_DB: typo, CHILDVAULT_POLICY: EXAMPLE_POLICY_PATH });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stderr)).toEqual({ error: { code: 'NOT_FOUND', message: expect.stringContaining('CHILDVAULT_DB: ') as string, field: 'CHILDVAULT_DB' } });
    expect(json.stdout).toBe('');
  });

  it('prints commander usage errors in its own one-line form, as JSON with --json', async () => {
    const text = await runCli(['status', '--frobnicate']);
    expect(text.code).toBe(2);
    expect(text.stderr.split('\n')[0]).toBe("childvault: unknown option '--frobnicate' [USAGE]");
    const json = await runCli(['status', '--json', '--frobnicate']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stderr.split('\n')[0] ?? '')).toEqual({ error: { code: 'USAGE', message: "unknown option '--frobnicate'" } });
  });

  it('exits 1, not 4 (refused by policy), when a key is still in use', async () => {
    const { args } = await initVault();
    const result = await runCli(['keys', 'destroy', '1', ...args]);
    expect(result.stderr).toContain('[KEY_IN_USE]');
    expect(result.code).toBe(1);
  });
});

describe('a command without a policy', () => {
  it('is a usage error naming --policy and CHILDVAULT_POLICY, not a refusal naming a library function', async () => {
    const { db, key } = await initVault();
    const result = await runCli(['status', '--db', db, '--key-file', key]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('childvault: no policy: give --policy FILE, set CHILDVAULT_POLICY or name one in childvault.config.json (start from docs/policy.example.json) [USAGE]\n');
    const viaEnv = await runCli(['status', '--db', db, '--key-file', key], { CHILDVAULT_POLICY: EXAMPLE_POLICY_PATH });
    expect(viaEnv.code).toBe(0);
    // What decides nothing needs none: the audit public key.
    const publicKey = await runCli(['audit', 'public-key', '--db', db, '--key-file', key]);
    expect(publicKey.code).toBe(0);
    expect(publicKey.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
  });
});
