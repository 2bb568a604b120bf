/**
 * Every example in the CLI's `--help` runs as written. The examples are read from the help text
 * of every command (the built CLI, as a child process) and run by a real shell, in a folder that
 * holds what they name (policy.json, the import files, a service database and a log folder),
 * through a `childvault` on the PATH that is the built CLI. Each must exit 0.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import type { Command } from 'commander';
import { tempDir } from '../helpers/fixtures.js';
import { EXAMPLE_POLICY_PATH } from '../helpers/policy.js';
import { CLI, runCli } from '../helpers/processes.js';

/** Every command path: ['status'], ['keys', 'rotate'], … */
function commandPaths(command: Command, prefix: string[] = []): string[][] {
  return command.commands.flatMap((c) => {
    const path = [...prefix, c.name()];
    return [path, ...commandPaths(c, path)];
  });
}

/** The examples of a help text: `$ …` lines, joined with their `\` continuations. */
function examplesIn(help: string): string[] {
  const out: string[] = [];
  const lines = help.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const match = /^\s+\$ (.*)$/.exec(lines[i] ?? '');
    if (match === null) continue;
    let text = match[1] ?? '';
    while (text.endsWith('\\') && i + 1 < lines.length) text = `${text.slice(0, -1).trimEnd()} ${(lines[++i] ?? '').trim()}`;
    out.push(text);
  }
  return out;
}

/**
 * The order the examples run in: a vault is made before it is used, an export before it is
 * verified, the approval before it is revoked, and the master key rotated last (the examples
 * name master.key). Every command with examples must be listed. An example shown by two commands
 * (the program's own help repeats init's) runs once.
 */
const ORDER = [
  '(program)',
  'policy check',
  'init',
  'status',
  'import',
  'consent grant',
  'consent list',
  'subject protections',
  'subject export',
  'approval create',
  'approval list',
  'get',
  'approval revoke',
  'consent withdraw',
  'canary plant',
  'scan',
  'retention sweep',
  'audit checkpoint',
  'audit report',
  'audit public-key',
  'audit export',
  'audit verify',
  'audit',
  'keys list',
  'keys rotate',
  'keys destroy',
  'upgrade',
  'subject erase',
  'keys rotate-master',
  'demo',
];

/** Not runnable on a healthy vault by its nature, with the reason. */
const NOT_RUN: Record<string, string> = {
  'audit discard-pending': 'needs an audit_pending row written into the file by someone else (tested in attack-review.test.ts)',
};

describe('the examples in --help', () => {
  it('run as written, each exiting 0', { timeout: 300_000 }, async () => {
    const dir = tempDir();
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'childvault'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"\n`);
    chmodSync(join(bin, 'childvault'), 0o755);
    // `npx childvault` (the demo's examples) finds it as a project's installed bin.
    mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true });
    copyFileSync(join(bin, 'childvault'), join(dir, 'node_modules', '.bin', 'childvault'));
    chmodSync(join(dir, 'node_modules', '.bin', 'childvault'), 0o755);
    writeFileSync(join(dir, 'package.json'), '{ "private": true }\n');
    const work = join(dir, 'work');
    mkdirSync(work);
    copyFileSync(EXAMPLE_POLICY_PATH, join(work, 'policy.json'));
    const location = (lat: number) => ({ lat, lon: 120.15, capturedAt: '2026-11-01T08:00:00Z' });
    const jsonl = (subjects: string[]) => subjects.map((s, i) => JSON.stringify({ subject: s, category: 'location', value: location(30 + i / 100) })).join('\n') + '\n';
    writeFileSync(join(work, 'children.jsonl'), jsonl(['u:1001', 'u:1002']));
    writeFileSync(join(work, 'legacy-children.jsonl'), jsonl(['u:1003', 'u:1004']));
    const service = new Database(join(work, 'service.db'));
    service.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, nickname TEXT); INSERT INTO users (nickname) VALUES ('river'), ('stone')");
    service.close();
    mkdirSync(join(work, 'logs'));
    writeFileSync(join(work, 'logs', 'app.log'), 'GET /health 200\nGET /feed 200\n');

    const byCommand = new Map<string, string[]>();
    byCommand.set('(program)', examplesIn((await runCli(['--help'])).stdout));
    for (const path of commandPaths(buildProgram())) {
      const help = await runCli([...path, '--help']);
      expect(help.code, `${path.join(' ')} --help`).toBe(0);
      const examples = examplesIn(help.stdout);
      if (examples.length > 0) byCommand.set(path.join(' '), examples);
    }
    const unlisted = [...byCommand.keys()].filter((c) => !ORDER.includes(c) && NOT_RUN[c] === undefined);
    expect(unlisted, 'commands with examples missing from ORDER').toEqual([]);

    const env = { PATH: `${bin}:${process.env['PATH'] ?? ''}`, HOME: dir };
    const run = (example: string, cwd: string): { code: number; output: string } => {
      try {
        const output = execFileSync('/bin/sh', ['-c', example], { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
        return { code: 0, output };
      } catch (error) {
        const e = error as { status: number | null; stdout?: string; stderr?: string };
        return { code: e.status ?? -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
      }
    };
    const ran = new Set<string>();
    let approvalId = '';
    for (const command of ORDER) {
      for (const written of byCommand.get(command) ?? []) {
        if (ran.has(written)) continue;
        // The one placeholder: an approval's id, which only the create example can give.
        const example = written.replace('apv_01936f…', approvalId);
        // The demo makes its own folder; run it apart from the examples' vault.
        const result = run(example, command === 'demo' ? dir : work);
        expect(result.code, `\`${written}\` exited ${result.code}: ${result.output.slice(0, 400)}`).toBe(0);
        if (command === 'approval create') approvalId = /apv_[0-9a-f-]+/.exec(result.output)?.[0] ?? '';
        ran.add(written);
      }
    }
    expect(approvalId).toMatch(/^apv_/);
    expect(ran.size).toBeGreaterThanOrEqual(30);
  });
});
