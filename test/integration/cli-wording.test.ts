/**
 * What the CLI says must be true of the vault (issue 10, item 10 in part, and item 11): the report's
 * default period, erasures and backup safety, plurals, expired values, the KEK to destroy, the
 * public-key file `audit verify` reads, and import progress in values.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { plural } from '../../src/cli/format.js';
import { importJsonl, type ImportProgress } from '../../src/import/jsonl-import.js';
import { generateKeyFile, keyFile, openVault } from '../../src/index.js';
import { sampleContact, sampleLocation, tempDir } from '../helpers/fixtures.js';
import { EXAMPLE_POLICY_PATH } from '../helpers/policy.js';
import { runCli } from '../helpers/processes.js';

const DAY = 86_400_000;
const importer = { actor: 'svc:migrate', role: 'operator', purpose: 'legacy-import' } as const;
const portal = { actor: 'svc:portal', role: 'guardian-portal', purpose: 'guardian-access' } as const;
const keyOps = { actor: 'cli:ops', role: 'operator', purpose: 'key-management' } as const;

async function initVault() {
  const dir = tempDir();
  const db = join(dir, 'pool.db');
  const key = join(dir, 'master.key');
  const init = await runCli(['init', '--db', db, '--new-key-file', key]);
  expect(init.code).toBe(0);
  return { dir, db, key, args: ['--db', db, '--key-file', key, '--policy', EXAMPLE_POLICY_PATH] };
}

/** A vault made through the library (example policy), for histories the CLI cannot script. */
async function libraryVault(now?: () => Date) {
  const dir = tempDir();
  const db = join(dir, 'pool.db');
  const key = join(dir, 'master.key');
  await generateKeyFile(key);
  const open = (masterKeyPath = key) => openVault({ create: true, path: db, masterKey: keyFile(masterKeyPath), policy: EXAMPLE_POLICY_PATH, ...(now === undefined ? {} : { now }) });
  return { dir, db, key, open, args: (masterKeyPath = key) => ['--db', db, '--key-file', masterKeyPath, '--policy', EXAMPLE_POLICY_PATH] };
}

function erasureLineOf(stdout: string): string {
  const line = stdout.split('\n').find((l) => l.startsWith('erasures: '));
  expect(line).toBeDefined();
  return line ?? '';
}

describe('audit report without --since or --until', () => {
  it('covers the last 30 days up to now, and says so', async () => {
    const { args } = await initVault();
    const before = Date.now();
    const json = await runCli(['audit', 'report', '--json', ...args]);
    const after = Date.now();
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    const { period } = JSON.parse(json.stdout) as { period: { since: string; until: string } };
    const until = Date.parse(period.until);
    expect(until).toBeGreaterThanOrEqual(before);
    expect(until).toBeLessThanOrEqual(after);
    expect(until - Date.parse(period.since)).toBe(30 * DAY);
    const text = await runCli(['audit', 'report', ...args]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^period {12}\S+ to \S+ \(the last 30 days: no --since or --until given\)$/m);
  });

  it('ends the period now when only --since is given, and starts it 30 days before --until when only that is given', async () => {
    const { args } = await initVault();
    const sinceOnly = await runCli(['audit', 'report', '--since', '2026-11-01', ...args]);
    expect(sinceOnly.code).toBe(0);
    expect(sinceOnly.stdout).toMatch(/^period {12}2026-11-01T00:00:00\.000Z to \S+ \(until now: no --until given\)$/m);
    const untilOnly = await runCli(['audit', 'report', '--json', '--until', '2026-11-30', ...args]);
    expect(JSON.parse(untilOnly.stdout)).toMatchObject({ period: { since: '2026-10-31T23:59:59.999Z', until: '2026-11-30T23:59:59.999Z' } });
    const both = await runCli(['audit', 'report', '--since', '2026-11-01', '--until', '2026-11-30', ...args]);
    expect(both.stdout).toMatch(/^period {12}2026-11-01T00:00:00\.000Z to 2026-11-30T23:59:59\.999Z$/m);
  });

  it('refuses --since after now when --until is not given', async () => {
    const { args } = await initVault();
    const result = await runCli(['audit', 'report', '--since', '2099-01-01', ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--since must not be after now');
  });
});

describe('erasures and backup safety in status and keys list', () => {
  it('word each case truthfully: none, never rotated, all before the rotation, some since it', async () => {
    const v = await libraryVault();
    const newKey = join(v.dir, 'master-2.key');
    await generateKeyFile(newKey);
    const statusLine = async (keyPath = v.key) => {
      const status = await runCli(['status', ...v.args(keyPath)]);
      expect(status.code).toBe(0);
      const keys = await runCli(['keys', 'list', ...v.args(keyPath)]);
      expect(erasureLineOf(keys.stdout)).toBe(erasureLineOf(status.stdout));
      return erasureLineOf(status.stdout);
    };
    let vault = await v.open();
    await vault.close();
    expect(await statusLine()).toBe('erasures: none (master key never rotated)');

    vault = await v.open();
    await vault.put('u:1', { location: sampleLocation }, importer);
    await vault.erase('u:1', portal);
    await vault.close();
    expect(await statusLine()).toBe(
      'erasures: 1 (1 value), none backup-safe as the master key was never rotated: backups taken before it still decrypt the erased values until you rotate the master key and destroy the old one',
    );

    vault = await v.open();
    await vault.keys.rotateMaster(keyFile(newKey), keyOps);
    await vault.close();
    const rotatedAt = (JSON.parse((await runCli(['status', '--json', ...v.args(newKey)])).stdout) as { erasures: { lastMasterRotation: number } }).erasures.lastMasterRotation;
    const rotated = new Date(rotatedAt).toISOString();
    expect(await statusLine(newKey)).toBe(`erasures: 1 (1 value), all made before the last master-key rotation (${rotated}): backup-safe once the old master key is destroyed`);

    vault = await v.open(newKey);
    await vault.put('u:2', { location: sampleLocation, contact: sampleContact }, importer);
    await vault.put('u:3', { location: sampleLocation }, importer);
    await vault.erase('u:2', portal);
    await vault.erase('u:3', portal);
    await vault.close();
    expect(await statusLine(newKey)).toBe(
      `erasures: 3 (4 values), 2 since the last master-key rotation (${rotated}): backups taken before them still decrypt the erased values until you rotate the master key and destroy the old one`,
    );
  });

  it('say "none" with the rotation when the master key was rotated and nothing erased', async () => {
    const v = await libraryVault();
    const newKey = join(v.dir, 'master-2.key');
    await generateKeyFile(newKey);
    const vault = await v.open();
    await vault.keys.rotateMaster(keyFile(newKey), keyOps);
    await vault.close();
    const status = await runCli(['status', ...v.args(newKey)]);
    expect(erasureLineOf(status.stdout)).toMatch(/^erasures: none \(last master-key rotation \d{4}-\d\d-\d\dT[\d:.]+Z\)$/);
  });
});

describe('status and expired values', () => {
  it('counts values past retention apart from those held, until a sweep erases them', async () => {
    let now = Date.now() - 40 * DAY; // location keeps 30 days (example policy), contact 365
    const v = await libraryVault(() => new Date(now));
    const vault = await v.open();
    await vault.put('u:1', { location: sampleLocation, contact: sampleContact }, importer);
    await vault.put('u:2', { location: sampleLocation }, importer);
    now = Date.now();
    await vault.put('u:3', { location: sampleLocation }, importer);
    await vault.close();

    type Category = { name: string; values: number; expired: number; plaintextBytes: number };
    const categories = async () => (JSON.parse((await runCli(['status', '--json', ...v.args()])).stdout) as { categories: Category[] }).categories;
    const before = await categories();
    expect(before.find((c) => c.name === 'location')).toMatchObject({ values: 1, expired: 2 });
    expect(before.find((c) => c.name === 'contact')).toMatchObject({ values: 1, expired: 0 });
    const text = await runCli(['status', ...v.args()]);
    expect(text.stdout).toMatch(/^location +1 /m);
    expect(text.stdout).toContain('expired     2 values past retention (location 2), erased at the next `childvault retention sweep`\n');

    const sweep = await runCli(['retention', 'sweep', ...v.args()]);
    expect(sweep.code).toBe(0);
    expect(sweep.stdout).toMatch(/^erased 2 values past retention of 4 scanned/);
    const after = await categories();
    expect(after.find((c) => c.name === 'location')).toMatchObject({ values: 1, expired: 0 });
    expect(after.find((c) => c.name === 'location')?.plaintextBytes).toBe(before.find((c) => c.name === 'location')?.plaintextBytes);
    expect((await runCli(['status', ...v.args()])).stdout).not.toContain('expired ');
  });
});

describe('plurals and numbers in messages', () => {
  it('plural() says one thing in the singular and other counts in the plural', () => {
    expect(plural(1, 'checkpoint')).toBe('1 checkpoint');
    expect(plural(0, 'checkpoint')).toBe('0 checkpoints');
    expect(plural(2, 'entry', 'entries')).toBe('2 entries');
    expect(plural(1, 'entry', 'entries')).toBe('1 entry');
  });

  it('import and rotation speak of one value, data key and batch in the singular; the rotation names the KEK to destroy', async () => {
    const { dir, args } = await initVault();
    const file = join(dir, 'one.jsonl');
    writeFileSync(file, `${JSON.stringify({ subject: 'u:1', category: 'location', value: sampleLocation })}\n`);
    const imported = await runCli(['import', file, ...args]);
    expect(imported.code).toBe(0);
    expect(imported.stdout).toMatch(/^imported 1 value for 1 subject in 1 batch, /);
    const rotated = await runCli(['keys', 'rotate', ...args]);
    expect(rotated.stdout).toMatch(/^rotated to KEK v2: 1 data key rewrapped in 1 batch, /);
    expect(rotated.stdout).toContain('the previous KEK v1 is retired and wraps nothing; destroy it with `childvault keys destroy 1`');
    const again = await runCli(['keys', 'rotate', ...args]);
    expect(again.stdout).toContain('destroy it with `childvault keys destroy 2`');
    expect(again.stdout).not.toContain('VERSION');
    const plan = await runCli(['keys', 'rotate', '--dry-run', ...args]);
    expect(plan.stdout).toContain('v3 (active): 1 data key\n');
    expect(plan.stdout).toMatch(/^1 data key to rewrap, /m);
  });

  it('invalid lines are counted in the singular when there is one', async () => {
    const { dir, args } = await initVault();
    const file = join(dir, 'bad.jsonl');
    writeFileSync(file, `${JSON.stringify({ subject: 'u:1', category: 'location', value: { ...sampleLocation, lat: 999 } })}\n${JSON.stringify({ subject: 'u:2', category: 'location', value: sampleLocation })}\n`);
    const refused = await runCli(['import', file, ...args]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('validated 2 lines: 1 invalid');
    expect(refused.stderr).toContain('1 invalid line in ');
    expect(refused.stderr).toContain('(fix it, or rerun with --skip-invalid)');
    const skipped = await runCli(['import', file, '--skip-invalid', ...args]);
    expect(skipped.stdout).toMatch(/; skipped 1 invalid line\n$/);
  });
});

describe('audit public-key --out', () => {
  it('writes the key for `audit verify --file`, which verifies an export with it', async () => {
    const { dir, db, key, args } = await initVault();
    const pub = join(dir, 'childvault-audit.pub');
    const written = await runCli(['audit', 'public-key', '--out', pub, '--db', db, '--key-file', key]);
    expect(written.stderr).toBe('');
    expect(written.code).toBe(0);
    const printed = await runCli(['audit', 'public-key', '--db', db, '--key-file', key]);
    expect(readFileSync(pub, 'utf8')).toBe(printed.stdout);
    expect(printed.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    expect(statSync(pub).mode & 0o777).toBe(0o644);

    const exported = join(dir, 'audit.jsonl');
    expect((await runCli(['audit', 'export', '--out', exported, ...args])).code).toBe(0);
    const verified = await runCli(['audit', 'verify', '--file', exported, '--public-key', readFileSync(pub, 'utf8').trim()]);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/^OK: \d+ entries \(0 elided\), \d+ checkpoints?, head seq \d+\n$/);
  });

  it('refuses to overwrite an existing file, which stays as it was', async () => {
    const { dir, db, key } = await initVault();
    const pub = join(dir, 'taken.pub');
    writeFileSync(pub, 'someone else\n');
    const result = await runCli(['audit', 'public-key', '--out', pub, '--db', db, '--key-file', key]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`childvault: --out file ${pub} already exists; refusing to overwrite it [CONFLICT]\n`);
    expect(readFileSync(pub, 'utf8')).toBe('someone else\n');
  });

  it('is the command the `audit verify` help shows writing the file its example reads', async () => {
    const verifyHelp = (await runCli(['audit', 'verify', '--help'])).stdout;
    const publicKeyHelp = (await runCli(['audit', 'public-key', '--help'])).stdout;
    const writes = /\$ childvault audit public-key --out (\S+) /.exec(publicKeyHelp)?.[1];
    expect(writes).toBeDefined();
    expect(verifyHelp).toContain(`$ childvault audit public-key --out ${writes ?? ''} `);
    expect(verifyHelp).toContain(`--public-key "$(cat ${writes ?? ''})"`);
  });
});

describe('import progress', () => {
  it('counts lines read out of the file and values imported out of those to import, not bytes', async () => {
    const v = await libraryVault();
    const vault = await v.open();
    try {
      const file = join(v.dir, 'legacy.jsonl');
      const lines = Array.from({ length: 2500 }, (_, i) => JSON.stringify({ subject: `u:${i}`, category: 'location', value: { ...sampleLocation, lat: i === 7 ? 999 : 30 } }));
      lines.splice(1200, 0, ''); // a blank line: read, not imported
      writeFileSync(file, `${lines.join('\n')}\n`);
      const events: ImportProgress[] = [];
      const summary = await importJsonl(vault, file, { ctx: importer, batchSize: 1000, skipInvalid: true, onProgress: (p) => events.push(p) });
      expect(summary).toMatchObject({ imported: true, lines: 2500, values: 2499, skipped: 1, batches: 3 });
      expect(events.filter((e) => e.phase === 'validate')).toEqual([
        { phase: 'validate', done: 1000, total: 2501 },
        { phase: 'validate', done: 2000, total: 2501 },
        { phase: 'validate', done: 2501, total: 2501 },
      ]);
      expect(events.filter((e) => e.phase === 'import')).toEqual([
        { phase: 'import', done: 1000, total: 2499 },
        { phase: 'import', done: 2000, total: 2499 },
        { phase: 'import', done: 2499, total: 2499 },
      ]);
      expect(statSync(file).size).toBeGreaterThan(2501 * 50); // bytes would be far larger than either total
    } finally {
      await vault.close();
    }
  });

  it('counts the last line of a file without a final newline', async () => {
    const v = await libraryVault();
    const vault = await v.open();
    try {
      const file = join(v.dir, 'two.jsonl');
      writeFileSync(file, [0, 1].map((i) => JSON.stringify({ subject: `u:${i}`, category: 'location', value: sampleLocation })).join('\n'));
      const events: ImportProgress[] = [];
      await importJsonl(vault, file, { ctx: importer, onProgress: (p) => events.push(p) });
      expect(events).toEqual([
        { phase: 'validate', done: 2, total: 2 },
        { phase: 'import', done: 2, total: 2 },
      ]);
    } finally {
      await vault.close();
    }
  });

  it('ends, without a terminal, with one line in values', async () => {
    const { dir, args } = await initVault();
    const file = join(dir, 'three.jsonl');
    writeFileSync(file, `${[1, 2, 3].map((i) => JSON.stringify({ subject: `u:${i}`, category: 'location', value: sampleLocation })).join('\n')}\n`);
    const result = await runCli(['import', file, '--batch-size', '2', ...args]);
    expect(result.stderr).toBe(''); // no progress bar when stderr is not a terminal
    expect(result.stdout).toMatch(/^imported 3 values for 3 subjects in 2 batches, \d+(\.\d)? m?s\n$/);
  });
});
