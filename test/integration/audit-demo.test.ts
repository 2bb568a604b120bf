/**
 * `childvault demo --dir PATH` keeps its files, and the commands it prints are meant to be rerun
 * there: each must name only files the folder holds after the demo, and each must run as printed
 * (through the built CLI, in that folder) — the audit verification among them.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type Completed } from '../helpers/processes.js';
import { makeTempDir, removeTempDir } from '../helpers/unit-bytes.js';

/** Options whose value is a file the command reads (or, for --new-key-file and init's --db, writes). */
const FILE_OPTIONS = new Set(['--db', '--key-file', '--new-key-file', '--policy']);
/** Commands whose positional arguments after the command words are files. */
const FILE_ARGUMENTS: Record<string, number> = { import: 1, scan: 1 };

interface Printed {
  readonly args: string[];
  readonly files: string[];
}

/** The commands a demo run printed (`   $ childvault …`), split into arguments, with the files they name. */
function printedCommands(stdout: string): Printed[] {
  return [...stdout.matchAll(/^ {3}\$ childvault (.+)$/gm)].map((m) => {
    const args = (m[1] ?? '').split(' ');
    const files: string[] = [];
    args.forEach((arg, i) => {
      const value = args[i + 1];
      if (FILE_OPTIONS.has(arg) && value !== undefined) files.push(value);
    });
    const positional = FILE_ARGUMENTS[args[0] ?? ''];
    if (positional !== undefined) files.push(args[positional] ?? '');
    return { args, files };
  });
}

// One demo run for the whole file (the tests read its folder in turn).
let parent: string;
let dir: string;
let demo: Completed;

beforeAll(async () => {
  parent = makeTempDir();
  dir = join(parent, 'demo-run'); // new: the demo creates it
  demo = await runCli(['demo', '--dir', dir]);
}, 120_000);

afterAll(() => {
  removeTempDir(parent);
});

describe('childvault demo --dir', () => {
  it('runs, keeps its files, and prints the commands for each step', () => {
    expect(demo.stderr).toBe('');
    expect(demo.code).toBe(0);
    expect(demo.stdout).toContain(`files kept in ${dir}`);
    expect(readdirSync(dir).sort()).toEqual(expect.arrayContaining(['legacy-export.jsonl', 'master.key', 'policy.json', 'pool.db', 'service.db']));
    expect(printedCommands(demo.stdout).map((c) => c.args.slice(0, c.args[0] === 'audit' || c.args[0] === 'subject' || c.args[0] === 'consent' || c.args[0] === 'canary' ? 2 : 1).join(' '))).toEqual([
      'init', 'import', 'consent grant', 'subject erase', 'audit verify', 'status', 'canary plant', 'scan',
    ]);
  });

  it('prints only commands whose files exist in the folder afterwards', () => {
    const printed = printedCommands(demo.stdout);
    for (const { args, files } of printed) {
      expect(files.length, args.join(' ')).toBeGreaterThan(0);
      for (const file of files) expect(existsSync(join(dir, file)), `${args.join(' ')}: ${file}`).toBe(true);
    }
    // Every command that opens the vault names its policy: without one, each would be refused.
    for (const { args } of printed.filter((c) => c.args[0] !== 'init')) expect(args, args.join(' ')).toContain('--policy');
  });

  it('runs every printed command as printed, in the folder (init refuses to overwrite the vault)', async () => {
    const expected: Record<string, number> = { init: 1, scan: 5 };
    for (const { args } of printedCommands(demo.stdout)) {
      const result = await runCli(args, {}, dir);
      expect({ command: args.join(' '), code: result.code }).toEqual({ command: args.join(' '), code: expected[args[0] ?? ''] ?? 0 });
      if (args[0] === 'audit') expect(result.stdout).toMatch(/^OK: \d+ entries \(0 elided\), \d+ checkpoints, head seq \d+\n$/);
      if (args[0] === 'init') expect(result.stderr).toContain('already exists; refusing to overwrite it [CONFLICT]');
    }
  }, 120_000);
});
