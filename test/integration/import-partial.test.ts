/**
 * An import refused part-way (a later batch refused by policy) says how much was committed before
 * it and where it stopped: earlier batches are not rolled back (each is its own transaction).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PolicyInput } from '../../src/index.js';
import { tempDir } from '../helpers/fixtures.js';
import { EXAMPLE_POLICY_PATH } from '../helpers/policy.js';
import { runCli } from '../helpers/processes.js';

describe('childvault import refused part-way', () => {
  it('reports the committed batches and the line of the refused one', async () => {
    const dir = tempDir();
    const db = join(dir, 'pool.db');
    const key = join(dir, 'master.key');
    expect((await runCli(['init', '--db', db, '--new-key-file', key])).code).toBe(0);
    // A policy whose import purpose covers locations only: the contact line is refused when decided.
    const policy = JSON.parse(readFileSync(EXAMPLE_POLICY_PATH, 'utf8')) as PolicyInput;
    policy.purposes['legacy-import'] = { ...policy.purposes['legacy-import']!, categories: { location: 'full' } };
    writeFileSync(join(dir, 'policy.json'), JSON.stringify(policy));
    const location = { lat: 30.27, lon: 120.15, capturedAt: '2026-01-05T08:00:00Z' };
    const lines = [
      { subject: 'u:1', category: 'location', value: location },
      { subject: 'u:2', category: 'location', value: location },
      { subject: 'u:3', category: 'contact', value: { phone: '+8613800138000' } },
      { subject: 'u:4', category: 'location', value: location },
    ];
    writeFileSync(join(dir, 'legacy.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n'));
    const run = await runCli(['import', join(dir, 'legacy.jsonl'), '--db', db, '--key-file', key, '--policy', join(dir, 'policy.json'), '--batch-size', '1']);
    expect(run.code).toBe(4);
    expect(run.stderr).toContain('the batch ending at line 3');
    expect(run.stderr).toContain('2 values in 2 batches up to line 2 were imported before it');
    const status = await runCli(['status', '--json', '--db', db, '--key-file', key, '--policy', EXAMPLE_POLICY_PATH]);
    const values = (JSON.parse(status.stdout) as { categories: { name: string; values: number }[] }).categories.find((c) => c.name === 'location')?.values;
    expect(values).toBe(2);
  });
});
